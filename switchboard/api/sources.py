"""Directory sources and their sync runs.

Only directory editors of a source's municipality see or change it; to everyone else a
source of another municipality does not exist (404), and listing needs the role (403).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint
from sqlalchemy import select

from services.context import db_session, require_principal
from services.errors import ApiError
from services.infra.storage import BlobStore, blob_store_for
from services.settings_ext import extension
from services.tenancy import current_scope
from services.tenancy.models import Municipality
from switchboard.access import editing
from switchboard.models import DirectorySource, SyncRun
from switchboard.operations.directory import DirectoryError
from switchboard.schemas.sources import (
    RunSchema,
    SourceInputSchema,
    SourcePatchSchema,
    SourceSchema,
)
from switchboard.sync.runs import (
    create_source,
    delete_source,
    find_run,
    start_run,
    store_source_file,
    update_source,
)
from switchboard.tasks.sync import run_sync

blueprint = Blueprint("switchboard_sources", __name__, url_prefix="/api",
                      description="Directory sources and their sync runs")

RUNS_LISTED = 50


@blueprint.route("/sources")
@blueprint.response(200, SourceSchema(many=True))
def list_sources() -> list[dict[str, Any]]:
    """The sources of every municipality you edit the directory of."""
    editable = _editable_municipalities()
    if not editable:
        raise ApiError(403, "Directory sources need the directory_editor role.")
    sources = db_session().scalars(select(DirectorySource).where(
        DirectorySource.municipality_id.in_(editable)).order_by(DirectorySource.name))
    return [_source_json(source) for source in sources]


@blueprint.route("/sources", methods=["POST"])
@blueprint.arguments(SourceInputSchema)
@blueprint.response(201, SourceSchema)
def add_source(payload: dict[str, Any]) -> dict[str, Any]:
    """Add a source to your municipality's directory (or the one ``municipality`` names)."""
    municipality_id = _municipality_id(payload.pop("municipality"))
    session = db_session()
    with editing(municipality_id):
        source = create_source(session, payload["name"], payload["kind"], payload["settings"],
                               payload["schedule_minutes"], enabled=payload["enabled"],
                               municipality_id=municipality_id)
        return _source_json(source)


@blueprint.route("/sources/<uuid:source_id>")
@blueprint.response(200, SourceSchema)
def get_source(source_id: uuid.UUID) -> dict[str, Any]:
    """A source and its settings."""
    return _source_json(_editable_source(source_id))


@blueprint.route("/sources/<uuid:source_id>", methods=["PATCH"])
@blueprint.arguments(SourcePatchSchema)
@blueprint.response(200, SourceSchema)
def change_source(payload: dict[str, Any], source_id: uuid.UUID) -> dict[str, Any]:
    """Change a source's name, settings, schedule or whether it runs."""
    source = _editable_source(source_id)
    with editing(source.municipality_id):
        update_source(db_session(), source, **payload)
        db_session().flush()
        return _source_json(source)


@blueprint.route("/sources/<uuid:source_id>", methods=["DELETE"])
@blueprint.response(204)
def remove_source(source_id: uuid.UUID) -> None:
    """Remove a source and its runs; its contacts and units stay, to be edited by hand."""
    source = _editable_source(source_id)
    with editing(source.municipality_id):
        delete_source(db_session(), _blob_store(), source)


@blueprint.route("/sources/<uuid:source_id>/file", methods=["PUT"])
@blueprint.response(200, SourceSchema)
def upload_file(source_id: uuid.UUID) -> dict[str, Any]:
    """Upload the source's export (the body, or the multipart field ``file``)."""
    source = _editable_source(source_id)
    upload = request.files.get("file")
    if upload is not None:
        content, content_type = upload.read(), upload.mimetype or "application/octet-stream"
    else:
        content = request.get_data(cache=False)
        content_type = request.mimetype or "application/octet-stream"
    with editing(source.municipality_id):
        try:
            store_source_file(_blob_store(), source, content, content_type)
        except DirectoryError as error:
            raise ApiError(422, error.message, field=error.field, location="body") from error
        db_session().flush()
        return _source_json(source)


