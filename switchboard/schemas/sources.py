"""Schemas of directory sources and their sync runs."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from switchboard.models import SOURCE_KINDS


class SourceInputSchema(Schema):
    """A new source; ``settings`` are checked against its kind by the operation."""

    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))
    settings = fields.Dict(
        keys=fields.String(), load_default=dict,
        metadata={"description": "csv: columns (our field → their header), unit_separator, "
                                 "delimiter, encoding; ldif: id_attribute, object_classes, "
                                 "base_dn, unit_separator"})
    schedule_minutes = fields.Integer(load_default=None, allow_none=True,
                                      validate=validate.Range(min=1))
    enabled = fields.Boolean(load_default=True)
    municipality = fields.String(load_default=None,
                                 metadata={"description": "slug; default: your own"})


class SourcePatchSchema(Schema):
    """The fields of a source that change; the rest stay."""

    name = fields.String()
    settings = fields.Dict(keys=fields.String())
    schedule_minutes = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    enabled = fields.Boolean()


class SourceSchema(Schema):
    """A source as the API shows it (the file's storage key stays inside)."""

    id = fields.UUID()
    municipality = fields.String()
    name = fields.String()
    kind = fields.String()
    settings = fields.Dict()
    schedule_minutes = fields.Integer(allow_none=True)
    enabled = fields.Boolean()
    has_file = fields.Boolean(metadata={"description": "whether an export has been uploaded"})
    last_run_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RejectedRowSchema(Schema):
    """A row the run could not use, and why; the rest of the input was applied."""

    line = fields.Integer()
    reason = fields.String()


class RunSchema(Schema):
    """One run of a source: status, counts and rejected rows."""

    id = fields.UUID()
    municipality = fields.String()
    source_id = fields.UUID()
    trigger = fields.String(metadata={"description": "manual or schedule"})
    status = fields.String(metadata={"description": "queued, running, succeeded or failed"})
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    processed = fields.Integer()
    added = fields.Integer()
    changed = fields.Integer()
    left = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedRowSchema))
    error = fields.String()
