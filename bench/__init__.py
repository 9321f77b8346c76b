"""Benchmarks of the Samverkan platform: ``python -m bench <name>`` prints one JSON document.

Each benchmark is a module here with ``run(options) -> dict``; the shared machinery
(in-process timing, serving over HTTP with gunicorn, load generation, throwaway
databases, the JSON report and the command line) lives in :mod:`bench.runner`.
"""
