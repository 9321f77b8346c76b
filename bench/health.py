"""The cost of our stack on the barest request: ``/healthz`` against a one-route Flask app.

Both apps answer ``GET /healthz`` with the same JSON. Ours is the platform app as
production builds it (``services.platform.create_app``: ProxyFix, Babel, CSRF, the
cookie session, flask-smorest, the request boundary hooks, security headers, JSON logging at
INFO); the baseline is Flask and one view. They are compared twice in the same run:

- over HTTP: each served by gunicorn with the same gthread workers and threads, driven by
  the same concurrent keep-alive clients, in alternating rounds;
- in process: the WSGI app called directly, without network or server, in alternating
  rounds.

``ratio = our figure / minimal figure`` for each; the aim (the issue's) is at least 0.7.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from werkzeug.test import EnvironBuilder

from bench.apps.minimal import create_app as create_minimal_app
from bench.runner import (
    BenchDatabase,
    BenchOptions,
    Server,
    compare,
    database_info,
    drive,
    fetch,
    measure,
    median,
    serve,
    throwaway_database,
)
from services.logs import JsonFormatter
from services.platform import create_app as create_platform_app

PATH = "/healthz"
AIM = 0.7
PLATFORM_TARGET = "services.platform:create_app()"
MINIMAL_TARGET = "bench.apps.minimal:create_app()"
LOGGING = (
    "Both servers run with production-like logging: SAMVERKAN_LOG_FORMAT=json and "
    "SAMVERKAN_LOG_LEVEL=INFO (our JSON request log at INFO is part of our stack's cost), "
    "gunicorn --log-level info, no gunicorn access log for either. /healthz is one of the "
    "platform's quiet endpoints (probes would drown the request log), so neither app writes "
    "a line per request here; `request_log_line` gives what one JSON request log line costs "
    "on an endpoint that is logged."
)


def run(options: BenchOptions) -> dict[str, Any]:
    """Compare our ``/healthz`` with a minimal Flask app's, over HTTP and in process."""
    with throwaway_database(options.db, options.database_url) as database:
        return {
            "endpoint": PATH,
            "logging": LOGGING,
            "database": database_info(database),
            "in_process": compare_in_process(database, options),
            "http": compare_over_http(database, options),
            "request_log_line": measure_request_log_line(options),
        }


def compare_in_process(database: BenchDatabase, options: BenchOptions) -> dict[str, Any]:
    """Both apps called as WSGI callables in this process, alternating rounds."""
    iterations = options.pick(options.iterations, 10_000, 300)
    rounds = options.pick(options.rounds, 5, 1)
    calls = {"ours": _wsgi_call(create_platform_app(database.settings())),
             "minimal": _wsgi_call(create_minimal_app())}
    if calls["ours"]() != calls["minimal"]():
        raise RuntimeError("the two apps do not answer /healthz alike")
    figures: dict[str, list[dict[str, Any]]] = {"ours": [], "minimal": []}
    for _ in range(rounds):
        for name in ("minimal", "ours"):
            figures[name].append(measure(calls[name], iterations=iterations,
                                         warmup=min(iterations, 1000)))
    summary = {name: _summarise_measurements(runs) for name, runs in figures.items()}
    return {
        "iterations_per_round": iterations,
        "rounds": rounds,
        **summary,
        "ops_per_second": compare(summary["ours"]["ops_per_second"],
                                  summary["minimal"]["ops_per_second"], aim=AIM),
        "cpu_us_per_op": compare(summary["ours"]["cpu_us_per_op"],
                                 summary["minimal"]["cpu_us_per_op"], higher_is_better=False),
    }


