"""Schemas of the directory API: search results, cards, and what editors send."""

from __future__ import annotations

import copy

from marshmallow import Schema, ValidationError, fields, missing, validate, validates_schema

from switchboard.models import ABSENCE_SOURCES, CONTACT_KINDS, NUMBER_KINDS, UNIT_LEVELS


def _email_or_empty(value: str) -> None:
    if value:
        validate.Email(error="Not a valid e-mail address.")(value)


class SearchQuerySchema(Schema):
    """What the operator typed, and where to look."""

    q = fields.String(required=True, validate=validate.Length(max=200),
                      metadata={"description": "name, nickname, unit, keyword, title, "
                                               "municipality or digits of a number"})
    municipality = fields.String(load_default=None, validate=validate.Length(max=40),
                                 metadata={"description": "slug: search only this municipality"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class NumberSchema(Schema):
    """A number as shown: type, display form, E.164, extension."""

    kind = fields.String(metadata={"enum": list(NUMBER_KINDS)})
    number = fields.String()
    e164 = fields.String(allow_none=True)
    extension = fields.String(allow_none=True)


class UnitRefSchema(Schema):
    """The unit a result belongs to, with its path from the förvaltning down."""

    id = fields.String()
    name = fields.String()
    path = fields.List(fields.String())


class PersonRefSchema(Schema):
    """Another contact: a referral or a successor."""

    id = fields.String()
    name = fields.String()
    numbers = fields.List(fields.Nested(NumberSchema))


class AvailabilitySchema(Schema):
    """Available, away (why, until, how fresh, who takes calls), left; open or closed."""

    status = fields.String(metadata={"enum": ["available", "away", "left", "open", "closed",
                                              "unknown"]})
    reason = fields.String()
    returns_at = fields.String(allow_none=True)
    source = fields.String()
    set_at = fields.String()
    age_minutes = fields.Integer()
    referral = fields.Nested(PersonRefSchema, allow_none=True)
    referral_note = fields.String()
    since = fields.String()
    closes_at = fields.String()
    opens_at = fields.String(allow_none=True)
    holiday = fields.String(allow_none=True)


class LeftSchema(Schema):
    """When a person left and who took over."""

    on = fields.String()
    successor = fields.Nested(PersonRefSchema, allow_none=True)


class ResultSchema(Schema):
    """One search result or contact card."""

    id = fields.String()
    kind = fields.String(metadata={"enum": ["person", "function", "unit"]})
    name = fields.String()
    title = fields.String()
    municipality = fields.String()
    municipality_name = fields.String()
    unit = fields.Nested(UnitRefSchema, allow_none=True)
    numbers = fields.List(fields.Nested(NumberSchema))
    email = fields.String()
    room = fields.String()
    nicknames = fields.List(fields.String())
    keywords = fields.List(fields.String())
    info = fields.String()
    visiting_address = fields.String()
    left = fields.Nested(LeftSchema, allow_none=True)
    matched_on = fields.List(fields.String())
    availability = fields.Nested(AvailabilitySchema)
    score = fields.Float()


class CardSchema(ResultSchema):
    """A contact card: the search result and the contact's current and coming absences."""

    absences = fields.List(fields.Nested(lambda: AbsenceSchema()))


class SearchResultsSchema(Schema):
    """Search results, best first."""

    results = fields.List(fields.Nested(ResultSchema))


class CallContextQuerySchema(Schema):
    """The number the caller dialled."""

    dialled = fields.String(required=True, validate=validate.Length(min=3, max=40))


class CallContextSchema(Schema):
    """The municipality a dialled number belongs to, and how to greet the caller."""

    dialled = fields.String()
    municipality = fields.String(allow_none=True)
    municipality_name = fields.String(allow_none=True)
    greeting = fields.String()


class NumberInputSchema(Schema):
    """A number as an editor gives it: any common format, an extension, or both."""

    kind = fields.String(load_default="work", validate=validate.OneOf(NUMBER_KINDS))
    number = fields.String(load_default="", validate=validate.Length(max=40))
    extension = fields.String(load_default="", validate=validate.Length(max=10))
    display = fields.String(load_default="", validate=validate.Length(max=40))


class HoursInputSchema(Schema):
    """An opening interval on a weekday (0 = Monday)."""

    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6))
    opens = fields.Time(required=True)
    closes = fields.Time(required=True)


class ContactInputSchema(Schema):
    """A person or function as an editor writes it."""

    municipality = fields.String(load_default=None, validate=validate.Length(max=40))
    kind = fields.String(load_default="person", validate=validate.OneOf(CONTACT_KINDS))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    given_name = fields.String(load_default="", validate=validate.Length(max=100))
    family_name = fields.String(load_default="", validate=validate.Length(max=100))
    nicknames = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)
    title = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.String(load_default="", validate=[validate.Length(max=254), _email_or_empty])
    room = fields.String(load_default="", validate=validate.Length(max=100))
    info = fields.String(load_default="", validate=validate.Length(max=2000))
    unit_id = fields.UUID(load_default=None, allow_none=True)
    numbers = fields.List(fields.Nested(NumberInputSchema), load_default=list)


