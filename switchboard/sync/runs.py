"""Directory sources and their runs: configuring a source, queueing a run, running it.

A source's file is kept in the platform's blob store under ``source.settings["blob_key"]``
(the upload endpoint puts it there); the worker reads it and calls :func:`run_source`.
A run that cannot read its source fails with the reason and changes nothing: the whole
application of the records happens inside a savepoint that is rolled back on failure.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services import clock
from services.infra.storage import BlobNotFoundError, BlobStore
from services.tenancy import current_scope
from switchboard.models import SOURCE_KINDS, Contact, DirectorySource, SyncRun, Unit
from switchboard.operations.directory import DirectoryError
from switchboard.sync.csv_source import FIELDS, read_csv
from switchboard.sync.ldif_source import read_ldif
from switchboard.sync.records import RejectedRow, SourceError, SourceRecord, apply_records

RUNNABLE_KINDS = ("csv", "ldif")
"""Kinds whose runs read a file; SCIM sources are pushed to instead."""

FINISHED = ("succeeded", "failed")
STALE_AFTER = timedelta(hours=2)
"""A run queued or running for longer than this is taken to have died with its worker."""

_SETTINGS = {
    "csv": {"columns", "unit_separator", "delimiter", "encoding"},
    "ldif": {"id_attribute", "object_classes", "base_dn", "unit_separator"},
    "scim": set(),
}


def create_source(session: Session, name: str, kind: str, settings: dict[str, Any] | None = None,
                  schedule_minutes: int | None = None, *, enabled: bool = True,
                  municipality_id: uuid.UUID | None = None) -> DirectorySource:
    """Add a source of the directory to a municipality (the scope's home by default)."""
    if kind not in SOURCE_KINDS:
        raise DirectoryError("kind", f"Choose one of {', '.join(SOURCE_KINDS)}.")
    municipality_id = municipality_id or current_scope().home
    if municipality_id is None:
        raise DirectoryError("municipality", "Say which municipality this source belongs to.")
    source = DirectorySource(municipality_id=municipality_id, kind=kind, settings={},
                             enabled=enabled)
    update_source(session, source, name=name, settings=settings or {},
                  schedule_minutes=schedule_minutes)
    session.add(source)
    session.flush()
    return source


def update_source(session: Session, source: DirectorySource, **changes: Any) -> bool:
    """Change a source's name, settings, schedule or whether it runs; whether anything changed.

    The file's blob key is kept: only an upload changes it.
    """
    if "name" in changes:
        changes["name"] = _unique_name(session, source, changes["name"])
    if "settings" in changes:
        settings = check_settings(source.kind, changes["settings"])
        if "blob_key" in source.settings:
            settings["blob_key"] = source.settings["blob_key"]
        changes["settings"] = settings
    minutes = changes.get("schedule_minutes")
    if minutes is not None and minutes <= 0:
        raise DirectoryError("schedule_minutes", "Give a positive number of minutes, or none.")
    changed = False
    for field, value in changes.items():
        if getattr(source, field) != value:
            setattr(source, field, value)
            changed = True
    return changed


def delete_source(session: Session, store: BlobStore, source: DirectorySource) -> None:
    """Remove a source, its runs and its file; its contacts and units stay, edited by hand."""
    for model in (Contact, Unit):
        session.execute(update(model).where(
            model.municipality_id == source.municipality_id, model.source_id == source.id,
        ).values(source_id=None, external_id=None).execution_options(synchronize_session=False))
    session.execute(delete(SyncRun).where(SyncRun.municipality_id == source.municipality_id,
                                          SyncRun.source_id == source.id))
    key = source.settings.get("blob_key")
    session.delete(source)
    session.flush()
    if key:
        store.delete(key)


def check_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` if they suit a source of ``kind``; a DirectoryError names the bad one."""
    unknown = sorted(set(settings) - _SETTINGS[kind])
    if unknown:
        raise DirectoryError(f"settings.{unknown[0]}", f"Not a setting of a {kind} source.")
    columns = settings.get("columns", {})
    if not isinstance(columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in columns.items()):
        raise DirectoryError("settings.columns", "Map our field names to their column headers.")
    wrong = sorted(set(columns) - set(FIELDS))
    if wrong:
        raise DirectoryError("settings.columns",
                             f"Unknown field {wrong[0]!r}; the fields are {', '.join(FIELDS)}.")
    if settings.get("delimiter") not in (None, ";", ",", "\t"):
        raise DirectoryError("settings.delimiter", "Use ';', ',' or a tab.")
    if settings.get("encoding"):
        try:
            codecs.lookup(settings["encoding"])
        except LookupError as error:
            raise DirectoryError("settings.encoding", "Not an encoding Python knows.") from error
    classes = settings.get("object_classes", [])
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DirectoryError("settings.object_classes", "Give a list of object class names.")
    for name in ("unit_separator", "id_attribute", "base_dn"):
        if not isinstance(settings.get(name, ""), str):
            raise DirectoryError(f"settings.{name}", "Give text.")
    return dict(settings)


def source_file_key(source: DirectorySource) -> str:
    """Where a source's uploaded file is kept in the blob store."""
    return f"switchboard/{source.municipality_id}/sources/{source.id}/export"


def store_source_file(store: BlobStore, source: DirectorySource, content: bytes,
                      content_type: str) -> None:
    """Keep ``content`` as the source's file; its next run reads it."""
    if source.kind not in RUNNABLE_KINDS:
        raise DirectoryError("kind", f"A {source.kind} source takes no file.")
    if not content:
        raise DirectoryError("file", "The file is empty.")
    key = source_file_key(source)
    store.put(key, content, content_type)
    source.settings = {**source.settings, "blob_key": key}


def read_source_file(store: BlobStore, source: DirectorySource) -> bytes:
    """The source's uploaded file; :class:`SourceError` when there is none."""
    key = source.settings.get("blob_key")
    if not key:
        raise SourceError("No file has been uploaded for this source.")
    try:
        return store.get(key)
    except BlobNotFoundError as error:
        raise SourceError("The source's file is missing from the file store.") from error


def start_run(session: Session, source: DirectorySource, trigger: str) -> SyncRun:
    """Queue a run of ``source`` (``trigger``: manual or schedule); the caller sends the task."""
    if source.kind not in RUNNABLE_KINDS:
        raise DirectoryError("kind", f"A {source.kind} source is pushed to, not run.")
    if active_run(session, source) is not None:
        raise DirectoryError("source", "A run of this source is already queued or running.")
    now = clock.now()
    run = SyncRun(municipality_id=source.municipality_id, source_id=source.id,
                  trigger=trigger, status="queued", started_at=now, rejected=[])
    source.last_run_at = now
    session.add(run)
    session.flush()
    return run


def active_run(session: Session, source: DirectorySource) -> SyncRun | None:
    """The source's run that is queued or running (and not stale), if any."""
    return session.scalars(select(SyncRun).where(
        SyncRun.municipality_id == source.municipality_id, SyncRun.source_id == source.id,
        SyncRun.status.in_(("queued", "running")),
        SyncRun.started_at > clock.now() - STALE_AFTER)).first()


def find_run(session: Session, run_id: uuid.UUID) -> SyncRun | None:
    """The run with ``run_id``, if the scope sees it."""
    return session.scalars(select(SyncRun).where(SyncRun.id == run_id)).first()


def mark_running(run: SyncRun) -> None:
    """Say the run has begun (committed on its own, so that the API shows it)."""
    run.status = "running"
    run.started_at = clock.now()


def run_source(session: Session, run_id: uuid.UUID, content: bytes, *,
               progress: Callable[[int], None] | None = None) -> SyncRun:
    """Apply ``content`` to the run's source: succeeded with counts, or failed with nothing
    changed and the reason in ``run.error``."""
    run = find_run(session, run_id)
    if run is None:
        raise LookupError(f"No sync run {run_id}.")
    source = session.get(DirectorySource, (run.municipality_id, run.source_id))
    assert source is not None  # the foreign key keeps the source while it has runs
    if run.status != "running":
        mark_running(run)
    savepoint = session.begin_nested()
    try:
        apply_records(session, source, read_records(source, content), run, progress=progress)
        savepoint.commit()
    except SourceError as error:
        savepoint.rollback()
        fail_run(run, str(error))
        return run
    run.status = "succeeded"
    run.finished_at = clock.now()
    session.flush()
    return run


def fail_run(run: SyncRun, reason: str) -> None:
    """End a run as failed with ``reason``; its counts say nothing was applied."""
    run.status = "failed"
    run.error = reason
    run.processed = run.added = run.changed = run.left = 0
    run.rejected = []
    run.finished_at = clock.now()


def read_records(source: DirectorySource,
                 content: bytes) -> Iterator[SourceRecord | RejectedRow]:
    """The records of ``content`` read as the source's kind says."""
    if source.kind == "csv":
        return read_csv(content, source.settings)
    if source.kind == "ldif":
        return read_ldif(content, source.settings)
    raise SourceError(f"A {source.kind} source is pushed to, not run.")


def due_sources(session: Session, now: datetime) -> list[DirectorySource]:
    """The scope's sources whose schedule says to run now and that have a file to read."""
    due = []
    for source in session.scalars(select(DirectorySource).where(
            DirectorySource.enabled.is_(True), DirectorySource.schedule_minutes.is_not(None),
            DirectorySource.kind.in_(RUNNABLE_KINDS)).order_by(DirectorySource.name)):
        if not source.settings.get("blob_key"):
            continue
        if source.last_run_at is not None and (
                source.last_run_at + timedelta(minutes=source.schedule_minutes or 0) > now):
            continue
        if active_run(session, source) is None:
            due.append(source)
    return due


def _unique_name(session: Session, source: DirectorySource, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DirectoryError("name", "Must not be empty.")
    if len(name) > 100:
        raise DirectoryError("name", "At most 100 characters.")
    clash = session.scalars(select(DirectorySource.id).where(
        DirectorySource.municipality_id == source.municipality_id,
        DirectorySource.name == name, DirectorySource.id != source.id)).first()
    if clash is not None:
        raise DirectoryError("name", "The municipality has a source by that name already.")
    return name
