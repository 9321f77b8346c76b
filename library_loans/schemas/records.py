"""Schemas of the library's JSON API: the public catalogue's search and records."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from library_loans.models import AUDIENCES, MEDIA_TYPES

_WORDS = validate.Length(max=200)


class RecordQuerySchema(Schema):
    """What a patron searches for: words (anywhere or in one field) and filters."""

    q = fields.String(load_default="", validate=_WORDS,
                      metadata={"description": "words anywhere: title, author, subject, ISBN; "
                                               "a word ending in * is a prefix"})
    title = fields.String(load_default="", validate=_WORDS)
    author = fields.String(load_default="", validate=_WORDS)
    subject = fields.String(load_default="", validate=_WORDS)
    isbn = fields.String(load_default="", validate=validate.Length(max=40))
    media_type = fields.String(load_default=None, validate=validate.OneOf(MEDIA_TYPES))
    language = fields.String(load_default=None,
                             validate=validate.Regexp(r"^[a-z]{3}\Z",
                                                      error="A MARC language code: three "
                                                            "lowercase letters."),
                             metadata={"description": "MARC language code, e.g. swe"})
    audience = fields.String(load_default=None, validate=validate.OneOf(AUDIENCES))
    available_in = fields.String(load_default=None, validate=validate.Length(max=40),
                                 metadata={"description": "slug of a library municipality: "
                                                          "only records with a copy in there now"})
    talking_book = fields.Boolean(load_default=None)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000))


class AvailabilitySchema(Schema):
    """A record's copies at one branch, where they are now."""

    municipality = fields.String(metadata={"description": "slug"})
    branch = fields.String()
    available = fields.Integer(metadata={"description": "copies on the shelf now"})
    total = fields.Integer(metadata={"description": "copies, withdrawn ones not counted"})


class RecordSchema(Schema):
    """A bibliographic record of the shared catalogue, with its copies."""

    id = fields.UUID()
    title = fields.String()
    author = fields.String(allow_none=True)
    contributors = fields.List(fields.String())
    isbn = fields.String(allow_none=True, metadata={"description": "the first ISBN-13"})
    isbns = fields.List(fields.String())
    publisher = fields.String(allow_none=True)
    year = fields.Integer(allow_none=True)
    language = fields.String(allow_none=True)
    subjects = fields.List(fields.String())
    series = fields.List(fields.String())
    media_type = fields.String(metadata={"enum": list(MEDIA_TYPES)})
    audience = fields.String(metadata={"enum": list(AUDIENCES)})
    talking_book = fields.Boolean()
    availability = fields.List(fields.Nested(AvailabilitySchema))


class FoundRecordSchema(RecordSchema):
    """A search result: the record and how well it matched."""

    score = fields.Float()


class FacetsSchema(Schema):
    """How many of all the matching records have each value."""

    media_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    language = fields.Dict(keys=fields.String(), values=fields.Integer())
    audience = fields.Dict(keys=fields.String(), values=fields.Integer())
    available_in = fields.Dict(keys=fields.String(), values=fields.Integer(),
                               metadata={"description": "municipality slug → matching "
                                                        "records with a copy in there now"})


class RecordPageSchema(Schema):
    """One page of search results, best first, with the total and the facets."""

    results = fields.List(fields.Nested(FoundRecordSchema))
    total = fields.Integer()
    facets = fields.Nested(FacetsSchema)
