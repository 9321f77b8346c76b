"""Library tasks for the worker: importing catalogues, patron notices, the holds' jobs.

An import commits after every batch, together with the counts on its row, so that a page
shows how far it has got and a failure keeps what was imported before it (a second import
of the same file only adds what is missing). On SQLite this also hands the one write lock
to other writers between batches instead of holding it for the whole file.

The scheduled jobs (see ``beat_schedule`` in :mod:`worker.app`) run in the consortium's
hold-queue scope: a title's queue, a loan and its patron span municipalities. Each may run
twice or beside itself: notices are queued once by their unique key, and the holds' jobs
take turns (an advisory lock on PostgreSQL; SQLite's one write lock does it there). They
take an optional ``at`` (an ISO time) for replaying a day; beat sends none.
"""

from __future__ import annotations

import io
import uuid
import zlib
from datetime import datetime
from typing import Any

from celery import Task
from sqlalchemy import text
from sqlalchemy.orm import Session

from library_loans import identity
from library_loans.access import hold_queues
from library_loans.models import CatalogueImport
from library_loans.operations import notices
from library_loans.operations.catalogue import (
    FINISHED,
    ImportSummary,
    begin_import,
    fail_import,
    find_import,
    finish_import,
    import_marc,
    read_import_file,
    record_progress,
)
from library_loans.operations.holds import expire_uncollected, retarget
from library_loans.operations.rules import Refusal
from library_loans.search.index import index_fields
from services import clock
from services.infra.mail import mailer_for
from services.infra.sms import sms_gateway_for
from services.infra.storage import blob_store_for
from worker.app import settings_of
from worker.base import service_task


@service_task(idempotent=True)
def import_catalogue(task: Task, import_id: str) -> dict[str, Any]:
    """Run a queued catalogue import in its municipality's scope (the message carries it)."""
    session = task.session
    run = find_import(session, uuid.UUID(import_id))
    if run is None or run.status in FINISHED:
        return {"import_id": import_id, "status": run.status if run else "missing"}
    begin_import(run)
    session.commit()

    def commit_batch(summary: ImportSummary) -> None:
        record_progress(run, summary)
        session.commit()

    try:
        content = read_import_file(blob_store_for(settings_of(task.app)), run)
        summary = import_marc(session, io.BytesIO(content), municipality_id=run.municipality_id,
                              layout=run.holdings_layout, progress=commit_batch,
                              on_described=index_fields)
    except Refusal as error:
        fail_import(run, error.message)
        return _outcome(run)
    except Exception as error:
        # The batch in hand is gone with the rollback; those committed before it stay.
        session.rollback()
        fail_import(run, f"The import stopped on an error: {type(error).__name__}: {error}"[:2000])
        session.commit()
        raise
    finish_import(run, summary)
    return _outcome(run)


@service_task(idempotent=True, io=True)
def deliver_notice(task: Task, notice_id: str) -> str:
    """Send one patron notice by e-mail or SMS; retried with backoff while a server is down.

    Runs in the scope the notice was queued with (the patron's home municipality and the
    ones the notice names); a refusal, or the last retry running out, ends it failed.
    """
    settings = settings_of(task.app)
    return notices.deliver_notice(task.session, uuid.UUID(notice_id), mailer_for(settings),
                   sms_gateway_for(settings),
                   final_attempt=task.request.retries >= task.max_retries)


@service_task(idempotent=True)
def queue_hold_ready_notices(task: Task, at: str | None = None) -> int:
    """Every few minutes: notices for holds that reached a hold shelf and have none yet."""
    session = task.session
    with hold_queues(session):
        queued = notices.queue_ready_hold_notices(session, at=_moment(at))
        session.commit()
    return queued


@service_task(idempotent=True)
def queue_loan_notices(task: Task, at: str | None = None) -> dict[str, int]:
    """Every morning: reminders for loans soon due and notices for overdue ones."""
    session = task.session
    moment = _moment(at)
    with hold_queues(session):
        queued = {"predue": notices.queue_predue_notices(session, at=moment),
                  "overdue": notices.queue_overdue_notices(session, at=moment)}
        session.commit()
    return queued


@service_task(idempotent=True)
def retarget_holds(task: Task, at: str | None = None) -> int | None:
    """Re-route holds whose copy never arrived and fill waiting holds from free copies.

    Returns how many holds were filled, or None when another run was at it already.
    """
    session = task.session
    moment = _moment(at)
    with hold_queues(session):
        if not _alone(session, "library_loans.retarget_holds"):
            return None
        filled = retarget(session, at=moment)
        notices.queue_ready_hold_notices(session, at=moment)
        session.commit()
    return filled


@service_task(idempotent=True)
def expire_uncollected_holds(task: Task, at: str | None = None) -> int | None:
    """Close holds left on the hold shelf past their last day, passing each copy on.

    Returns how many holds expired, or None when another run was at it already.
    """
    session = task.session
    moment = _moment(at)
    with hold_queues(session):
        if not _alone(session, "library_loans.expire_uncollected_holds"):
            return None
        expired = expire_uncollected(session, at=moment)
        notices.queue_ready_hold_notices(session, at=moment)
        session.commit()
    return expired


def _moment(at: str | None) -> datetime:
    if at is None:
        return clock.now()
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        raise ValueError(f"at: {at!r} needs a time zone")
    return moment


def _alone(session: Session, job: str) -> bool:
    """Whether no other run of ``job`` holds the job's lock (taken until the commit)."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # every write transaction begins IMMEDIATE: the runs take turns anyway
    key = zlib.crc32(job.encode("utf-8"))
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))


def _outcome(run: CatalogueImport) -> dict[str, Any]:
    return {"import_id": str(run.id), "status": run.status, "processed": run.processed,
            "added": run.added, "updated": run.updated, "rejected": run.rejected,
            "items_added": run.items_added}


@service_task(idempotent=True)
def purge_ended_patron_sessions(task: Task) -> int:
    """Delete patron sessions that expired or were logged out; how many."""
    session = task.session
    purged = identity.purge_ended_patron_sessions(session)
    session.commit()
    return purged
