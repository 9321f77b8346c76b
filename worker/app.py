"""The Celery app: configuration from settings, a queue per service, task discovery.

``celery -A worker.app worker`` and ``samverkan worker`` both load this module. Each
service's tasks live in its own ``tasks.py`` and run on its own queue, so production can
give a busy service more workers without touching the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init
from kombu import Queue

from services.config import SERVICES, Settings, load_settings

PLATFORM_QUEUE = "platform"
QUEUES = (PLATFORM_QUEUE, *SERVICES)
"""A queue per service, plus one for the platform core's own tasks."""

TASK_PACKAGES = ("services", *SERVICES)

celery_app = Celery("samverkan")


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    """Transport options for the configured broker.

    For Redis the visibility timeout is kept above the longest countdown any task is
    scheduled with; otherwise Redis would hand a late-acked task to a second worker
    before its countdown has even run out.
    """
    if settings.broker_url.startswith("filesystem"):
        folder = settings.data_dir / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    if settings.broker_url.startswith(("redis", "rediss")):
        return {"visibility_timeout": settings.longest_task_countdown_seconds + 3600}
    return {}


def configure(settings: Settings) -> Celery:
    """Apply ``settings`` to the Celery app (at import, and again by tests)."""
    if settings.result_backend.startswith("file://"):
        Path(settings.result_backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    celery_app.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.result_backend,
        broker_transport_options=broker_transport_options(settings),
        result_backend_transport_options=broker_transport_options(settings)
        if settings.result_backend.startswith("redis") else {},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=PLATFORM_QUEUE,
        task_queues=[Queue(name, routing_key=name) for name in QUEUES],
        task_routes=[_route_by_package],
        task_acks_late=False,
        task_reject_on_worker_lost=False,
        task_track_started=True,
        result_expires=7 * 24 * 3600,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        timezone="Europe/Stockholm",
        enable_utc=True,
        beat_schedule={
            "purge-expired-credentials": {
                "task": "services.tasks.purge_expired_credentials",
                "schedule": crontab(minute=17, hour=3),
            },
            "switchboard-run-due-sources": {
                "task": "switchboard.tasks.sync.run_due_sources",
                "schedule": crontab(minute="*/5"),
            },
            # The library: notices for holds that reached a hold shelf (a check-in queues
            # its own at once; this catches any other way), copies that never arrived,
            # hold-shelf periods that ended, and the morning's due and overdue reminders.
            "library-hold-ready-notices": {
                "task": "library_loans.tasks.queue_hold_ready_notices",
                "schedule": crontab(minute="*/5"),
            },
            "library-retarget-holds": {
                "task": "library_loans.tasks.retarget_holds",
                "schedule": crontab(minute=20),
            },
            "library-expire-uncollected-holds": {
                "task": "library_loans.tasks.expire_uncollected_holds",
                "schedule": crontab(minute=45, hour=7),
            },
            "library-loan-notices": {
                "task": "library_loans.tasks.queue_loan_notices",
                "schedule": crontab(minute=0, hour=8),
            },
            "library-purge-ended-patron-sessions": {
                "task": "library_loans.tasks.purge_ended_patron_sessions",
                "schedule": crontab(minute=27, hour=3),
            },
        },
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        samverkan_settings=settings,
    )
    _forget_earlier_connections_and_backend()
    return celery_app


def _forget_earlier_connections_and_backend() -> None:
    """Close connections made to the broker configured before, so the next task goes to
    the one configured now, and forget the result backend made before, so results are
    looked for where they are now stored (Celery keeps its pools and its backend, once
    made, whatever the configuration says later)."""
    # Celery has no public way to drop its pools or its backend.
    pool = celery_app._pool
    if pool is not None:
        pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # A backend that is not thread-safe (the embedded default's file system) is kept per
    # thread: this thread's is forgotten, and the worker's threads make theirs anew.
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


def settings_of(app: Celery) -> Settings:
    """The Samverkan settings the Celery app was configured with."""
    return app.conf.samverkan_settings


def _route_by_package(name: str, *_args: Any, **_kwargs: Any) -> dict[str, str]:
    package = name.split(".", 1)[0]
    return {"queue": package if package in SERVICES else PLATFORM_QUEUE}


@worker_process_init.connect
def _forget_parent_connections(**_kwargs: Any) -> None:
    # A forked worker must not share the parent's pooled database connections.
    from services.settings_ext import dispose_engines

    dispose_engines()


configure(load_settings())
celery_app.autodiscover_tasks(list(TASK_PACKAGES), force=False)
