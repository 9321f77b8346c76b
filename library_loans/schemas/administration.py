"""Schemas of a municipality's own library administration: branches, copies, rules, patrons."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library_loans.models import (
    ANY,
    BRANCH_KINDS,
    ITEM_STATUSES,
    MEDIA_TYPES,
    PATRON_CATEGORIES,
)
from library_loans.operations.administration import SHELF_STATES

_TEXT = validate.Length(max=300)
_EMAIL = validate.Length(max=320)
_LIMIT = validate.Range(min=1, max=200)
_OFFSET = validate.Range(min=0)
_DAYS = validate.Range(min=1, max=3650)
_COUNT = validate.Range(min=0, max=10_000)
_MONEY = validate.Range(min=0, max=100_000)


class AdminPagingSchema(Schema):
    """One page of a listing: ``limit`` rows from ``offset``."""

    limit = fields.Integer(load_default=50, validate=_LIMIT)
    offset = fields.Integer(load_default=0, validate=_OFFSET)


class AdminBranchSchema(Schema):
    """A branch or bookmobile of the municipality."""

    id = fields.UUID(dump_only=True)
    municipality = fields.String(dump_only=True, metadata={"description": "slug"})
    code = fields.String(required=True, validate=validate.Length(min=1, max=30),
                         metadata={"description": "what holdings fields and desks call it"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(load_default="branch", validate=validate.OneOf(BRANCH_KINDS))
    address = fields.String(load_default="", validate=_TEXT)
    email = fields.String(load_default="", validate=_EMAIL)
    pickup = fields.Boolean(load_default=True,
                            metadata={"description": "patrons may pick up holds here"})


class AdminBranchChangeSchema(Schema):
    """What may change about a branch (its code stays: holdings files name it)."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf(BRANCH_KINDS))
    address = fields.String(validate=_TEXT)
    email = fields.String(validate=_EMAIL)
    pickup = fields.Boolean()


class AdminItemQuerySchema(AdminPagingSchema):
    """Which copies to list."""

    status = fields.String(load_default=None, validate=validate.OneOf(ITEM_STATUSES))
    branch_id = fields.UUID(load_default=None,
                            metadata={"description": "copies at home or now at the branch"})
    barcode = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                            metadata={"description": "barcodes starting with this"})
    record_id = fields.UUID(load_default=None)


class AdminItemSchema(Schema):
    """A copy of a catalogue record, owned by the municipality."""

    id = fields.UUID()
    municipality = fields.String()
    record_id = fields.UUID()
    title = fields.String()
    barcode = fields.String()
    media_type = fields.String()
    status = fields.String(metadata={"enum": list(ITEM_STATUSES)})
    status_changed_at = fields.DateTime()
    home_branch_id = fields.UUID()
    location_municipality = fields.String()
    location_branch_id = fields.UUID()
    transit_branch_id = fields.UUID(allow_none=True)
    call_number = fields.String()
    shelf = fields.String()


class AdminItemPageSchema(Schema):
    """One page of copies, and how many match in all."""

    results = fields.List(fields.Nested(AdminItemSchema))
    total = fields.Integer()


class AdminNewItemSchema(Schema):
    """A new copy of a record, at its home branch."""

    record_id = fields.UUID(required=True)
    barcode = fields.String(required=True, validate=validate.Length(min=1, max=40))
    home_branch_id = fields.UUID(load_default=None,
                                 metadata={"description": "default: the first branch"})
    call_number = fields.String(load_default="", validate=validate.Length(max=100))
    shelf = fields.String(load_default="", validate=validate.Length(max=100))
    media_type = fields.String(load_default=None, validate=validate.OneOf(MEDIA_TYPES),
                               metadata={"description": "default: the record's"})


class AdminItemChangeSchema(Schema):
    """A copy's call number, shelf, home branch, or state set by hand."""

    status = fields.String(validate=validate.OneOf(SHELF_STATES))
    call_number = fields.String(validate=validate.Length(max=100))
    shelf = fields.String(validate=validate.Length(max=100))
    home_branch_id = fields.UUID()


