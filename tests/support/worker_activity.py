"""What the tests' worker is doing, so that each test starts with it quiet.

The worker runs for the whole test run, in a thread. A task one test queued and did not
wait for (a notice a check-in queues, say) would otherwise run during a later test, on
that test's data, and commit under its feet: on SQLite a deferred transaction that has
read and then writes after such a commit is refused ("database is locked").
"""

from __future__ import annotations

import threading
import time
from typing import Any

from celery.signals import task_postrun, task_prerun

_running = 0
_changed = threading.Condition()
_started: list[Any] = []
"""The Celery app whose worker runs, once one does."""


def worker_started(celery_app: Any) -> None:
    """Note that ``celery_app``'s worker now runs (the worker fixture calls this)."""
    _started.append(celery_app)


def settle(timeout: float = 60.0) -> None:
    """Drop the tasks still queued, and wait for those running to end."""
    if not _started:
        return
    _started[0].control.purge()
    deadline = time.monotonic() + timeout
    with _changed:
        while _running and time.monotonic() < deadline:
            _changed.wait(timeout=0.1)


@task_prerun.connect
def _task_started(**_kwargs: Any) -> None:
    global _running
    with _changed:
        _running += 1


@task_postrun.connect
def _task_ended(**_kwargs: Any) -> None:
    global _running
    with _changed:
        _running -= 1
        _changed.notify_all()
