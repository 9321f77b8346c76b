"""The resident index answers as the database does, and learns what other processes change.

Each process searches the catalogue in memory (:mod:`library_loans.search.resident`); the
database engines (SQLite FTS5, PostgreSQL tsvector) answer while it is built, and whenever
a session has uncommitted changes. Here both answer the same searches and must agree on
every record, score, position and facet; then the index is shown to follow changes made
past this process's caches (as another gunicorn worker or the Celery worker makes them),
within the second its probes wait.
"""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from library_loans.models import Branch, Item
from library_loans.search import resident
from library_loans.search.query import SearchPage, search_records
from services import readcache
from services.tenancy.models import Municipality
from tests.library_loans import test_search_engine as engine_tests
from tests.library_loans.judged_queries import JUDGED_QUERIES
from tests.library_loans.test_search_engine import add_copy, add_record, indexed

judged = engine_tests.judged
two_libraries = engine_tests.two_libraries

SEARCHES = [
    *({"q": judgment["query"]} for judgment in JUDGED_QUERIES),
    {"q": "bok", "limit": 3},
    {"q": "bok", "limit": 3, "offset": 3},
    {"q": "bok", "offset": 500},
    {"q": "Lind*"},
    {"q": "hem", "media_type": "book"},
    {"q": "hem", "language": "eng"},
    {"q": "bröder", "audience": "adult"},
    {"title": "bok"},
    {"author": "lind"},
    {"subject": "kokkonst"},
    {"isbn": "9789129688313"},
    {"q": "bok hem"},
    {"q": "nothingsuchanywhere"},
    {"media_type": "book"},
    {"talking_book": False, "limit": 50},
]


def answer(page: SearchPage) -> tuple[object, ...]:
    """Everything a search answers that the engine decides."""
    return (page.total, [(found.record.id, found.score) for found in page.results],
            page.facets, page.dropped)


@pytest.mark.parametrize("search", SEARCHES, ids=lambda search: repr(search))
def test_the_resident_index_answers_as_the_database_does(
        db: Session, judged: dict[uuid.UUID, int], search: dict[str, object]) -> None:
    in_memory = search_records(db, **search)  # type: ignore[arg-type]
    assert resident.index_for(db) is not None, "the resident index did not answer"

    assert answer(in_memory) == answer(search_records(db, **search, resident=False))  # type: ignore[arg-type]


def test_where_copies_are_agrees_with_the_database(
        db: Session, two_libraries: dict[str, Branch]) -> None:
    branches = two_libraries
    records = []
    for n in range(12):
        record = add_record(db, f"Hem nummer {n}", media_type="book" if n % 3 else "film")
        add_copy(db, record, branches["stads"], status="available" if n % 2 else "on_loan")
        if n % 4 == 0:
            add_copy(db, record, branches["vannas"])
        records.append(record)
    indexed(db, records)

    for search in ({"q": "hem"}, {"q": "hem", "available_in": "umea"},
                   {"q": "hem", "available_in": "vannas", "media_type": "book"},
                   {"available_in": "vannas"}, {"q": "hem", "available_in": "bjurholm"}):
        assert answer(search_records(db, **search)) == \
            answer(search_records(db, **search, resident=False)), search  # type: ignore[arg-type]


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Move this process's read caches' clock on, past every probe's second."""
    offset = [0.0]
    real = readcache._clock
    monkeypatch.setattr(readcache, "_clock", lambda: real() + offset[0])

    def advance() -> None:
        offset[0] += resident.PROBE_SECONDS + 1

    return advance


def _vannas_only(db: Session, branches: dict[str, Branch]) -> tuple[uuid.UUID, uuid.UUID]:
    """A record with one copy, on the shelf in Vännäs, indexed: the copy's owner and id."""
    record = add_record(db, "Hemligheten")
    copy = add_copy(db, record, branches["vannas"])
    owner, copy_id = copy.municipality_id, copy.id
    indexed(db, [record])
    return owner, copy_id


