"""Importing a municipality's MARC export into the shared catalogue, against pymarc alone.

A file of 100,000 generated records (``--quick``: 1,000) is written as ISO 2709 by
:mod:`bench.library_marc`'s generator, with Umeå's copies in 852 fields (1 to 5 a record,
none for e-books), and imported into an empty catalogue of a throwaway database the way
``samverkan library import-marc`` imports it: ``library_loans.operations.catalogue.
import_marc`` in Umeå's scope, committing after every batch, with the search index
built batch by batch from the fields the import wrote (``index_fields`` as
``on_described``, as the worker's import task builds it); on PostgreSQL as the app's role.

The import runs in a child process of its own, so that its peak memory (the kernel's
high-water mark of resident memory, ``VmHWM``) is the import's and not this process's;
the import reads a file this big in a forked child of its own, whose peak is added (an
upper bound of the two together). ``rss_before_import_mib`` is what the importing process
held with everything loaded, before reading the file. The baseline is the time
``pymarc.MARCReader`` alone needs to read the same file (in a child process too),
measured before and after the import in the same run; the ``ratio`` is the import's time
over the baseline's mean. ``server_cpu_seconds`` is the CPU time of the PostgreSQL backend
serving the import, read from ``/proc`` (the server runs on this machine). Aims: at most
120 seconds, at most 500 MB peak, and at most 3 × pymarc.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import time
import traceback
from pathlib import Path
from typing import Any

import pymarc
from sqlalchemy import text

from bench.library_data import BRANCHES
from bench.library_marc import write_iso2709
from bench.runner import BenchDatabase, BenchOptions, compare, database_info, throwaway_database
from library_loans.operations.administration import create_branch
from library_loans.operations.catalogue import ImportSummary, import_marc
from library_loans.search.index import RecordFields, index_fields
from services.demo import load_municipalities
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope

RECORDS = 100_000
QUICK_RECORDS = 1_000
MUNICIPALITY = "umea"
AIMS = {"seconds": 120.0, "peak_rss_mib": 500.0, "pymarc_ratio": 3.0}
SEED = 7
CHILD_TIMEOUT = 3600


def run(options: BenchOptions) -> dict[str, Any]:
    """Write the file, then time pymarc, the import, and pymarc again."""
    count = options.pick(options.iterations, RECORDS, QUICK_RECORDS)
    with throwaway_database(options.db, options.database_url, seed=False) as database:
        municipality_id = _prepare(database)
        path = database.data_dir / "catalogue.mrc"
        started = time.perf_counter()
        codes = [code for code, _name, _kind in BRANCHES[MUNICIPALITY]]
        write_iso2709(path, count, seed=SEED, branches=codes)
        written = time.perf_counter() - started
        before = _in_child(_parse_with_pymarc, str(path))
        imported = _in_child(_import, database, municipality_id, str(path))
        after = _in_child(_parse_with_pymarc, str(path))
        baseline = round(statistics.mean([before["seconds"], after["seconds"]]), 3)
        return {
            "database": database_info(database),
            "file": {"records": count, "bytes": path.stat().st_size, "format": "ISO 2709",
                     "holdings": "852", "write_seconds": round(written, 2)},
            "pymarc": {"reader": "pymarc.MARCReader(to_unicode=True, force_utf8=True)",
                       "seconds_by_round": [before["seconds"], after["seconds"]],
                       "records": before["records"], "peak_rss_mib": before["peak_rss_mib"]},
            "import": imported,
            "seconds": {"ours": imported["seconds"], "aim": AIMS["seconds"],
                        "meets_aim": imported["seconds"] <= AIMS["seconds"]},
            "peak_rss_mib": {"ours": imported["peak_rss_mib"], "aim": AIMS["peak_rss_mib"],
                             "meets_aim": imported["peak_rss_mib"] <= AIMS["peak_rss_mib"]},
            "pymarc_ratio": compare(imported["seconds"], baseline, aim=AIMS["pymarc_ratio"],
                                    higher_is_better=False),
        }


# --- private helpers -------------------------------------------------------------------


def _prepare(database: BenchDatabase) -> Any:
    """The municipalities, and the importing municipality's branches; its id."""
    with session_factory_for(database.settings())() as session:
        municipality = load_municipalities(session)[MUNICIPALITY]
        session.commit()
        with tenant_scope(TenantScope.of([municipality.id])):
            for code, name, kind in BRANCHES[MUNICIPALITY]:
                create_branch(session, code=code, name=name, kind=kind)
            session.commit()
        return municipality.id


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    """Run ``target(*args)`` in a spawned process; what it returns (its failure raised here)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_child, args=(results, target, *args))
    process.start()
    result = results.get(timeout=CHILD_TIMEOUT)
    process.join(timeout=60)
    if "failure" in result:
        raise RuntimeError(result["failure"])
    return result


def _child(results: Any, target: Any, *args: Any) -> None:
    try:
        results.put(target(*args))
    except Exception:  # noqa: BLE001 - the failure goes back to the parent, raised there
        results.put({"failure": traceback.format_exc()})


def _parse_with_pymarc(path: str) -> dict[str, Any]:
    """Every record of the file read by pymarc alone, as Unicode."""
    started = time.perf_counter()
    records = 0
    with open(path, "rb") as stream:
        for record in pymarc.MARCReader(stream, to_unicode=True, force_utf8=True):
            records += record is not None
    return {"seconds": round(time.perf_counter() - started, 3), "records": records,
            "peak_rss_mib": _memory_mib("VmHWM")}


def _import(database: BenchDatabase, municipality_id: Any, path: str) -> dict[str, Any]:
    """The file imported as the command line imports it: a commit and an index per batch."""
    sessions = session_factory_for(database.settings())
    rss_before = _memory_mib("VmRSS")
    batches = 0
    index_seconds = 0.0

    def index(session: Any, records: list[RecordFields]) -> None:
        nonlocal index_seconds
        started = time.perf_counter()
        index_fields(session, records)
        index_seconds += time.perf_counter() - started

    def commit(_summary: ImportSummary) -> None:
        nonlocal batches
        session.commit()
        batches += 1

    with sessions() as session, tenant_scope(TenantScope.of([municipality_id])):
        server = _server_process(session)
        server_cpu = _cpu_seconds_of(server)
        started, cpu = time.perf_counter(), time.process_time()
        summary = import_marc(session, path, municipality_id=municipality_id,
                              progress=commit, on_described=index)
        session.commit()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
        server_cpu = _cpu_seconds_of(server) - server_cpu if server_cpu is not None else None
    importer_peak = _memory_mib("VmHWM")
    # The reader process (a big file is read in a forked child) has ended and been waited
    # for: its peak is the largest of this process's children's.
    reader = resource.getrusage(resource.RUSAGE_CHILDREN)
    reader_peak = round(reader.ru_maxrss / 1024, 1)
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "reader_cpu_seconds": round(reader.ru_utime + reader.ru_stime, 3),
        "server_cpu_seconds": round(server_cpu, 3) if server_cpu is not None else None,
        "index_seconds": round(index_seconds, 3),
        "records_per_second": round(summary.processed / seconds, 1),
        "batches": batches,
        "processed": summary.processed, "added": summary.added, "updated": summary.updated,
        "rejected": summary.rejected, "items_added": summary.items_added,
        "problems": len(summary.problems),
        "rss_before_import_mib": rss_before,
        "importer_peak_rss_mib": importer_peak,
        "reader_peak_rss_mib": reader_peak,
        "peak_rss_mib": round(importer_peak + reader_peak, 1),
        "memory_method": "the importing process's VmHWM (peak resident memory) plus its reader "
                         "child's peak (ru_maxrss), an upper bound: the two peaks need not "
                         "coincide, and pages the forked reader shares with its parent are "
                         "counted twice",
    }


def _server_process(session: Any) -> int | None:
    """The pid of the database server process serving the session, when it has one."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return session.scalar(text("SELECT pg_backend_pid()"))


def _cpu_seconds_of(pid: int | None) -> float | None:
    """The CPU time of a process of this machine so far, if it can be read (Linux's /proc)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # utime and stime, the 14th and 15th fields, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
