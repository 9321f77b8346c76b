"""Searching the switchboard's directory at twice the region's size, in the service and over HTTP.

The directory is generated (:mod:`bench.switchboard_data`: 50,000 contacts, 8,000 units,
20,000 keywords; ``--quick``: 2,000 contacts) into a throwaway database, and a mixed query set
is drawn from it: whole names, given names, prefixes ("ann", "karl"), a name with a
municipality ("ann vind"), one-letter typos ("Petersson"), nicknames, keywords and their
synonyms, titles, and numbers as people type them ("090-16 10 00", "+4690161000",
"161000", an extension).

- ``in_service``: ``switchboard.search.search`` called directly, in a tenant scope of every
  switchboard municipality, one read transaction per search as a request has; the first
  search (which builds every municipality's index) is reported apart from the steady state.
  The service keeps the ranking of recent queries; here it is dropped before every search,
  so the figures are of ranking itself (``with_kept_rankings`` gives the other case).
  Aim: p99 at most 10 ms.
- ``http``: the switchboard service served by gunicorn as ``bench health`` serves its apps,
  driven by the same keep-alive clients with ``GET /api/search?q=…`` and an operator's
  bearer token (operator for every municipality), in rounds alternating with the service's
  own ``/healthz`` (no token) as the baseline. The service runs as it does in production,
  so a query asked again (the mix has 600, cycled) is answered from its kept ranking, with
  availability worked out anew; each worker ranks each query once, in the first round
  (``rps_by_round`` shows it), and the figure is the median round. Aims: ``rps.ratio``
  (search / health) at least 0.5, and the search p99 at most 30 ms.
"""

from __future__ import annotations

import os
import random
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.runner import (
    BenchDatabase,
    BenchOptions,
    Server,
    compare,
    database_info,
    latency_summary,
    measure,
    serve,
    throwaway_database,
)
from bench.runner.requests import drive_requests, http_get, summarise_rounds
from bench.switchboard_data import (
    QUICK,
    REGION_TWICE,
    DirectorySize,
    GeneratedDirectory,
    populate,
)
from services.db import make_engine, make_session_factory
from services.identity.operations import create_user, grant_role, issue_token
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from services.tenancy.operations import participants
from switchboard.numbers import format_number
from switchboard.search import forget_rankings, search

TARGET = "switchboard:create_app()"
SEARCH_PATH = "/api/search"
HEALTH_PATH = "/healthz"
AIMS = {"in_service_p99_ms": 10.0, "http_p99_ms": 30.0, "rps_ratio": 0.5}
SEED = 2480
WARMUP_TIMEOUT = 600
# How often each kind of query comes up in the mixed set (what operators type most).
QUERY_MIX = {"name": 5, "given_name": 2, "prefix": 4, "name_and_municipality": 2, "typo": 2,
             "nickname": 1, "keyword": 3, "synonym": 1, "title": 1, "number": 3}
FIXED_QUERIES = {"prefix": ("ann", "karl", "pet", "lind"),
                 "name_and_municipality": ("ann vind", "karl umeå", "eva örnsk"),
                 "typo": ("Petersson", "Lindkvist", "Karlson", "Johanson"),
                 "number": ("090-16 10 00", "+4690161000", "161000")}


def run(options: BenchOptions) -> dict[str, Any]:
    """Generate the directory, then measure search in the service and over HTTP."""
    size = QUICK if options.quick else REGION_TWICE
    with throwaway_database(options.db, options.database_url) as database:
        generated, load = load_directory(database, size)
        queries = query_set(generated, 80 if options.quick else 600)
        return {
            "database": database_info(database),
            "directory": load,
            "queries": {"count": len(queries), "by_kind": dict(Counter(k for k, _ in queries)),
                        "examples": dict(reversed(queries))},
            "in_service": measure_in_service(database, queries, options),
            "http": compare_over_http(database, queries, options),
        }


def load_directory(database: BenchDatabase,
                   size: DirectorySize) -> tuple[GeneratedDirectory, dict[str, Any]]:
    """Generate and load the directory as the owner, timing it (commit included)."""
    engine = make_engine(database.owner_url)
    try:
        with make_session_factory(engine)() as session:
            started, cpu = time.perf_counter(), time.process_time()
            generated = populate(session, size, seed=SEED)
            session.commit()
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu
    finally:
        engine.dispose()
    return generated, {"rows": dict(generated.rows), "load_seconds": round(seconds, 2),
                       "load_cpu_seconds": round(cpu_seconds, 2),
                       "method": "SQLAlchemy Core executemany in a tenant scope, as the owner; "
                                 "each table analysed after its load"}


