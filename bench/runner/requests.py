"""Driving a served app with prepared requests, rotated per client, in rounds.

The runner's :func:`bench.runner.serving.drive` sends one path without headers; a search
needs a bearer token (or none) and a different query on every request, so these take the
raw requests (:func:`http_get`), rotate them over keep-alive clients (:func:`drive_requests`)
and sum up alternating rounds by their medians (:func:`summarise_rounds`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from typing import Any

from bench.runner.serving import Server
from bench.runner.timing import latency_summary, median


def http_get(path: str, token: str | None) -> bytes:
    """A GET request for ``path`` as bytes on the wire, with a bearer token if given."""
    headers = "User-Agent: samverkan-bench\r\nAccept: application/json\r\n"
    if token:
        headers += f"Authorization: Bearer {token}\r\n"
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()


def summarise_rounds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one side as one figure each: medians, totals, and every round's rps."""
    latency = {key: median([run["latency_ms"][key] for run in runs
                            if run["latency_ms"][key] is not None] or [0.0], digits=4)
               for key in runs[0]["latency_ms"]}
    errors = sum((Counter(run["error_kinds"]) for run in runs), Counter())
    return {
        "requests": sum(run["requests"] for run in runs),
        "succeeded": sum(run["succeeded"] for run in runs),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "rps": median([run["rps"] for run in runs]),
        "rps_by_round": [run["rps"] for run in runs],
        "latency_ms": latency,
        "server_cpu_us_per_request": median(
            [run["server_cpu_us_per_request"] or 0.0 for run in runs]),
        "load_generator_cpu_cores": max(run["load_generator_cpu_cores"] for run in runs),
        "load_generator_saturated": any(run["load_generator_saturated"] for run in runs),
    }


def drive_requests(server: Server, requests_to_send: list[bytes], *, clients: int,
                   requests: int, seconds: float | None = None, timeout: float = 30,
                   per_connection: int = 20) -> dict[str, Any]:
    """Send ``requests`` of the prepared requests (or for ``seconds``) from ``clients``
    keep-alive clients, a new connection every ``per_connection``; what it took."""
    remaining = [requests if seconds is None else math.inf]
    latencies: list[int] = []
    errors: Counter[str] = Counter()
    cpu_server, cpu_self = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else math.inf
    asyncio.run(_clients(server, requests_to_send, clients, remaining, deadline, timeout,
                         per_connection, latencies, errors))
    elapsed = time.perf_counter() - started
    served = len(latencies)
    generator_cpu = (time.process_time() - cpu_self) / elapsed
    server_cpu = server.cpu_seconds() - cpu_server
    return {"requests": served + sum(errors.values()), "succeeded": served,
            "errors": sum(errors.values()), "error_kinds": dict(errors),
            "seconds": round(elapsed, 3), "rps": round(served / elapsed, 1),
            "latency_ms": latency_summary(latencies),
            "server_cpu_us_per_request": round(server_cpu / served * 1e6, 1) if served else None,
            "load_generator_cpu_cores": round(generator_cpu, 2),
            "load_generator_saturated": generator_cpu > 0.9}


async def _clients(server: Server, batch: list[bytes], clients: int, remaining: list[float],
                   deadline: float, timeout: float, per_connection: int,
                   latencies: list[int], errors: Counter[str]) -> None:
    async def client(offset: int) -> None:
        reader = writer = None
        sent_on_connection = 0
        position = offset
        while remaining[0] > 0 and time.perf_counter() < deadline:
            remaining[0] -= 1
            request = batch[position % len(batch)]
            position += clients
            try:
                async with asyncio.timeout(timeout):
                    # A new connection every 20 requests, as ``drive`` does, so that the
                    # less busy gunicorn worker takes the next one.
                    if writer is None or reader is None or sent_on_connection >= per_connection:
                        if writer is not None:
                            writer.close()
                        reader, writer = await asyncio.open_connection(server.host, server.port)
                        sent_on_connection = 0
                    sent_on_connection += 1
                    begun = time.perf_counter_ns()
                    writer.write(request)
                    status = await _read_response(reader)
                    finished = time.perf_counter_ns()
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                errors[type(error).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            if status < 400:
                latencies.append(finished - begun)
            else:
                errors[f"http_{status}"] += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client(offset) for offset in range(clients)))


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        raise ValueError("response without a content length")
    length = int(head[start + 17:head.index(b"\r\n", start + 2)].strip())
    await reader.readexactly(length)
    return int(head[9:12])
