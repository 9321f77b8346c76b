"""``/healthz`` (the process answers) and ``/readyz`` (its database and broker answer)."""

from __future__ import annotations

import time

from flask import current_app
from flask_smorest import Blueprint
from kombu import Connection
from sqlalchemy import text

from services.settings_ext import extension


def health_blueprint() -> Blueprint:
    """A blueprint with the health endpoints every service has."""
    blueprint = Blueprint("health", __name__, description="Liveness and readiness")

    @blueprint.route("/healthz")
    @blueprint.response(200)
    def healthz() -> dict[str, str]:
        """The process is up and serving requests."""
        return {"status": "ok", "service": extension(current_app).service}

    @blueprint.route("/readyz")
    @blueprint.response(200)
    def readyz() -> tuple[dict[str, object], int]:
        """The database and the task broker are reachable (503 names the one that is not)."""
        checks = {"database": _check_database(), "broker": _check_broker()}
        ready = all(check["ok"] for check in checks.values())
        body = {"status": "ok" if ready else "unavailable",
                "service": extension(current_app).service, "checks": checks}
        return body, 200 if ready else 503

    return blueprint


def _check_database() -> dict[str, object]:
    started = time.perf_counter()
    try:
        with extension(current_app).engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_broker() -> dict[str, object]:
    settings = extension(current_app).settings
    started = time.perf_counter()
    try:
        from worker.app import broker_transport_options

        with Connection(settings.broker_url,
                        transport_options=broker_transport_options(settings),
                        connect_timeout=2) as connection:
            # One retry at once: kombu's default two seconds' pause held every probe.
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
