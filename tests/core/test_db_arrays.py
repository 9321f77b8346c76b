"""Columns packed as PostgreSQL binary arrays arrive as the values they were."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, LargeBinary, String, Text, Uuid

from services.db_arrays import SPLIT_TEXT, accept_packed_arrays, joined_text, kind_of, packed


def test_each_column_type_has_its_kind_and_others_are_left_to_psycopg():
    assert [kind_of(type_) for type_ in (Uuid(), String(40), Text(), JSON(), Boolean(),
                                         Integer(), BigInteger(), LargeBinary())] == [
        "uuid", "text", "text", "json", "bool", "int4", "int8", "bytea"]
    assert kind_of(DateTime(timezone=True)) is None


@pytest.mark.postgres
def test_packed_arrays_round_trip_through_postgresql(owner_engine):
    ids = [uuid.uuid4(), None, uuid.uuid4()]
    texts = ["Röda rummet", "", None, "x" * 5000, "tab\tand\x1fdelimiter"]
    sent = {
        "uuid": ids, "text": texts, "json": [["Lind", "Åsa"], [], None, {"a": 1}],
        "bool": [True, False, None], "int4": [1, -2, None, 2**31 - 1],
        "int8": [2**40, -(2**62)], "bytea": [b"\x00\x1d\x1e", b"", None], "int2": [],
    }
    casts = {"uuid": "uuid[]", "text": "text[]", "json": "json[]", "bool": "boolean[]",
             "int4": "integer[]", "int8": "bigint[]", "bytea": "bytea[]", "int2": "smallint[]"}
    with owner_engine.connect() as connection:
        driver = connection.connection.driver_connection
        accept_packed_arrays(driver)
        row = connection.exec_driver_sql(
            "SELECT " + ", ".join(f"CAST(%b AS {casts[kind]})" for kind in sent),
            tuple(packed(kind, values) for kind, values in sent.items())).one()
        dimensions = connection.exec_driver_sql(
            "SELECT array_ndims(%b), cardinality(%b), array_lower(%b, 1)",
            (packed("text", texts), packed("text", texts), packed("text", texts))).one()
    assert dict(zip(sent, row, strict=True)) == sent
    assert tuple(dimensions) == (1, len(texts), 1)


def test_text_is_joined_into_one_string_only_where_it_splits_back_the_same():
    assert joined_text(["Röda rummet", "", None, "Åsa"]) == "Röda rummet\x1f\x1f\x1e\x1fÅsa"
    assert joined_text([None]) == "\x1e"
    # A value holding a separator, or a string the server would split into no values.
    for values in (["a\x1fb"], ["a", "b\x1e"], ["a\x1e", None], [""]):
        assert joined_text(values) is None, values


@pytest.mark.postgres
def test_joined_text_splits_back_into_the_values_on_postgresql(owner_engine):
    sent = ["Röda rummet", "", None, "x" * 5000, "tab\tand 'quotes'", "\\x1f as typed"]
    with owner_engine.connect() as connection:
        row = connection.exec_driver_sql(
            f"SELECT {SPLIT_TEXT.format('%s')}, {SPLIT_TEXT.format('%s')}",
            (joined_text(sent), joined_text(["only"]))).one()
    assert row == (sent, ["only"])