def compare_over_http(database: BenchDatabase, options: BenchOptions) -> dict[str, Any]:
    """Both apps served alike by gunicorn and driven by the same clients, alternating rounds."""
    workers = options.pick(options.workers, os.cpu_count() or 2, 2)
    threads = options.pick(options.threads, 4, 2)
    clients = options.pick(options.clients, 16, 4)
    rounds = options.pick(options.rounds, 5, 1)
    requests = options.pick(options.requests, 30_000, 300)
    env = database.environment()
    with serve(PLATFORM_TARGET, workers=workers, threads=threads, env=env) as ours, \
            serve(MINIMAL_TARGET, workers=workers, threads=threads, env=env) as minimal:
        servers = {"minimal": minimal, "ours": ours}
        bodies = {name: fetch(server, PATH) for name, server in servers.items()}
        if bodies["ours"] != bodies["minimal"]:
            raise RuntimeError(f"the two apps do not answer {PATH} alike: {bodies}")
        for server in servers.values():
            drive(server, PATH, clients=clients, requests=max(100, requests // 20))
        runs: dict[str, list[dict[str, Any]]] = {"minimal": [], "ours": []}
        for _ in range(rounds):
            for name, server in servers.items():
                runs[name].append(_drive_round(server, options, clients, requests // rounds))
        summary = {name: _summarise_drives(runs[name], servers[name]) for name in runs}
    return {
        "server": {"gunicorn_worker_class": "gthread", "workers": workers, "threads": threads},
        "clients": clients,
        "requests_per_connection": runs["ours"][0]["requests_per_connection"],
        "rounds": rounds,
        "load_generator": "asyncio, raw sockets, one thread in the benchmark process",
        **summary,
        "rps": compare(summary["ours"]["rps"], summary["minimal"]["rps"], aim=AIM),
        "server_cpu_us_per_request": compare(
            summary["ours"]["server_cpu_us_per_request"],
            summary["minimal"]["server_cpu_us_per_request"], higher_is_better=False),
    }


def measure_request_log_line(options: BenchOptions) -> dict[str, Any]:
    """What one JSON request log line costs (formatted and written to /dev/null)."""
    logger = logging.getLogger("samverkan.bench.requests")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    with open(os.devnull, "w") as sink:
        handler = logging.StreamHandler(sink)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        try:
            figures = measure(lambda: logger.info("request", extra={
                "method": "GET", "path": "/switchboard/api/search?q=bygglov",
                "status": 200, "duration_ms": 1.23}),
                iterations=options.pick(options.iterations, 10_000, 300))
        finally:
            logger.removeHandler(handler)
    return {"p50_us": round(figures["latency_ms"]["p50"] * 1000, 1),
            "lines_per_second": figures["ops_per_second"]}


def _wsgi_call(app: Callable[..., Any]) -> Callable[[], tuple[str, bytes]]:
    # The same request the HTTP clients send, as gunicorn would hand it to the app.
    template = EnvironBuilder(path=PATH, base_url="http://127.0.0.1:8000",
                              headers={"User-Agent": "samverkan-bench",
                                       "Accept": "application/json"},
                              environ_base={"REMOTE_ADDR": "127.0.0.1",
                                            "wsgi.multithread": True,
                                            "wsgi.errors": sys.stderr}).get_environ()
    statuses: list[str] = []

    def start_response(status: str, _headers: list[tuple[str, str]],
                       _exc_info: object = None) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda _data: None

    def call() -> tuple[str, bytes]:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO()
        statuses.clear()
        body = app(environ, start_response)
        try:
            content = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"GET {PATH} answered {statuses[0]}")
        return statuses[0], content

    return call


def _drive_round(server: Server, options: BenchOptions, clients: int,
                 requests: int) -> dict[str, Any]:
    if options.seconds is not None:
        return drive(server, PATH, clients=clients, seconds=options.seconds)
    return drive(server, PATH, clients=clients, requests=requests)


def _summarise_measurements(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ops_per_second": median([run["ops_per_second"] for run in runs]),
        "ops_per_second_by_round": [run["ops_per_second"] for run in runs],
        "cpu_us_per_op": median([run["cpu_us_per_op"] for run in runs], digits=2),
        "latency_ms": _median_latency(runs),
        "peak_memory_kib": max(run["peak_memory_kib"] for run in runs),
        "memory_method": runs[0]["memory_method"],
    }


def _summarise_drives(runs: list[dict[str, Any]], server: Server) -> dict[str, Any]:
    return {
        "requests": sum(run["requests"] for run in runs),
        "succeeded": sum(run["succeeded"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "error_kinds": dict(sum((Counter(run["error_kinds"]) for run in runs), Counter())),
        "rps": median([run["rps"] for run in runs]),
        "rps_by_round": [run["rps"] for run in runs],
        "latency_ms": _median_latency(runs),
        "server_cpu_cores": median([run["server_cpu_cores"] for run in runs]),
        "server_cpu_us_per_request": median(
            [run["server_cpu_us_per_request"] or 0.0 for run in runs]),
        "load_generator_cpu_cores": max(run["load_generator_cpu_cores"] for run in runs),
        "load_generator_saturated": any(run["load_generator_saturated"] for run in runs),
        "server_rss_mib": server.rss_mib(),
        "server_log_lines": server.log_lines(),
    }


def _median_latency(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    medians: dict[str, float | None] = {}
    for key in runs[0]["latency_ms"]:
        values = [run["latency_ms"][key] for run in runs if run["latency_ms"][key] is not None]
        medians[key] = median(values, digits=4) if values else None
    return medians