def query_set(generated: GeneratedDirectory, count: int) -> list[tuple[str, str]]:
    """``count`` (kind, query) pairs in the proportions of ``QUERY_MIX``, drawn from the data."""
    rng = random.Random(SEED)
    pools = _query_pools(generated, rng)
    kinds = [kind for kind, weight in QUERY_MIX.items() for _ in range(weight) if pools[kind]]
    queries = []
    for position in range(count):
        kind = kinds[position % len(kinds)]
        queries.append((kind, rng.choice(pools[kind])))
    return queries


def measure_in_service(database: BenchDatabase, queries: list[tuple[str, str]],
                       options: BenchOptions) -> dict[str, Any]:
    """``search`` called in this process: the first (index-building) call, then steady state."""
    iterations = options.pick(options.iterations, 5000, 200)
    with session_factory_for(database.settings())() as session:
        ids = [m.id for m in participants(session, "switchboard")]
        session.rollback()
        with tenant_scope(TenantScope.of(ids)):
            def one(query: str) -> list[dict[str, Any]]:
                try:
                    return search(session, query, limit=20)
                finally:
                    session.rollback()  # one read transaction per search, as a request has

            def fresh(query: str) -> list[dict[str, Any]]:
                forget_rankings()
                return one(query)

            rss_before = _rss_mib()
            started = time.perf_counter()
            one(queries[0][1])
            first_ms = (time.perf_counter() - started) * 1000
            rss_after = _rss_mib()
            by_kind = _by_kind(fresh, queries)
            cycle = _cycle([query for _, query in queries])
            figures = measure(lambda: fresh(next(cycle)), iterations=iterations,
                              warmup=min(iterations, 200))
            kept = measure(lambda: one(next(cycle)), iterations=iterations,
                           warmup=min(iterations, 200))
    p99 = figures["latency_ms"]["p99"]
    return {
        "first_search_ms": round(first_ms, 1),
        "first_search_builds": "the index of every switchboard municipality",
        "process_rss_mib": {"before_index": rss_before, "after_index": rss_after},
        "measured": "every search ranked anew (the kept rankings dropped before each), "
                    "which is what the aim is judged on; `with_kept_rankings` is the same "
                    "query mix answered as a running service answers repeated queries",
        **figures,
        "with_kept_rankings": kept,
        "by_kind": by_kind,
        "p99_ms": {"ours": p99, "aim": AIMS["in_service_p99_ms"],
                   "meets_aim": p99 is not None and p99 <= AIMS["in_service_p99_ms"]},
    }


