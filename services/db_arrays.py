"""Whole columns of values sent to PostgreSQL as one binary array parameter each.

Bulk writes (a catalogue import's records and copies, the search index's rows) send each
column as one array and let the server ``unnest`` them: one statement, whatever the
number of rows. psycopg dumps a Python list element by element in Python, looking up a
dumper for each. :func:`packed` frames the values in PostgreSQL's binary array format
(``array_recv``) by map, zip and join instead, and the dumpers registered by
:func:`accept_packed_arrays` hand those bytes to psycopg as they are: for two id columns
and three text columns of 285,000 rows, 0.40 s of CPU against psycopg's 0.55-0.70 s.

The kinds are the element types a bulk write needs; a column of any other type is left to
psycopg (:func:`kind_of` says None).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

import orjson
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import JSON, BigInteger, Boolean, Integer, LargeBinary, SmallInteger, String, Uuid
from sqlalchemy.types import TypeEngine

_NULL = b"\xff\xff\xff\xff"
_LENGTHS = [n.to_bytes(4, "big") for n in range(1 << 12)]
"""The 4-byte length prefixes of the values most often sent, made once."""


def _json(value: Any) -> bytes:
    # The JSON json.dumps writes (what SQLAlchemy and psycopg send for a JSON column), None
    # as JSON's null, written by orjson in a fifth of the time, without json.dumps's
    # blanks and \u escapes: the same values. What orjson refuses (an integer past 64
    # bits) json.dumps writes. Many of a record's lists (notes, series) are empty.
    if value == []:
        return b"[]"
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value).encode()


_BOOLEANS = {True: b"\x01", False: b"\x00"}


def _bool(value: bool) -> bytes:
    return _BOOLEANS[value]


def _int(size: int) -> Callable[[int], bytes]:
    def encode(value: int) -> bytes:
        return value.to_bytes(size, "big", signed=True)
    return encode


def _bytea(value: bytes | bytearray | memoryview) -> bytes:
    return bytes(value)


# kind: (element oid, array oid, encoder of one non-null value)
_KINDS: dict[str, tuple[int, int, Callable[[Any], bytes]]] = {
    "text": (25, 1009, str.encode),
    "json": (114, 199, _json),
    "uuid": (2950, 2951, attrgetter("bytes")),
    "bool": (16, 1000, _bool),
    "int2": (21, 1005, _int(2)),
    "int4": (23, 1007, _int(4)),
    "int8": (20, 1016, _int(8)),
    "bytea": (17, 1001, _bytea),
}


class PackedArray:
    """A one-dimensional array in PostgreSQL's binary format, ready to send."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _packed_type(kind: str, array_oid: int) -> tuple[type[PackedArray], type[Dumper]]:
    packed = type(f"Packed{kind.title()}Array", (PackedArray,), {"__slots__": ()})

    class _Dumper(Dumper):
        format = Format.BINARY
        oid = array_oid

        def dump(self, obj: PackedArray) -> bytes:
            return obj.data

    return packed, _Dumper


_TYPES = {kind: _packed_type(kind, array_oid) for kind, (_, array_oid, _) in _KINDS.items()}


def kind_of(column_type: TypeEngine[Any]) -> str | None:
    """The kind :func:`packed` sends a column of this type as; None: leave it to psycopg."""
    checks: list[tuple[type[TypeEngine[Any]], str]] = [
        (Uuid, "uuid"), (JSON, "json"), (String, "text"), (Boolean, "bool"),
        (SmallInteger, "int2"), (BigInteger, "int8"), (Integer, "int4"),
        (LargeBinary, "bytea"),
    ]
    for type_, kind in checks:
        if isinstance(column_type, type_):
            return kind
    return None


def packed(kind: str, values: Sequence[Any]) -> PackedArray:
    """``values`` (None for NULL; for ``json``, JSON's null) as one binary array of
    ``kind`` elements."""
    element_oid, _, encode = _KINDS[kind]
    if not values:
        return _TYPES[kind][0](struct.pack(">iiI", 0, 0, element_oid))
    try:
        # Every value encoded, measured and framed by map, zip and join, in C; an encoder
        # meets a None by raising, and the values are framed one by one instead.
        encoded = list(map(encode, values))
    except (AttributeError, KeyError, TypeError):
        body, nulls = _framed_one_by_one(encode, values)
    else:
        lengths = list(map(len, encoded))
        prefixes = (map(_LENGTHS.__getitem__, lengths) if max(lengths) < len(_LENGTHS)
                    else [size.to_bytes(4, "big") for size in lengths])
        body, nulls = b"".join(chain.from_iterable(zip(prefixes, encoded, strict=True))), 0
    header = struct.pack(">iiIii", 1, nulls, element_oid, len(values), 1)
    return _TYPES[kind][0](header + body)


TEXT_SEPARATOR = "\x1f"
TEXT_NULL = "\x1e"
SPLIT_TEXT = "string_to_array({}, E'\\x1f', E'\\x1e')"
"""SQL making :func:`joined_text`'s string (the parameter's placeholder goes in the braces)
an array of text again."""


def joined_text(values: Sequence[str | None]) -> str | None:
    """Text values as one string for :data:`SPLIT_TEXT`: joined by the unit separator
    (0x1F), None written as the record separator (0x1E); None when a value holds either
    character, or the string would be empty (which the server splits into no values).

    Joined in C, a column of text costs a tenth of :func:`packed` framing every value
    (285,000 values: 8 ms against 92 ms), and the server's splitting about what it saves
    reading a binary array (109 ms against 101 ms).
    """
    nulls = values.count(None)
    given = [TEXT_NULL if value is None else value for value in values] if nulls else values
    joined = TEXT_SEPARATOR.join(given)  # type: ignore[arg-type]
    if (not joined or joined.count(TEXT_SEPARATOR) != len(values) - 1
            or joined.count(TEXT_NULL) != nulls):
        return None
    return joined


def _framed_one_by_one(encode: Callable[[Any], bytes], values: Sequence[Any]
                       ) -> tuple[bytes, int]:
    parts = []
    append = parts.append
    nulls = 0
    for value in values:
        if value is None:
            append(_NULL)
            nulls = 1
            continue
        data = encode(value)
        size = len(data)
        append(_LENGTHS[size] if size < len(_LENGTHS) else size.to_bytes(4, "big"))
        append(data)
    return b"".join(parts), nulls


def accept_packed_arrays(driver_connection: Any) -> None:
    """Let a psycopg connection send :class:`PackedArray` parameters (given as ``%b``)."""
    adapters = driver_connection.adapters
    for packed_type, dumper in _TYPES.values():
        adapters.register_dumper(packed_type, dumper)
