"""Library tasks for the worker: importing a municipality's catalogue file.

An import commits after every batch, together with the counts on its row, so that a page
shows how far it has got and a failure keeps what was imported before it (a second import
of the same file only adds what is missing). On SQLite this also hands the one write lock
to other writers between batches instead of holding it for the whole file.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from celery import Task

from library_loans.models import CatalogueImport
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
from library_loans.operations.rules import Refusal
from library_loans.search.index import reindex
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
                              on_records=reindex)
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


def _outcome(run: CatalogueImport) -> dict[str, Any]:
    return {"import_id": str(run.id), "status": run.status, "processed": run.processed,
            "added": run.added, "updated": run.updated, "rejected": run.rejected,
            "items_added": run.items_added}