def compare_over_http(database: BenchDatabase, queries: list[tuple[str, str]],
                      options: BenchOptions) -> dict[str, Any]:
    """Search against the same service's /healthz, same server and clients, alternating."""
    workers = options.pick(options.workers, os.cpu_count() or 2, 2)
    threads = options.pick(options.threads, 4, 2)
    clients = options.pick(options.clients, 16, 4)
    rounds = options.pick(options.rounds, 5, 1)
    # As many as ``bench health`` sends: a server's steady state, not its first minute.
    requests = options.pick(options.requests, 30_000, 200)
    token = operator_token(database)
    searches = [http_get(f"{SEARCH_PATH}?{urllib.parse.urlencode({'q': q})}", token)
                for _, q in queries]
    health = [http_get(HEALTH_PATH, None)]
    with serve(TARGET, workers=workers, threads=threads, env=database.environment()) as server:
        warmup = _warm_up(server, searches, workers, clients)
        runs: dict[str, list[dict[str, Any]]] = {"health": [], "search": []}
        for _ in range(rounds):
            for name, batch in (("health", health), ("search", searches)):
                runs[name].append(drive_requests(server, batch, clients=clients,
                                         requests=requests // rounds, seconds=options.seconds))
        summary = {name: summarise_rounds(runs[name]) for name in runs}
        rss = server.rss_mib()
    p99 = summary["search"]["latency_ms"]["p99"]
    return {
        "server": {"target": TARGET, "gunicorn_worker_class": "gthread", "workers": workers,
                   "threads": threads, "rss_mib_after_run": rss},
        "clients": clients,
        "rounds": rounds,
        "warmup": warmup,
        **summary,
        "rps": compare(summary["search"]["rps"], summary["health"]["rps"],
                       aim=AIMS["rps_ratio"]),
        "server_cpu_us_per_request": compare(
            summary["search"]["server_cpu_us_per_request"],
            summary["health"]["server_cpu_us_per_request"], higher_is_better=False),
        "p99_ms": {"ours": p99, "aim": AIMS["http_p99_ms"],
                   "meets_aim": p99 is not None and p99 <= AIMS["http_p99_ms"]},
    }


def operator_token(database: BenchDatabase) -> str:
    """A bearer token of a Bjurholm operator who answers for every municipality."""
    with session_factory_for(database.settings())() as session:
        bjurholm = session.scalars(select(Municipality).where(
            Municipality.slug == "bjurholm")).one()
        user = create_user(session, "bench.operator", bjurholm, created_by="bench")
        grant_role(session, user, "operator", None, granted_by="bench")
        secret, _ = issue_token(session, user, lifetime=timedelta(days=1))
        session.commit()
    return secret


# --- private helpers -------------------------------------------------------------------


def _warm_up(server: Server, searches: list[bytes], workers: int,
             clients: int) -> dict[str, Any]:
    """Searches until every worker has built its index (tens of seconds each at full size).

    One at a time first, a new connection each, so that the workers build their indexes
    without a crowd of clients waiting on them; then with every client.
    """
    one_by_one = drive_requests(server, searches, clients=1, requests=10 * workers,
                        per_connection=1, timeout=WARMUP_TIMEOUT)
    crowd = drive_requests(server, searches, clients=clients, requests=max(200, 20 * workers),
                   timeout=WARMUP_TIMEOUT)
    for run in (one_by_one, crowd):
        if run["errors"]:
            raise RuntimeError(f"searches failed while warming up: {run['error_kinds']}\n"
                               + "\n".join(server.log_path.read_text(errors="replace")
                                           .splitlines()[-40:]))
    return {"requests": one_by_one["requests"] + crowd["requests"],
            "seconds": round(one_by_one["seconds"] + crowd["seconds"], 1)}



def _query_pools(generated: GeneratedDirectory, rng: random.Random) -> dict[str, list[str]]:
    people = rng.sample(generated.people, min(len(generated.people), 2000))
    pools: dict[str, list[str]] = defaultdict(list)
    for kind, fixed in FIXED_QUERIES.items():
        pools[kind].extend(fixed)
    for slug, given, family, nicknames in people:
        pools["name"].append(f"{given} {family}")
        pools["given_name"].append(given)
        pools["prefix"].append(given[:3].lower())
        pools["name_and_municipality"].append(f"{given[:3].lower()} {slug[:4]}")
        if len(family) >= 6:
            cut = rng.randrange(1, len(family) - 1)
            pools["typo"].append(family[:cut] + family[cut + 1:])
        pools["nickname"].extend(nicknames)
    for word, synonyms in rng.sample(generated.keywords, min(len(generated.keywords), 2000)):
        pools["keyword"].append(word)
        pools["synonym"].extend(synonyms)
    pools["title"].extend(sorted(generated.titles))
    for e164, extension in rng.sample(generated.numbers, min(len(generated.numbers), 500)):
        national = format_number(e164)
        digits = "".join(char for char in national if char.isdigit())
        pools["number"].extend((national, e164, digits[-6:], extension))
    return pools


def _by_kind(search_once: Callable[[str], list[dict[str, Any]]],
             queries: list[tuple[str, str]]) -> dict[str, Any]:
    """Each query once: latency and how many found something, per kind of query."""
    timings: dict[str, list[int]] = defaultdict(list)
    found: Counter[str] = Counter()
    for kind, query in queries:
        started = time.perf_counter_ns()
        results = search_once(query)
        timings[kind].append(time.perf_counter_ns() - started)
        found[kind] += bool(results)
    return {kind: {"queries": len(timings[kind]), "with_hits": found[kind],
                   "latency_ms": latency_summary(timings[kind])} for kind in timings}


def _cycle(items: list[str]) -> Iterator[str]:
    while True:
        yield from items


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