def _patch_of(schema: type[Schema]) -> type[Schema]:
    """``schema`` for PATCH: every field optional, and a field not sent stays as it is."""
    patched = {}
    for name, field in schema._declared_fields.items():
        field = copy.deepcopy(field)
        field.required = False
        field.load_default = missing
        patched[name] = field
    return Schema.from_dict(patched, name=schema.__name__.replace("Input", "Patch"))


ContactPatchSchema = _patch_of(ContactInputSchema)


class UnitInputSchema(Schema):
    """A unit as an editor writes it."""

    municipality = fields.String(load_default=None, validate=validate.Length(max=40))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    level = fields.String(load_default="enhet", validate=validate.OneOf(UNIT_LEVELS))
    parent_id = fields.UUID(load_default=None, allow_none=True)
    visiting_address = fields.String(load_default="", validate=validate.Length(max=300))
    email = fields.String(load_default="", validate=[validate.Length(max=254), _email_or_empty])
    info = fields.String(load_default="", validate=validate.Length(max=2000))
    numbers = fields.List(fields.Nested(NumberInputSchema), load_default=list)
    opening_hours = fields.List(fields.Nested(HoursInputSchema), load_default=list)


UnitPatchSchema = _patch_of(UnitInputSchema)


class KeywordInputSchema(Schema):
    """A matter and who handles it."""

    municipality = fields.String(load_default=None, validate=validate.Length(max=40))
    word = fields.String(required=True, validate=validate.Length(min=1, max=100))
    synonyms = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                           load_default=list)
    contact_id = fields.UUID(load_default=None, allow_none=True)
    unit_id = fields.UUID(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=300))

    @validates_schema
    def _one_target(self, data: dict, **_kwargs: object) -> None:
        if (data.get("contact_id") is None) == (data.get("unit_id") is None):
            raise ValidationError("Give exactly one of contact_id and unit_id.", "contact_id")


class AbsenceInputSchema(Schema):
    """Away: why, until when, and who takes the calls."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=100))
    starts_at = fields.AwareDateTime(load_default=None, allow_none=True)
    returns_at = fields.AwareDateTime(load_default=None, allow_none=True)
    source = fields.String(load_default="manual", validate=validate.OneOf(ABSENCE_SOURCES))
    referral_contact_id = fields.UUID(load_default=None, allow_none=True)
    referral_note = fields.String(load_default="", validate=validate.Length(max=300))


class LeftInputSchema(Schema):
    """A person has left: when, and who took over."""

    on = fields.Date(load_default=None, allow_none=True)
    successor_id = fields.UUID(load_default=None, allow_none=True)


class ContactSchema(Schema):
    """A contact as stored."""

    id = fields.UUID()
    municipality = fields.String()
    kind = fields.String()
    name = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    nicknames = fields.List(fields.String())
    title = fields.String()
    email = fields.String()
    room = fields.String()
    info = fields.String()
    unit_id = fields.UUID(allow_none=True)
    numbers = fields.List(fields.Nested(NumberSchema))
    left_on = fields.Date(allow_none=True)
    successor_id = fields.UUID(allow_none=True)
    external_id = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class UnitSchema(Schema):
    """A unit as stored."""

    id = fields.UUID()
    municipality = fields.String()
    name = fields.String()
    level = fields.String()
    parent_id = fields.UUID(allow_none=True)
    visiting_address = fields.String()
    email = fields.String()
    info = fields.String()
    numbers = fields.List(fields.Nested(NumberSchema))
    opening_hours = fields.List(fields.Nested(HoursInputSchema))
    updated_at = fields.DateTime()


class KeywordSchema(Schema):
    """A keyword as stored."""

    id = fields.UUID()
    municipality = fields.String()
    word = fields.String()
    synonyms = fields.List(fields.String())
    contact_id = fields.UUID(allow_none=True)
    unit_id = fields.UUID(allow_none=True)
    note = fields.String()


class AbsenceSchema(Schema):
    """An absence as stored."""

    id = fields.UUID()
    municipality = fields.String()
    contact_id = fields.UUID()
    reason = fields.String()
    starts_at = fields.DateTime()
    returns_at = fields.DateTime(allow_none=True)
    source = fields.String()
    set_at = fields.DateTime()
    set_by = fields.String()
    referral_contact_id = fields.UUID(allow_none=True)
    referral_note = fields.String()
    ended_at = fields.DateTime(allow_none=True)
