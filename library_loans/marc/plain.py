"""A MARC record as plain values: what describing it and reading its copies need, cheaply.

An import reads every record once to describe it and find its copies, then lets it go.
Building a ``pymarc.Record`` for that (a ``Field``, ``Indicators`` and a ``Subfield`` for
every part, each checked as it is made) cost more than decoding the record's bytes; a
``PlainRecord`` holds the same text in slotted objects and tuples. ``describe`` and
``holdings`` take either kind: both have ``leader`` and ``fields``, and every field has
``tag``, ``data`` (a control field's text, else None), ``indicator2`` and ``subfields``
as (code, value) pairs.
"""

from __future__ import annotations

import pymarc


class PlainField:
    """One field: a control field's ``data``, or a data field's indicators and subfields."""

    __slots__ = ("data", "indicator1", "indicator2", "subfields", "tag")

    def __init__(self, tag: str, data: str | None, indicator1: str = " ",
                 indicator2: str = " ", subfields: list[tuple[str, str]] | None = None) -> None:
        self.tag = tag
        self.data = data
        self.indicator1 = indicator1
        self.indicator2 = indicator2
        self.subfields = subfields if subfields is not None else []

    def as_pymarc(self) -> pymarc.Field:
        """The field as pymarc builds it."""
        if self.data is not None:
            return pymarc.Field(tag=self.tag, data=self.data)
        return pymarc.Field(self.tag, pymarc.Indicators(self.indicator1, self.indicator2),
                            [pymarc.Subfield(code, value) for code, value in self.subfields])


class PlainRecord:
    """A record's leader (24 characters) and its fields in record order."""

    __slots__ = ("fields", "leader")

    def __init__(self, leader: str, fields: list[PlainField]) -> None:
        self.leader = leader
        self.fields = fields

    @classmethod
    def of(cls, record: pymarc.Record) -> PlainRecord:
        """A pymarc record's text as plain values."""
        return cls(str(record.leader), [
            PlainField(field.tag, field.data) if field.control_field
            else PlainField(field.tag, None, field.indicator1, field.indicator2,
                            [(code, value) for code, value in field.subfields])
            for field in record.fields
        ])

    def as_pymarc(self) -> pymarc.Record:
        """The record as pymarc builds it."""
        record = pymarc.Record(fields=[field.as_pymarc() for field in self.fields])
        record.leader = pymarc.Leader(self.leader)
        return record


AnyField = pymarc.Field | PlainField
