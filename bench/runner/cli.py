"""The command line and the report: ``python -m bench <name>`` prints one JSON document."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.runner.databases import DEFAULT_POSTGRES_URL

BENCH_DIR = Path(__file__).resolve().parents[1]
RESULTS_DIR = BENCH_DIR / "results"


@dataclass(frozen=True)
class BenchOptions:
    """What the command line asked for; ``None`` means the benchmark's own default."""

    name: str
    db: str = "sqlite"
    database_url: str = DEFAULT_POSTGRES_URL
    requests: int | None = None
    clients: int | None = None
    seconds: float | None = None
    rounds: int | None = None
    iterations: int | None = None
    workers: int | None = None
    threads: int | None = None
    quick: bool = False
    save: bool = False

    def pick(self, given: int | float | None, normal: int | float, quick: int | float) -> Any:
        """The value asked for on the command line, else the normal or the --quick default."""
        if given is not None:
            return given
        return quick if self.quick else normal


def main(argv: list[str] | None = None) -> int:
    """``python -m bench <name> [options]``: run one benchmark, print its JSON document."""
    options = _parse(argv)
    module = importlib.import_module(f"bench.{options.name}")
    # Anything a benchmark or the code under it prints (migration progress, warnings)
    # goes to stderr, so that stdout carries nothing but the JSON document.
    machine = machine_info()  # before the run: the load average is the machine's, not ours
    with contextlib.redirect_stdout(sys.stderr):
        results = module.run(options)
        # A benchmark with a database reports it (database_info) beside its figures.
        if "database" in results:
            machine["database"] = results.pop("database")
        document = report(options.name, options, results, machine)
        path = save(document) if options.save else None
    print(json.dumps(document, indent=2, ensure_ascii=False))
    if path is not None:
        print(f"saved {path}", file=sys.stderr)
    return 0


def benchmark_names() -> list[str]:
    """The benchmarks ``python -m bench`` can run: the modules in ``bench/`` with a ``run``.

    The others there (``switchboard_data``, ``library_marc``) generate data for them.
    """
    return sorted(path.stem for path in BENCH_DIR.glob("*.py")
                  if not path.stem.startswith("_") and "\ndef run(" in path.read_text())


def machine_info() -> dict[str, Any]:
    """Cores, CPU, Python and the load average: what the figures depend on."""
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu": _cpu_model(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }


def report(name: str, options: BenchOptions, results: dict[str, Any],
           machine: dict[str, Any]) -> dict[str, Any]:
    """The one JSON document a run prints."""
    from services.clock import now

    return {
        "benchmark": name,
        "finished_at": now().isoformat(timespec="seconds"),
        "machine": machine,
        "options": {key: value for key, value in asdict(options).items()
                    if key not in ("name", "save")},
        "results": results,
    }


def save(document: dict[str, Any]) -> Path:
    """Write the document to ``bench/results/<name>-<timestamp>.json`` (gitignored)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = document["finished_at"].replace(":", "").replace("-", "").split("+")[0]
    path = RESULTS_DIR / f"{document['benchmark']}-{stamp}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


# --- private helpers -------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _parse(argv: list[str] | None) -> BenchOptions:
    parser = argparse.ArgumentParser(prog="python -m bench", description=main.__doc__)
    parser.add_argument("name", choices=benchmark_names(), help="the benchmark to run")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the throwaway database's kind (default: sqlite)")
    parser.add_argument("--database-url", default=os.environ.get(
        "SAMVERKAN_BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL),
        help="the PostgreSQL server to create the throwaway database on (as its owner)")
    parser.add_argument("--requests", type=int, help="requests per app and mode")
    parser.add_argument("--clients", type=int, help="concurrent keep-alive clients")
    parser.add_argument("--seconds", type=float, help="drive for this long instead of --requests")
    parser.add_argument("--rounds", type=int, help="alternating rounds per comparison")
    parser.add_argument("--iterations", type=int, help="in-process calls per app")
    parser.add_argument("--workers", type=int, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts, to check that the benchmark works (not for figures)")
    parser.add_argument("--save", action="store_true",
                        help="also write the JSON to bench/results/<name>-<timestamp>.json")
    return BenchOptions(**vars(parser.parse_args(argv)))
