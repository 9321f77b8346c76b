"""Syncing directory sources, on a schedule and on demand.

Progress goes to the result backend (``update_state``), not to ``run.processed`` in a
transaction of its own: on SQLite the run's own transaction holds the database's one
write lock from its first change to its commit, so a second transaction writing progress
would wait for the run to end, and report nothing while it mattered.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task
from sqlalchemy.exc import SQLAlchemyError

from services import clock
from services.infra.storage import blob_store_for
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.operations import participants
from switchboard.models import DirectorySource
from switchboard.operations.directory import DirectoryError
from switchboard.sync.records import SourceError
from switchboard.sync.runs import (
    FINISHED,
    due_sources,
    fail_run,
    find_run,
    mark_running,
    read_source_file,
    run_source,
    start_run,
)
from worker.app import settings_of
from worker.base import service_task

log = logging.getLogger("samverkan.switchboard.sync")


@service_task(idempotent=True)
def run_sync(task: Task, run_id: str) -> dict[str, Any]:
    """Run one sync run in its municipality's scope (the scope comes with the message)."""
    session = task.session
    run = find_run(session, uuid.UUID(run_id))
    if run is None or run.status in FINISHED:
        return {"run_id": run_id, "status": run.status if run else "missing"}
    mark_running(run)
    session.commit()

    def report(processed: int) -> None:
        task.update_state(state="PROGRESS", meta={"run_id": run_id, "processed": processed})

    try:
        source = session.get(DirectorySource, (run.municipality_id, run.source_id))
        content = read_source_file(blob_store_for(settings_of(task.app)), source)
        run_source(session, run.id, content, progress=report)
    except SourceError as error:
        fail_run(run, str(error))
    except Exception as error:
        # The run's own changes are gone with the rollback; what is left to say is why.
        session.rollback()
        fail_run(run, f"The sync stopped on an error: {type(error).__name__}: {error}"[:2000])
        session.commit()
        raise
    return {"run_id": run_id, "status": run.status, "processed": run.processed,
            "added": run.added, "changed": run.changed, "left": run.left}


@service_task(idempotent=True)
def run_due_sources(task: Task) -> int:
    """Queue a run of every due source, in each participating municipality's own scope."""
    session = task.session
    queued = 0
    for municipality in participants(session, "switchboard"):
        with tenant_scope(TenantScope.of([municipality.id], home=municipality.id)):
            try:
                for source in due_sources(session, clock.now()):
                    run = start_run(session, source, "schedule")
                    run_sync.send_after_commit(session, str(run.id))
                    queued += 1
                session.commit()
            except (DirectoryError, OSError, SQLAlchemyError) as error:
                # One municipality's trouble must not keep the others' sources from running.
                session.rollback()
                log.warning("queueing due sources failed",
                            extra={"municipality": municipality.slug, "error": str(error)})
    return queued
