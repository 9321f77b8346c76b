"""Schemas of the desk's API: what the librarian scans, and what the desk is told to do."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

_BARCODE = validate.Length(min=1, max=40)
_CARD = validate.Length(min=1, max=20)
_BRANCH_ID = {"description": "the desk's branch, one of your municipality's "
                             "(default: its first branch)"}


class CheckoutSchema(Schema):
    """Lend a copy (by barcode) to the patron whose card is shown, at the desk's branch."""

    barcode = fields.String(required=True, validate=_BARCODE)
    card_number = fields.String(required=True, validate=_CARD)
    branch_id = fields.UUID(load_default=None, metadata=_BRANCH_ID)


class CheckinSchema(Schema):
    """Take a copy back at the desk's branch."""

    barcode = fields.String(required=True, validate=_BARCODE)
    branch_id = fields.UUID(load_default=None, metadata=_BRANCH_ID)


class RenewSchema(Schema):
    """Renew a loan, found by the copy's barcode or by the loan's id."""

    barcode = fields.String(load_default=None, validate=_BARCODE)
    loan_id = fields.UUID(load_default=None)
    branch_id = fields.UUID(load_default=None, metadata=_BRANCH_ID)

    @validates_schema
    def _one_of_them(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("barcode") and not data.get("loan_id"):
            raise ValidationError("Give the copy's barcode or the loan's id.", "barcode")


class DeskQuerySchema(Schema):
    """Which of your municipality's branches the list is for."""

    branch_id = fields.UUID(load_default=None, metadata=_BRANCH_ID)


class DeskBranchSchema(Schema):
    """A branch, as the desk names it."""

    id = fields.UUID(allow_none=True, metadata={"description": "only for your "
                                                               "municipality's branches"})
    code = fields.String()
    name = fields.String()
    municipality = fields.String(metadata={"description": "slug"})


class PatronRefSchema(Schema):
    """A patron as a desk of another municipality may see them: only what finds the copy.

    A patron of the desk's own municipality is shown in full; any other by the last digits
    of the card and the initial of the name.
    """

    card = fields.String(metadata={"description": "the card number, or its last four "
                                                  "digits after an ellipsis"})
    name = fields.String(metadata={"description": "the name, or its initial"})
    municipality = fields.String()
    full = fields.Boolean(metadata={"description": "whether card and name are shown in full"})


class DeskLoanSchema(Schema):
    """A loan as the desk shows it once made or renewed."""

    loan_id = fields.UUID(allow_none=True, metadata={"description": "only for your "
                                                                    "municipality's copies"})
    municipality = fields.String(metadata={"description": "the copy's owner, whose rules "
                                                          "govern the loan"})
    barcode = fields.String()
    title = fields.String()
    author = fields.String(allow_none=True)
    due_at = fields.DateTime()
    due_date = fields.Date(metadata={"description": "the last day, at the library"})
    renewals = fields.Integer()
    renewals_allowed = fields.Integer()
    patron = fields.Nested(PatronRefSchema)
    branch = fields.Nested(DeskBranchSchema)


class DeskFineSchema(Schema):
    """A fine for a late return."""

    amount = fields.Decimal(as_string=True)
    reason = fields.String()
    municipality = fields.String(metadata={"description": "owed to"})


class CapturedHoldSchema(Schema):
    """The hold a returned copy was caught for."""

    id = fields.UUID(allow_none=True, metadata={"description": "only for your "
                                                               "municipality's patrons"})
    municipality = fields.String()
    status = fields.String()
    pickup_branch = fields.Nested(DeskBranchSchema)
    shelf_expires_on = fields.Date(allow_none=True)
    patron = fields.Nested(PatronRefSchema)


class CheckinResultSchema(Schema):
    """What to do with a copy just checked in, and what became of its loan."""

    barcode = fields.String()
    title = fields.String()
    municipality = fields.String(metadata={"description": "the copy's owner"})
    action = fields.String(metadata={"enum": ["shelve", "hold_shelf", "transit"],
                                     "description": "shelve here, put on the hold shelf "
                                                    "here, or send to destination"})
    instruction = fields.String()
    destination = fields.Nested(DeskBranchSchema, allow_none=True)
    returned = fields.Boolean(metadata={"description": "whether a loan was closed"})
    hold = fields.Nested(CapturedHoldSchema, allow_none=True)
    fine = fields.Nested(DeskFineSchema, allow_none=True)
    branch = fields.Nested(DeskBranchSchema)


class TransitEntrySchema(Schema):
    """A copy on its way, and whether it has been on its way too long."""

    barcode = fields.String()
    title = fields.String()
    municipality = fields.String(metadata={"description": "the copy's owner"})
    source = fields.Nested(DeskBranchSchema, data_key="from")
    destination = fields.Nested(DeskBranchSchema, data_key="to")
    since = fields.DateTime()
    age_days = fields.Integer()
    alert_days = fields.Integer(metadata={"description": "the owner's transit_alert_days"})
    stuck = fields.Boolean(metadata={"description": "in transit longer than alert_days"})
    for_hold = fields.Boolean()


class TransitListSchema(Schema):
    """What is on its way to and from a branch, oldest first."""

    branch = fields.Nested(DeskBranchSchema)
    incoming = fields.List(fields.Nested(TransitEntrySchema))
    outgoing = fields.List(fields.Nested(TransitEntrySchema))


class HoldShelfEntrySchema(Schema):
    """A copy on the hold shelf for a patron."""

    hold_id = fields.UUID(allow_none=True, metadata={"description": "only for your "
                                                                    "municipality's patrons"})
    barcode = fields.String()
    title = fields.String()
    municipality = fields.String(metadata={"description": "the copy's owner"})
    patron = fields.Nested(PatronRefSchema)
    ready_at = fields.DateTime(allow_none=True)
    expires_on = fields.Date()
    expired = fields.Boolean(metadata={"description": "its last day on the shelf has passed"})


class HoldShelfSchema(Schema):
    """What waits on a branch's hold shelf, the first to expire first."""

    branch = fields.Nested(DeskBranchSchema)
    holds = fields.List(fields.Nested(HoldShelfEntrySchema))


class DeskBlockSchema(Schema):
    """A reason the patron may not borrow now."""

    field = fields.String()
    reason = fields.String()


class DeskPatronSchema(Schema):
    """What the desk needs to know about a card shown to it."""

    id = fields.UUID(allow_none=True, metadata={"description": "only for your "
                                                               "municipality's patrons"})
    municipality = fields.String()
    card_number = fields.String()
    name = fields.String()
    category = fields.String()
    card_expires_on = fields.Date()
    home_branch = fields.Nested(DeskBranchSchema)
    loans = fields.Integer(metadata={"description": "copies borrowed and not returned"})
    fines = fields.Decimal(as_string=True, metadata={"description": "unpaid, every "
                                                                    "municipality together"})
    blocked = fields.Boolean()
    blocks = fields.List(fields.Nested(DeskBlockSchema),
                         metadata={"description": "by the desk municipality's rules"})