def test_copies_another_process_changes_are_seen_after_the_probe_waits(
        db: Session, owner_engine, two_libraries: dict[str, Branch], later) -> None:  # type: ignore[no-untyped-def]
    _owner, copy_id = _vannas_only(db, two_libraries)
    assert search_records(db, "hemligheten", available_in="vannas").total == 1
    db.rollback()

    # Another process lends the copy: its commit clears none of this process's caches.
    with owner_engine.begin() as connection:
        connection.execute(text("UPDATE library_items SET status = 'on_loan' WHERE id = :id"),
                           {"id": copy_id if owner_engine.dialect.name == "postgresql"
                            else copy_id.hex})
        table = "library_record_search_keys" if owner_engine.dialect.name == "sqlite" \
            else "library_record_search"
        connection.execute(text(f"UPDATE {table} SET places = ''"))

    assert search_records(db, "hemligheten", available_in="vannas").total == 1, \
        "the probe looked again before its second was up"
    db.rollback()
    later()
    page = search_records(db, "hemligheten")
    assert page.facets.available_in == {}
    assert search_records(db, "hemligheten", available_in="vannas").total == 0
    assert resident.index_for(db) is not None


def test_another_process_raising_the_revision_makes_a_new_index(
        db: Session, owner_engine, two_libraries: dict[str, Branch], later) -> None:  # type: ignore[no-untyped-def]
    _vannas_only(db, two_libraries)
    search_records(db, "hemligheten")
    first = resident.index_for(db)
    db.rollback()
    with owner_engine.begin() as connection:
        connection.execute(text("UPDATE library_catalogue_revision SET revision = revision + 1"))

    assert resident.index_for(db) is first
    db.rollback()
    later()
    rebuilt = resident.index_for(db)
    assert rebuilt is not None and rebuilt is not first
    assert rebuilt.revision[1] == first.revision[1] + 1  # type: ignore[union-attr]


def test_a_session_with_uncommitted_changes_to_copies_is_answered_by_the_database(
        migrated, municipalities: dict[str, Municipality], two_libraries: dict[str, Branch],
        db: Session) -> None:  # type: ignore[no-untyped-def]
    owner, copy_id = _vannas_only(db, two_libraries)
    assert search_records(db, "hemligheten", available_in="vannas").total == 1
    db.rollback()
    from services.settings_ext import session_factory_for
    from services.tenancy import TenantScope, tenant_scope

    with session_factory_for(migrated)() as session:
        with tenant_scope(TenantScope.of([owner])):
            session.scalar(select(Item).where(Item.id == copy_id)).status = "on_loan"
            session.flush()
        assert resident.index_for(session) is None
        assert search_records(session, "hemligheten", available_in="vannas").total == 0
        session.rollback()
    # Nothing was committed: the resident index still answers, and the copy is still in.
    assert search_records(db, "hemligheten", available_in="vannas").total == 1
    assert resident.index_for(db) is not None


def test_a_large_catalogue_is_built_beside_the_searches(
        db: Session, judged: dict[uuid.UUID, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resident, "SYNC_LIMIT", 0)
    resident.forget_all()
    expected = answer(search_records(db, "bok", resident=False))

    # The first search starts the build and is answered by the database meanwhile.
    assert answer(search_records(db, "bok")) == expected
    deadline = time.monotonic() + 30
    while resident.index_for(db) is None:
        assert time.monotonic() < deadline, "the resident index was never built"
        db.rollback()
        time.sleep(0.05)
    assert answer(search_records(db, "bok")) == expected


def test_a_change_still_uncommitted_when_the_probe_looks_is_read_after_its_commit(
        db: Session, owner_engine, two_libraries: dict[str, Branch], later) -> None:  # type: ignore[no-untyped-def]
    _owner, copy_id = _vannas_only(db, two_libraries)
    assert search_records(db, "hemligheten", available_in="vannas").total == 1
    db.rollback()
    sqlite = owner_engine.dialect.name == "sqlite"
    table = "library_record_search_keys" if sqlite else "library_record_search"

    with owner_engine.connect() as other:
        lending = other.begin()
        other.execute(text("UPDATE library_items SET status = 'on_loan' WHERE id = :id"),
                      {"id": copy_id.hex if sqlite else copy_id})
        other.execute(text(f"UPDATE {table} SET places = ''"))
        if not sqlite:
            # A transaction that began later ends first: the probe's snapshot then ends
            # past the lending one, which it lists as still running.
            with owner_engine.begin() as third:
                third.execute(text("SELECT pg_current_xact_id()"))
        # The probe looks while the lending transaction runs: it sees the old places, and
        # must look at that transaction's rows again once it has committed.
        later()
        assert search_records(db, "hemligheten", available_in="vannas").total == 1
        db.rollback()
        lending.commit()

    later()
    assert search_records(db, "hemligheten", available_in="vannas").total == 0
