"""The benchmarks keep working: each runs with tiny counts and reports every figure.

These tests assert what a run reports and that every request it sent succeeded, never how
fast it was: timings on a shared machine say nothing about the code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_health_benchmark_on_sqlite_reports_both_comparisons_and_every_request_succeeds() -> None:
    document = _run_benchmark("health", "--quick")

    _assert_health_document(document, dialect="sqlite")


@pytest.mark.postgres
def test_health_benchmark_on_a_throwaway_postgresql_database_succeeds_and_drops_it() -> None:
    server_url = os.environ["SAMVERKAN_TEST_DATABASE_URL"]

    document = _run_benchmark("health", "--quick", "--db", "postgresql",
                              "--database-url", server_url)

    _assert_health_document(document, dialect="postgresql")
    assert not _database_exists(server_url, document["machine"]["database"]["name"])


def test_an_unknown_benchmark_is_refused_with_the_known_ones_named() -> None:
    completed = subprocess.run([sys.executable, "-m", "bench", "nosuch"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=60, check=False)

    assert completed.returncode == 2
    assert "health" in completed.stderr
    assert completed.stdout == ""


def _run_benchmark(*arguments: str) -> dict[str, Any]:
    completed = subprocess.run([sys.executable, "-m", "bench", *arguments], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=280, check=False)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout)


def _assert_health_document(document: dict[str, Any], *, dialect: str) -> None:
    assert document["benchmark"] == "health"
    machine = document["machine"]
    assert {"cores", "python", "load_average"} <= machine.keys()
    assert machine["database"]["dialect"] == dialect
    results = document["results"]
    assert "INFO" in results["logging"]

    in_process = results["in_process"]
    for app in ("ours", "minimal"):
        figures = in_process[app]
        assert figures["ops_per_second"] > 0
        assert {"p50", "p90", "p99", "max"} <= figures["latency_ms"].keys()
        assert "tracemalloc" in figures["memory_method"]
    assert in_process["ops_per_second"]["ratio"] > 0
    assert in_process["ops_per_second"]["aim"] == 0.7

    http = results["http"]
    for app in ("ours", "minimal"):
        figures = http[app]
        assert figures["requests"] > 0
        assert figures["succeeded"] == figures["requests"]
        assert figures["errors"] == 0, figures["error_kinds"]
        assert figures["rps"] > 0
        assert figures["latency_ms"]["p50"] is not None
        assert figures["latency_ms"]["p99"] is not None
    assert http["rps"]["ratio"] > 0
    assert http["rps"]["aim"] == 0.7


def _database_exists(server_url: str, name: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url)
    try:
        with engine.connect() as connection:
            found = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                      {"name": name})
            return found is not None
    finally:
        engine.dispose()
