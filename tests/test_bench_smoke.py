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


def test_switchboard_search_on_sqlite_finds_what_it_looks_for_and_every_request_succeeds() -> None:
    document = _run_benchmark("switchboard_search", "--quick")

    _assert_switchboard_search_document(document, dialect="sqlite")


@pytest.mark.postgres
def test_switchboard_search_on_a_throwaway_postgresql_database_succeeds_and_drops_it() -> None:
    server_url = os.environ["SAMVERKAN_TEST_DATABASE_URL"]

    document = _run_benchmark("switchboard_search", "--quick", "--db", "postgresql",
                              "--database-url", server_url)

    _assert_switchboard_search_document(document, dialect="postgresql")
    assert not _database_exists(server_url, document["machine"]["database"]["name"])


def test_switchboard_sync_on_sqlite_adds_changes_and_then_changes_nothing() -> None:
    document = _run_benchmark("switchboard_sync", "--quick")

    _assert_switchboard_sync_document(document, dialect="sqlite")
    assert document["results"]["statistics_warmed"] is False


@pytest.mark.postgres
def test_switchboard_sync_on_a_throwaway_postgresql_database_succeeds_and_drops_it() -> None:
    server_url = os.environ["SAMVERKAN_TEST_DATABASE_URL"]

    document = _run_benchmark("switchboard_sync", "--quick", "--db", "postgresql",
                              "--database-url", server_url)

    _assert_switchboard_sync_document(document, dialect="postgresql")
    assert document["results"]["statistics_warmed"] is True
    assert not _database_exists(server_url, document["machine"]["database"]["name"])


def test_library_search_on_sqlite_finds_every_query_and_every_request_succeeds() -> None:
    document = _run_benchmark("library_search", "--quick")

    _assert_library_search_document(document, dialect="sqlite")


def test_library_circulation_on_sqlite_captures_holds_at_check_in_and_retargets() -> None:
    document = _run_benchmark("library_circulation", "--quick")

    _assert_library_circulation_document(document, dialect="sqlite")


@pytest.mark.postgres
def test_library_circulation_on_postgresql_runs_the_desks_under_row_level_security() -> None:
    server_url = os.environ["SAMVERKAN_TEST_DATABASE_URL"]

    document = _run_benchmark("library_circulation", "--quick", "--db", "postgresql",
                              "--database-url", server_url)

    _assert_library_circulation_document(document, dialect="postgresql")
    assert not _database_exists(server_url, document["machine"]["database"]["name"])


def test_library_import_on_sqlite_imports_every_record_and_times_pymarc_alone() -> None:
    document = _run_benchmark("library_import", "--quick")

    _assert_library_import_document(document, dialect="sqlite")

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


def _assert_switchboard_search_document(document: dict[str, Any], *, dialect: str) -> None:
    assert document["benchmark"] == "switchboard_search"
    assert document["machine"]["database"]["dialect"] == dialect
    results = document["results"]
    assert results["directory"]["rows"]["switchboard_contacts"] == 2000
    assert results["queries"]["count"] == sum(results["queries"]["by_kind"].values())

    in_service = results["in_service"]
    assert in_service["first_search_ms"] > 0 and in_service["latency_ms"]["p99"] is not None
    for kind, figures in in_service["by_kind"].items():
        assert figures["with_hits"] == figures["queries"], kind
    assert in_service["p99_ms"]["aim"] == 10.0

    http = results["http"]
    for endpoint in ("search", "health"):
        assert http[endpoint]["requests"] > 0
        assert http[endpoint]["succeeded"] == http[endpoint]["requests"]
        assert http[endpoint]["errors"] == 0, http[endpoint]["error_kinds"]
    assert http["rps"]["aim"] == 0.5 and http["p99_ms"]["aim"] == 30.0


def _assert_switchboard_sync_document(document: dict[str, Any], *, dialect: str) -> None:
    assert document["benchmark"] == "switchboard_sync"
    assert document["machine"]["database"]["dialect"] == dialect
    results = document["results"]
    rows = results["rows"]
    assert rows > 0 and results["changed_rows"] > 0

    counts = {name: (results[name]["status"], results[name]["processed"],
                     results[name]["added"], results[name]["left"], results[name]["rejected"])
              for name in ("full_sync", "resync_1_percent_changed", "resync_unchanged")}
    assert counts == {"full_sync": ("succeeded", rows, rows, 0, 0),
                      "resync_1_percent_changed": ("succeeded", rows, 0, 0, 0),
                      "resync_unchanged": ("succeeded", rows, 0, 0, 0)}
    assert results["full_sync"]["changed"] == 0
    assert 0 < results["resync_1_percent_changed"]["changed"] <= results["changed_rows"]
    assert results["resync_unchanged"]["changed"] == 0
    for name, target in (("full_sync", 20.0), ("resync_1_percent_changed", 3.0)):
        assert results[name]["target_seconds"] == target
        assert results[name]["seconds"] > 0 and "meets_target" in results[name]


def _assert_library_search_document(document: dict[str, Any], *, dialect: str) -> None:
    assert document["benchmark"] == "library_search"
    assert document["machine"]["database"]["dialect"] == dialect
    results = document["results"]
    rows = results["consortium"]["rows"]
    assert (rows["library_records"], rows["library_items"], rows["library_patrons"],
            rows["library_holds"]) == (2000, 6700, 700, 350)
    assert rows["library_record_search"] == 2000

    in_service = results["in_service"]
    assert set(in_service["by_kind"]) == {"common_word", "two_words", "author", "prefix",
                                          "isbn", "subject", "with_facets"}
    for kind, figures in in_service["by_kind"].items():
        assert figures["with_hits"] == figures["queries"], kind
    assert in_service["p99_ms"]["aim"] == 50.0 and "meets_aim" in in_service["p99_ms"]

    http = results["http"]
    for endpoint in ("search", "health"):
        assert http[endpoint]["requests"] > 0
        assert http[endpoint]["succeeded"] == http[endpoint]["requests"]
        assert http[endpoint]["errors"] == 0, http[endpoint]["error_kinds"]
    assert http["rps"]["aim"] == 0.3


def _assert_library_circulation_document(document: dict[str, Any], *, dialect: str) -> None:
    assert document["benchmark"] == "library_circulation"
    assert document["machine"]["database"]["dialect"] == dialect
    results = document["results"]

    desk = results["desk"]
    assert desk["errors"] == 0, desk["error_kinds"]
    assert desk["operations"] == 2 * desk["pairs"] == 80
    assert desk["holds_captured"] > 0
    assert desk["ops_per_second"]["aim"] == 200.0 and desk["ops_per_second"]["ours"] > 0

    retarget = results["retarget"]
    assert retarget["open_holds"] == 350
    assert retarget["filled"] > 0
    assert retarget["seconds_aim"]["aim"] == 60.0 and "meets_aim" in retarget["seconds_aim"]


def _assert_library_import_document(document: dict[str, Any], *, dialect: str) -> None:
    assert document["benchmark"] == "library_import"
    assert document["machine"]["database"]["dialect"] == dialect
    results = document["results"]
    imported = results["import"]
    assert (imported["processed"], imported["added"], imported["rejected"]) == (1000, 1000, 0)
    assert imported["items_added"] > 1000 and imported["problems"] == 0
    assert results["pymarc"]["records"] == 1000
    assert imported["peak_rss_mib"] >= imported["rss_before_import_mib"] > 0
    assert results["seconds"]["aim"] == 120.0 and results["peak_rss_mib"]["aim"] == 500.0
    assert results["pymarc_ratio"]["aim"] == 3.0 and results["pymarc_ratio"]["ratio"] > 0


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
