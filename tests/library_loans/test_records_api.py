"""The public catalogue's records API, as a patron's browser or another library system uses it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pymarc
import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.test import Client

from library_loans.api.records import blueprint
from library_loans.models import BibRecord, Branch
from services.config import Settings
from services.factory import create_service_app
from services.tenancy.models import Municipality
from tests.library_loans.test_search_engine import add_branch, add_copy, add_record, indexed


@pytest.fixture(scope="module")
def app(migrated: Settings) -> Flask:
    """The library service with only the records API."""
    return create_service_app("library_loans", "Biblioteken", api_blueprints=[blueprint],
                              web_blueprints=[], settings=migrated)


@pytest.fixture
def anonymous(app: Flask) -> Client:
    """A client that has not logged in."""
    return Client(app)


@pytest.fixture
def shelved(db: Session, municipalities: dict[str, Municipality]) -> dict[str, BibRecord]:
    """Three indexed records; "Bröderna Lejonhjärta" has copies in Umeå and Vännäs."""
    umea: Branch = add_branch(db, municipalities["umea"], "Umeå stadsbibliotek")
    vannas: Branch = add_branch(db, municipalities["vannas"], "Vännäs bibliotek")
    records = {
        "lejon": add_record(db, "Bröderna Lejonhjärta", author="Lindgren, Astrid",
                            subjects=["Syskon"], isbn="978-91-29-65707-4"),
        "mio": add_record(db, "Mio, min Mio", author="Lindgren, Astrid",
                          notes=["Talbok (DAISY)"], media_type="talking_book",
                          talking_book=True),
        "bröd": add_record(db, "Bröd från hela världen", author="Andersson, Eva"),
    }
    add_copy(db, records["lejon"], umea)
    add_copy(db, records["lejon"], umea, status="on_loan")
    add_copy(db, records["lejon"], vannas)
    indexed(db, records.values())
    return records


def test_anyone_searches_the_catalogue_without_logging_in(
        anonymous: Client, shelved: dict[str, BibRecord]) -> None:
    reply = anonymous.get("/api/records?q=lindgren")

    assert reply.status_code == 200, reply.json
    body = reply.json
    assert set(body) == {"results", "total", "facets"}
    assert body["total"] == 2
    lejon = next(r for r in body["results"] if r["title"] == "Bröderna Lejonhjärta")
    assert lejon["id"] == str(shelved["lejon"].id)
    assert lejon["author"] == "Lindgren, Astrid"
    assert lejon["isbn"] == "9789129657074"
    assert lejon["talking_book"] is False
    assert lejon["availability"] == [
        {"municipality": "umea", "branch": "Umeå stadsbibliotek", "available": 1, "total": 2},
        {"municipality": "vannas", "branch": "Vännäs bibliotek", "available": 1, "total": 1},
    ]
    assert body["facets"]["media_type"] == {"book": 1, "talking_book": 1}
    assert body["facets"]["available_in"] == {"umea": 1, "vannas": 1}


def test_results_come_best_first_with_their_scores(
        anonymous: Client, shelved: dict[str, BibRecord]) -> None:
    results = anonymous.get("/api/records?q=bröder").json["results"]

    assert [r["title"] for r in results] == ["Bröderna Lejonhjärta"]
    assert results[0]["score"] > 0
    ranked = anonymous.get("/api/records?q=bröd").json["results"]
    assert [r["title"] for r in ranked] == ["Bröd från hela världen"]


def test_talking_books_are_listed_with_filters_alone(
        anonymous: Client, shelved: dict[str, BibRecord]) -> None:
    body = anonymous.get("/api/records?talking_book=true").json

    assert [(r["title"], r["talking_book"]) for r in body["results"]] == [
        ("Mio, min Mio", True)]
    only_in_vannas = anonymous.get("/api/records?q=lindgren&available_in=vannas").json
    assert [r["title"] for r in only_in_vannas["results"]] == ["Bröderna Lejonhjärta"]


def test_one_record_is_read_with_its_copies(
        anonymous: Client, shelved: dict[str, BibRecord]) -> None:
    reply = anonymous.get(f"/api/records/{shelved['lejon'].id}")

    assert reply.status_code == 200
    assert reply.json["title"] == "Bröderna Lejonhjärta"
    assert reply.json["isbns"] == ["9789129657074"]
    assert [copies["available"] for copies in reply.json["availability"]] == [1, 1]


def test_a_record_is_exported_as_marcxml(
        anonymous: Client, shelved: dict[str, BibRecord], tmp_path: Path) -> None:
    reply = anonymous.get(f"/api/records/{shelved['lejon'].id}/marcxml")

    assert reply.status_code == 200
    assert reply.content_type == "application/marcxml+xml"
    exported = tmp_path / "record.xml"
    exported.write_bytes(reply.get_data())
    [record] = pymarc.parse_xml_to_array(str(exported))
    assert record["245"]["a"] == "Bröderna Lejonhjärta"
    assert record["100"]["a"] == "Lindgren, Astrid"


@pytest.mark.parametrize("path", [
    f"/api/records/{uuid.UUID(int=1)}", f"/api/records/{uuid.UUID(int=1)}/marcxml",
    "/api/records/not-a-record", "/api/records/12345/marcxml",
])
def test_an_unknown_or_malformed_record_id_is_a_404(
        anonymous: Client, shelved: dict[str, BibRecord], path: str) -> None:
    reply = anonymous.get(path)

    assert reply.status_code == 404
    assert reply.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(("query", "field"), [
    ("media_type=cd", "media_type"), ("audience=pensioners", "audience"),
    ("language=svenska", "language"), ("talking_book=kanske", "talking_book"),
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=many", "limit"),
    ("offset=-1", "offset"), ("q=" + "x" * 201, "q"),
    ("available_in=atlantis", "available_in"), ("available_in=ornskoldsvik", "available_in"),
])
def test_bad_search_input_is_a_422_naming_the_field(
        anonymous: Client, shelved: dict[str, BibRecord], query: str, field: str) -> None:
    reply = anonymous.get(f"/api/records?{query}")

    assert reply.status_code == 422
    assert field in reply.json["error"]["fields"]["query"]
