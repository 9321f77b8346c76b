"""The common benchmark runner: timing, serving, load, throwaway databases, the JSON report.

Every benchmark module in ``bench/`` exposes ``run(options: BenchOptions) -> dict`` and
is started with ``python -m bench <name>``. What it returns becomes the ``results`` of one
JSON document on stdout, next to the machine it ran on and the options it ran with. Every
comparison in it is made with :func:`compare`, against a baseline measured in the same
run, so that a busy shared machine slows both sides alike.

- :mod:`bench.runner.timing`: ``measure`` a callable in process, ``compare`` two figures;
- :mod:`bench.runner.serving`: ``serve`` a WSGI app with gunicorn, ``drive`` it with clients;
- :mod:`bench.runner.databases`: ``throwaway_database``, migrated and seeded;
- :mod:`bench.runner.requests`: prepared requests rotated over clients, in rounds;
- :mod:`bench.runner.cli`: the command line and the JSON document.
"""

from bench.runner.cli import BenchOptions, main
from bench.runner.databases import BenchDatabase, database_info, throwaway_database
from bench.runner.serving import Server, drive, fetch, serve
from bench.runner.timing import compare, latency_summary, measure, median

__all__ = [
    "BenchDatabase",
    "BenchOptions",
    "Server",
    "compare",
    "database_info",
    "drive",
    "fetch",
    "latency_summary",
    "main",
    "measure",
    "median",
    "serve",
    "throwaway_database",
]
