"""Tasks that exist only in the tests, to watch the task base from the worker's side."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from services.tenancy import scope_or_none
from tests.support.notes import Note
from worker.base import service_task

attempts: Counter[str] = Counter()
_attempts_lock = threading.Lock()


@service_task(name="tests.count_notes")
def count_notes(task) -> dict:  # type: ignore[no-untyped-def]
    """What the task sees: its scope and how many notes that scope shows."""
    scope = scope_or_none()
    return {
        "municipalities": sorted(str(m) for m in scope.municipality_ids) if scope else None,
        "home": str(scope.home) if scope and scope.home else None,
        "notes": task.session.scalar(select(func.count()).select_from(Note)),
    }


@service_task(name="tests.add_note")
def add_note(task, text: str) -> str:  # type: ignore[no-untyped-def]
    """Add a note in the task's home municipality; the task base commits it."""
    note = Note(text=text)
    task.session.add(note)
    task.session.flush()
    return str(note.municipality_id)


@service_task(name="tests.add_note_then_fail")
def add_note_then_fail(task, text: str) -> None:  # type: ignore[no-untyped-def]
    """Add a note and then fail: the base must roll the note back."""
    task.session.add(Note(text=text))
    task.session.flush()
    raise RuntimeError("failing on purpose after a write")


@service_task(name="tests.flaky_delivery", io=True, retry_backoff=False,
              default_retry_delay=0, max_retries=3)
def flaky_delivery(task, key: str, failures: int) -> int:  # type: ignore[no-untyped-def]
    """Fail with a connection error ``failures`` times, then succeed; returns attempts."""
    with _attempts_lock:
        attempts[key] += 1
        seen = attempts[key]
    if seen <= failures:
        raise ConnectionRefusedError("mail server down")
    return seen


@service_task(name="switchboard.tasks_test_probe")
def service_queue_probe(task) -> str:  # type: ignore[no-untyped-def]
    """A task named like a switchboard task: it must travel on the switchboard queue."""
    return task.request.delivery_info.get("routing_key", "")
