"""In-process figures: time a callable, summarise latencies, compare against a baseline."""

from __future__ import annotations

import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

MEMORY_METHOD = (
    "tracemalloc: peak of Python allocations above the starting point, in a separate "
    "pass after the timed one (tracing slows every call, so it never runs while timing)"
)


def measure(fn: Callable[[], object], *, iterations: int, warmup: int = 100,
            memory_iterations: int = 200) -> dict[str, Any]:
    """Call ``fn`` ``warmup`` times, then time ``iterations`` calls: latency, ops/s, CPU, memory."""
    for _ in range(warmup):
        fn()
    timings: list[int] = []
    clock = time.perf_counter_ns
    cpu_started = time.thread_time_ns()
    started = clock()
    for _ in range(iterations):
        before = clock()
        fn()
        timings.append(clock() - before)
    elapsed = (clock() - started) / 1e9
    cpu = (time.thread_time_ns() - cpu_started) / 1e3
    return {
        "iterations": iterations,
        "ops_per_second": round(iterations / elapsed, 1),
        # CPU time of this thread only: unlike wall time, other processes on a shared
        # machine taking the core away do not inflate it.
        "cpu_us_per_op": round(cpu / iterations, 2),
        "latency_ms": latency_summary(timings),
        "peak_memory_kib": _peak_memory_kib(fn, memory_iterations),
        "memory_method": MEMORY_METHOD,
    }


def latency_summary(timings_ns: list[int]) -> dict[str, float | None]:
    """p50, p90, p99 and max of nanosecond timings, in milliseconds (nearest rank)."""
    if not timings_ns:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(timings_ns)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1e6, 4)

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99),
            "max": round(ordered[-1] / 1e6, 4)}


def compare(ours: float, baseline: float, *, aim: float | None = None,
            higher_is_better: bool = True) -> dict[str, Any]:
    """A comparison against a baseline measured in the same run: ``ratio = ours / baseline``."""
    ratio = round(ours / baseline, 3) if baseline else None
    result: dict[str, Any] = {"ours": ours, "baseline": baseline, "ratio": ratio}
    if aim is not None:
        result["aim"] = aim
        met = ratio is not None and (ratio >= aim if higher_is_better else ratio <= aim)
        result["meets_aim"] = met
    return result


def median(values: list[float], digits: int = 1) -> float:
    """The median, rounded for the report."""
    return round(statistics.median(values), digits)


# --- private helpers -------------------------------------------------------------------


def _peak_memory_kib(fn: Callable[[], object], iterations: int) -> float:
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(iterations):
            fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return round((peak - baseline) / 1024, 1)