@blueprint.route("/sources/<uuid:source_id>/runs", methods=["POST"])
@blueprint.response(202, RunSchema)
def queue_run(source_id: uuid.UUID) -> dict[str, Any]:
    """Run the source now: the worker reads its file; follow the run at /api/runs/<id>."""
    source = _editable_source(source_id)
    session = db_session()
    with editing(source.municipality_id):
        try:
            run = start_run(session, source, "manual")
        except DirectoryError as error:
            status = 409 if error.field == "source" else 422
            raise ApiError(status, error.message, field=error.field) from error
        run_sync.send_after_commit(session, str(run.id))
        return _run_json(run)


@blueprint.route("/sources/<uuid:source_id>/runs")
@blueprint.response(200, RunSchema(many=True))
def list_runs(source_id: uuid.UUID) -> list[dict[str, Any]]:
    """The source's latest runs, newest first."""
    source = _editable_source(source_id)
    runs = db_session().scalars(select(SyncRun).where(
        SyncRun.municipality_id == source.municipality_id, SyncRun.source_id == source.id)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(RUNS_LISTED))
    return [_run_json(run) for run in runs]


@blueprint.route("/runs/<uuid:run_id>")
@blueprint.response(200, RunSchema)
def get_run(run_id: uuid.UUID) -> dict[str, Any]:
    """A run's status, counts and rejected rows (with line and reason)."""
    require_principal()
    run = find_run(db_session(), run_id)
    if run is None or run.municipality_id not in _editable_municipalities():
        raise ApiError(404, "No such sync run in a municipality you edit.")
    return _run_json(run)


def _editable_municipalities() -> set[uuid.UUID]:
    principal = require_principal()
    return {m for m in current_scope().municipality_ids
            if principal.has_role("directory_editor", m)}


def _municipality_id(slug: str | None) -> uuid.UUID:
    if slug is None:
        return require_principal().home_municipality_id
    found = db_session().scalars(select(Municipality.id).where(Municipality.slug == slug)).first()
    if found is None:
        raise ApiError(422, f"No municipality {slug!r}.", field="municipality")
    return found


def _editable_source(source_id: uuid.UUID) -> DirectorySource:
    """A source of a municipality the caller edits; 404 for every other."""
    source = db_session().scalars(
        select(DirectorySource).where(DirectorySource.id == source_id)).first()
    if source is None or source.municipality_id not in _editable_municipalities():
        raise ApiError(404, "No such source in a municipality you edit.")
    return source


def _blob_store() -> BlobStore:
    return blob_store_for(extension(current_app).settings)


def _slug(municipality_id: uuid.UUID) -> str:
    slug = db_session().scalar(select(Municipality.slug).where(
        Municipality.id == municipality_id))
    return slug or ""


def _source_json(source: DirectorySource) -> dict[str, Any]:
    settings = {k: v for k, v in source.settings.items() if k != "blob_key"}
    return {"id": source.id, "municipality": _slug(source.municipality_id), "name": source.name,
            "kind": source.kind, "settings": settings,
            "schedule_minutes": source.schedule_minutes, "enabled": source.enabled,
            "has_file": bool(source.settings.get("blob_key")),
            "last_run_at": source.last_run_at, "created_at": source.created_at,
            "updated_at": source.updated_at}


def _run_json(run: SyncRun) -> dict[str, Any]:
    return {"id": run.id, "municipality": _slug(run.municipality_id),
            "source_id": run.source_id, "trigger": run.trigger, "status": run.status,
            "started_at": run.started_at, "finished_at": run.finished_at,
            "processed": run.processed, "added": run.added, "changed": run.changed,
            "left": run.left, "rejected": run.rejected or [], "error": run.error or ""}