class AdminRuleSchema(Schema):
    """How the municipality lends its own copies to a patron category and media type.

    ``*`` means any; the most specific rule wins. Settings left out of a PUT take the
    defaults (a PUT replaces the rule).
    """

    id = fields.UUID(dump_only=True)
    municipality = fields.String(dump_only=True)
    patron_category = fields.String(load_default=ANY,
                                    validate=validate.OneOf((*PATRON_CATEGORIES, ANY)))
    media_type = fields.String(load_default=ANY, validate=validate.OneOf((*MEDIA_TYPES, ANY)))
    loan_days = fields.Integer(load_default=28, validate=_DAYS)
    renewals = fields.Integer(load_default=2, validate=_COUNT)
    max_loans = fields.Integer(load_default=50, validate=_COUNT)
    holdable = fields.Boolean(load_default=True)
    fine_per_day = fields.Decimal(load_default=0, places=2, as_string=True, validate=_MONEY)
    fine_cap = fields.Decimal(load_default=0, places=2, as_string=True, validate=_MONEY,
                              metadata={"description": "0: no cap"})
    block_threshold = fields.Decimal(load_default=None, allow_none=True, places=2,
                                     as_string=True, validate=_MONEY,
                                     metadata={"description": "null: fines never block"})
    fines_from_age = fields.Integer(load_default=None, allow_none=True,
                                    validate=validate.Range(min=0, max=120))
    floating = fields.Boolean(load_default=False)
    local_priority = fields.Boolean(load_default=False)
    hold_shelf_days = fields.Integer(load_default=7, validate=_DAYS)
    transit_alert_days = fields.Integer(load_default=5, validate=_DAYS)


class AdminPatronQuerySchema(AdminPagingSchema):
    """Find the municipality's patrons by card number or name."""

    card_number = fields.String(load_default=None, validate=validate.Length(min=1, max=20))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                         metadata={"description": "every word, with or without diacritics"})


class AdminPatronSchema(Schema):
    """A patron registered in the municipality (never the PIN)."""

    id = fields.UUID()
    municipality = fields.String()
    card_number = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String()
    locale = fields.String()
    category = fields.String()
    birth_date = fields.Date(allow_none=True)
    home_branch_id = fields.UUID()
    card_expires_on = fields.Date()
    keeps_history = fields.Boolean()


class AdminPatronPageSchema(Schema):
    """One page of patrons, and how many match in all."""

    results = fields.List(fields.Nested(AdminPatronSchema))
    total = fields.Integer()


_CARD = validate.Regexp(r"^\d{6,20}\Z", error="A card number is 6 to 20 digits.")
_PIN = validate.Regexp(r"^\d{4,12}\Z", error="A PIN is 4 to 12 digits.")
_PHONE = validate.Regexp(r"^(\+\d{7,15})?\Z", error="A phone number in E.164, e.g. +46701234567.")


class AdminNewPatronSchema(Schema):
    """Register a patron of the municipality with a card and a PIN."""

    card_number = fields.String(required=True, validate=_CARD)
    pin = fields.String(required=True, load_only=True, validate=_PIN)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    home_branch_id = fields.UUID(load_default=None,
                                 metadata={"description": "default: the first branch"})
    category = fields.String(load_default="adult", validate=validate.OneOf(PATRON_CATEGORIES))
    email = fields.Email(load_default="", validate=_EMAIL)
    phone = fields.String(load_default="", validate=_PHONE)
    locale = fields.String(load_default="sv", validate=validate.OneOf(("sv", "en")))
    birth_date = fields.Date(load_default=None, allow_none=True)
    keeps_history = fields.Boolean(load_default=False)


class AdminPatronChangeSchema(Schema):
    """What may change about a patron: details, a new PIN, a new card, a renewed card."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(validate=_EMAIL)
    phone = fields.String(validate=_PHONE)
    locale = fields.String(validate=validate.OneOf(("sv", "en")))
    category = fields.String(validate=validate.OneOf(PATRON_CATEGORIES))
    birth_date = fields.Date(allow_none=True)
    home_branch_id = fields.UUID()
    card_expires_on = fields.Date()
    keeps_history = fields.Boolean()
    pin = fields.String(load_only=True, validate=_PIN)
    card_number = fields.String(validate=_CARD,
                                metadata={"description": "a new card; the old one stops working"})


class AdminTravelCostSchema(Schema):
    """What moving a copy from the municipality to another costs (the transport's days)."""

    municipality = fields.String(required=True, validate=validate.Length(min=1, max=40),
                                 metadata={"description": "slug of the other municipality"})
    cost = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))


class AdminTravelCostsSchema(Schema):
    """The municipality's costs to the other library municipalities."""

    costs = fields.List(fields.Nested(AdminTravelCostSchema), required=True)
