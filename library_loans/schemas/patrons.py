"""Schemas of a patron's own account: login, loans, holds, fines, pickup branches."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library_loans.models import HOLD_STATUSES

_SHORT = validate.Length(min=1, max=40)


class LoginSchema(Schema):
    """A library card number and its PIN."""

    card_number = fields.String(required=True, validate=_SHORT)
    pin = fields.String(required=True, validate=_SHORT, load_only=True)


class BlockSchema(Schema):
    """Why the patron may not borrow now."""

    reason = fields.String(metadata={"description": "card_expired or fines"})
    message = fields.String()


class CountsSchema(Schema):
    """How much the patron has going on."""

    loans = fields.Integer()
    overdue = fields.Integer()
    holds = fields.Integer()
    ready = fields.Integer(metadata={"description": "holds waiting on a hold shelf"})


class BranchRefSchema(Schema):
    """A branch as a patron sees it."""

    id = fields.UUID()
    name = fields.String()
    municipality = fields.String(metadata={"description": "slug"})
    municipality_name = fields.String()


class PatronSchema(Schema):
    """The logged-in patron's card and standing."""

    id = fields.UUID()
    name = fields.String()
    card_number = fields.String()
    municipality = fields.String(metadata={"description": "the home municipality's slug"})
    municipality_name = fields.String()
    home_branch = fields.Nested(BranchRefSchema)
    card_expires_on = fields.Date()
    card_expired = fields.Boolean()
    open_fines = fields.Decimal(places=2, as_string=True,
                                metadata={"description": "kronor, unpaid"})
    counts = fields.Nested(CountsSchema)
    blocks = fields.List(fields.Nested(BlockSchema))


class LoginReplySchema(Schema):
    """Who logged in."""

    patron = fields.Nested(PatronSchema)


class RecordRefSchema(Schema):
    """The title a loan or hold is for."""

    id = fields.UUID()
    title = fields.String()
    author = fields.String(allow_none=True)


class LoanSchema(Schema):
    """A copy the patron has borrowed; ``municipality`` owns it and its rules govern it."""

    id = fields.UUID()
    municipality = fields.String(metadata={"description": "the owning municipality's slug"})
    municipality_name = fields.String()
    record = fields.Nested(RecordRefSchema)
    barcode = fields.String()
    branch = fields.String(metadata={"description": "the copy's home branch"})
    checked_out_at = fields.DateTime()
    due_at = fields.DateTime()
    due_on = fields.Date(metadata={"description": "the last day, in library time"})
    renewals = fields.Integer()
    renewals_left = fields.Integer()
    overdue = fields.Boolean()


class HoldSchema(Schema):
    """A reservation: where it stands in the title's queue and an honest estimate."""

    id = fields.UUID()
    municipality = fields.String(metadata={"description": "the patron's home municipality"})
    record = fields.Nested(RecordRefSchema)
    status = fields.String(metadata={"enum": list(HOLD_STATUSES)})
    pickup_branch = fields.Nested(BranchRefSchema)
    placed_at = fields.DateTime()
    position = fields.Integer(allow_none=True, metadata={
        "description": "1 = next in line; null once a copy is on its way or ready"})
    waiting = fields.Integer(metadata={"description": "holds waiting for the title"})
    copies = fields.Integer(metadata={"description": "copies that can fill this hold"})
    estimated_days = fields.Integer(allow_none=True, metadata={
        "description": "days until a copy is likely ready; null when no copy can fill it"})
    suspended_until = fields.Date(allow_none=True)
    shelf_expires_on = fields.Date(allow_none=True, metadata={
        "description": "the last day to collect a ready hold"})


class NewHoldSchema(Schema):
    """Reserve a title for pickup at a branch."""

    record_id = fields.UUID(required=True)
    pickup_branch_id = fields.UUID(required=True)


class HoldChangeSchema(Schema):
    """Pause a hold until a date (null resumes it) or pick it up somewhere else."""

    suspended_until = fields.Date(allow_none=True)
    pickup_branch_id = fields.UUID()


class FineSchema(Schema):
    """A fine owed to (or paid to) the municipality that owns the copy."""

    id = fields.UUID()
    municipality = fields.String()
    municipality_name = fields.String()
    title = fields.String(allow_none=True)
    amount = fields.Decimal(places=2, as_string=True)
    reason = fields.String()
    created_at = fields.DateTime()
    settled_at = fields.DateTime(allow_none=True)


class PickupBranchSchema(Schema):
    """A branch that hands out reservations."""

    id = fields.UUID()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    home = fields.Boolean(metadata={"description": "the logged-in patron's home branch"})


class PickupGroupSchema(Schema):
    """One municipality's pickup branches."""

    municipality = fields.String()
    municipality_name = fields.String()
    home = fields.Boolean(metadata={"description": "the logged-in patron's home municipality"})
    branches = fields.List(fields.Nested(PickupBranchSchema))
