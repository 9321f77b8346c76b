"""The baseline for ``/healthz``: Flask and one view, nothing else."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """Flask and one view answering ``/healthz`` with the same JSON as the platform's."""
    app = Flask("bench_minimal")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "platform"}

    return app
