"""The catalogue search on the database: the judged query set, ranking, facets, copies.

Runs on the suite's database: SQLite (FTS5) by default, PostgreSQL (tsvector) when
SAMVERKAN_TEST_DATABASE_URL names one. Records are stored as the importer stores them (with
their MARC 21), indexed with ``reindex`` and found with ``search_records``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from types import SimpleNamespace

import pymarc
import pytest
from pymarc import Field, Indicators, Subfield
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from stdnum import isbn as stdnum_isbn

from library_loans.models import BibRecord, Branch, Item, RecordIsbn
from library_loans.search.index import TOKEN_COLUMNS, analysed_columns, drop, reindex
from library_loans.search.query import Availability, SearchPage, availability_of, search_records
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from tests.library_loans.judged_queries import JUDGED_QUERIES, RECORDS, Judgment


def add_record(session: Session, title: str, *, author: str | None = None,
               subjects: Iterable[str] = (), notes: Iterable[str] = (), isbn: str = "",
               media_type: str = "book", language: str = "swe", audience: str = "adult",
               talking_book: bool = False) -> BibRecord:
    """A catalogue record with its MARC 21 and ISBN, as an import leaves it (not indexed)."""
    marc = pymarc.Record(leader="00000nam a2200000 i 4500")
    marc.add_field(Field("008", data=f"{'':35}{language}  "))
    if isbn:
        marc.add_field(_field("020", "a", isbn))
    if author:
        marc.add_field(_field("100", "a", author))
    marc.add_field(_field("245", "a", title))
    for note in notes:
        marc.add_field(_field("500", "a", note))
    for subject in subjects:
        marc.add_field(_field("650", "a", subject))
    record = BibRecord(title=title, author=author, subjects=list(subjects), notes=list(notes),
                       media_type=media_type, language=language, audience=audience,
                       talking_book=talking_book, marc=marc.as_marc())
    session.add(record)
    session.flush()
    if isbn:
        number = stdnum_isbn.compact(stdnum_isbn.to_isbn13(isbn))
        session.add(RecordIsbn(isbn=number, record_id=record.id))
        session.flush()
    return record


def indexed(session: Session, records: Iterable[BibRecord]) -> list[uuid.UUID]:
    """Index the records and commit, as the importer does; their ids."""
    ids = [record.id for record in records]
    assert reindex(session, ids) == len(ids)
    session.commit()
    return ids


def add_branch(session: Session, municipality: Municipality, name: str) -> Branch:
    """A library branch of ``municipality``."""
    with tenant_scope(TenantScope.of([municipality.id])):
        branch = Branch(municipality_id=municipality.id, code=name.upper()[:30], name=name)
        session.add(branch)
        session.flush()
    return branch


def add_copy(session: Session, record: BibRecord, home: Branch, *, status: str = "available",
             located_at: Branch | None = None) -> Item:
    """A copy of ``record`` owned by ``home``'s municipality, now at ``located_at`` (or home)."""
    where = located_at or home
    with tenant_scope(TenantScope.of([home.municipality_id])):
        copy = Item(municipality_id=home.municipality_id, record_id=record.id,
                    barcode=uuid.uuid4().hex[:12], home_branch_id=home.id,
                    location_municipality_id=where.municipality_id,
                    location_branch_id=where.id, status=status, media_type=record.media_type)
        session.add(copy)
        session.flush()
    return copy


def titles(page: SearchPage) -> list[str]:
    """The titles of a page's results, in order."""
    return [found.record.title for found in page.results]


def _field(tag: str, code: str, value: str) -> Field:
    return Field(tag, Indicators(" ", " "), [Subfield(code, value)])


@pytest.fixture
def judged(db: Session) -> dict[uuid.UUID, int]:
    """The judged query set's records, indexed: record id → the judged set's number."""
    numbers = {}
    for judged_record in RECORDS:
        record = add_record(db, judged_record["title"], author=judged_record["author"],
                            subjects=judged_record["subjects"],
                            notes=[judged_record["notes"]] if judged_record["notes"] else [],
                            isbn=judged_record["isbn"])
        numbers[record.id] = judged_record["id"]
    indexed(db, db.scalars(select(BibRecord)))
    return numbers


def found_numbers(db: Session, judged: dict[uuid.UUID, int], query: str = "", **filters: str
                  ) -> list[int]:
    """The judged set's numbers of what a search finds, best first."""
    page = search_records(db, query, limit=100, **filters)
    return [judged[found.record.id] for found in page.results]


@pytest.mark.parametrize("judgment", JUDGED_QUERIES, ids=lambda judgment: judgment["query"])
def test_the_database_gives_a_patron_what_the_judged_set_says(
        db: Session, judged: dict[uuid.UUID, int], judgment: Judgment) -> None:
    results = found_numbers(db, judged, judgment["query"])

    assert set(judgment["must_include"]) <= set(results), judgment["why"]
    assert not set(judgment["must_exclude"]) & set(results), judgment["why"]
    if judgment["first"] is not None:
        assert results[0] == judgment["first"], judgment["why"]


def test_exact_ranks_above_accented_above_stemmed_above_compound_parts(db: Session) -> None:
    indexed(db, [add_record(db, title) for title in ("Kokbok", "Boken", "Bók", "Bok", "Bok")])

    page = search_records(db, "bok")

    assert titles(page) == ["Bok", "Bok", "Bók", "Boken", "Kokbok"]
    assert [found.score for found in page.results] == [10, 10, 4, 2, 1]
    assert page.results[0].record.id < page.results[1].record.id


def test_a_match_in_the_title_ranks_above_the_same_match_in_a_subject(db: Session) -> None:
    indexed(db, [add_record(db, "Fåglar i Norrland", subjects=["Skogar"]),
                 add_record(db, "Skogar i Norrland", subjects=["Fåglar"])])

    assert titles(search_records(db, "skogar")) == ["Skogar i Norrland", "Fåglar i Norrland"]


def test_a_prefix_is_expanded_as_typed_and_never_stemmed_first(
        db: Session, judged: dict[uuid.UUID, int]) -> None:
    assert set(found_numbers(db, judged, "mars*")) == {10, 11, 12}
    assert set(found_numbers(db, judged, "Mars* planeten")) == {10}


def test_each_search_field_looks_only_in_its_own_fields(
        db: Session, judged: dict[uuid.UUID, int]) -> None:
    assert found_numbers(db, judged, author="Lind") == [22]
    assert set(found_numbers(db, judged, title="fåglar")) == {22}
    assert set(found_numbers(db, judged, subject="fantasy")) == {2, 35, 40}
    assert found_numbers(db, judged, isbn="91-7263-601-7") == [1]
    assert found_numbers(db, judged, "Lindgren", title="bröder") == [2]
    assert found_numbers(db, judged, title="Lindgren") == []


def test_stop_words_left_out_of_the_query_are_reported(
        db: Session, judged: dict[uuid.UUID, int]) -> None:
    page = search_records(db, "Är det här kärlek?")

    assert page.dropped == ("är", "det", "här")
    assert judged[page.results[0].record.id] == 32


def test_words_past_the_tenth_are_left_out_and_reported(db: Session) -> None:
    words = "alfa beta gamma delta epsilon zeta eta theta iota kappa"
    indexed(db, [add_record(db, words.title())])

    page = search_records(db, f"{words} lambda my")

    assert titles(page) == [words.title()]
    assert page.dropped == ("lambda", "my")


def test_a_one_letter_prefix_is_left_out_and_reported(db: Session) -> None:
    indexed(db, [add_record(db, "Mars"), add_record(db, "Marmelad")])

    page = search_records(db, "m* mars")

    assert titles(page) == ["Mars"]
    assert page.dropped == ("m",)
    assert titles(search_records(db, "ma*")) == ["Marmelad", "Mars"]


def test_words_the_engines_treat_as_operators_are_searched_as_words(db: Session) -> None:
    indexed(db, [add_record(db, "Not and or near"), add_record(db, "Mars")])

    assert titles(search_records(db, 'NOT "and" OR near*')) == ["Not and or near"]
    assert search_records(db, "NEAR(mars)").total == 0


def test_pages_follow_each_other_without_gaps_or_repeats(
        db: Session, judged: dict[uuid.UUID, int]) -> None:
    everything = found_numbers(db, judged, "bok")
    pages = [search_records(db, "bok", limit=2, offset=offset)
             for offset in range(0, len(everything) + 2, 2)]

    assert len(everything) == 7
    assert all(page.total == 7 for page in pages)
    assert [judged[found.record.id] for page in pages for found in page.results] == everything
    assert pages[-1].results == []


def test_facets_count_every_match_not_only_the_page(db: Session) -> None:
    indexed(db, [
        add_record(db, "Fjällen i norr"),
        add_record(db, "Fjällvandring", audience="youth"),
        add_record(db, "Fjällens djur", language="eng", audience="children"),
        add_record(db, "Fjällfilmen", media_type="film"),
        add_record(db, "Havet"),
    ])

    page = search_records(db, "fjäll*", limit=1)

    assert page.total == 4
    assert len(page.results) == 1
    assert page.facets.media_type == {"book": 3, "film": 1}
    assert list(page.facets.language.items()) == [("swe", 3), ("eng", 1)]
    assert page.facets.audience == {"adult": 2, "youth": 1, "children": 1}


def test_filters_narrow_the_matches_by_media_type_language_audience_and_talking_book(
        db: Session) -> None:
    indexed(db, [
        add_record(db, "Skogens djur"),
        add_record(db, "Skogens djur", media_type="talking_book", talking_book=True),
        add_record(db, "Animals of the forest", subjects=["Skogens djur"], language="eng"),
        add_record(db, "Djur i skogen", audience="children"),
    ])

    assert search_records(db, "djur").total == 4
    assert search_records(db, "djur", media_type="talking_book").total == 1
    assert titles(search_records(db, "djur", language="eng")) == ["Animals of the forest"]
    assert titles(search_records(db, "djur", audience="children")) == ["Djur i skogen"]
    assert search_records(db, "djur", talking_book=True).results[0].record.talking_book
    assert search_records(db, "djur", talking_book=False).total == 3
    assert search_records(db, "djur", language="fin").total == 0


def test_talking_books_can_be_browsed_without_words_in_swedish_title_order(
        db: Session) -> None:
    for title in ("Ödets väg", "Zebran", "Åsa-Nisse", "Apan", "Ärlighet"):
        add_record(db, title, media_type="talking_book", talking_book=True)
    add_record(db, "Bananen")
    indexed(db, db.scalars(select(BibRecord)))

    page = search_records(db, talking_book=True)

    assert titles(page) == ["Apan", "Zebran", "Åsa-Nisse", "Ärlighet", "Ödets väg"]
    assert page.total == 5
    assert page.facets.media_type == {"talking_book": 5}


def test_nothing_to_search_for_finds_nothing(db: Session) -> None:
    indexed(db, [add_record(db, "Bok")])

    page = search_records(db, "  ?! ")

    assert (page.total, page.results) == (0, [])


@pytest.fixture
def two_libraries(db: Session, municipalities: dict[str, Municipality]) -> dict[str, Branch]:
    """Branches in Umeå (two) and Vännäs, and one in Örnsköldsvik, outside the library service."""
    return {
        "stads": add_branch(db, municipalities["umea"], "Umeå stadsbibliotek"),
        "holmsund": add_branch(db, municipalities["umea"], "Holmsunds bibliotek"),
        "vannas": add_branch(db, municipalities["vannas"], "Vännäs bibliotek"),
        "ornskoldsvik": add_branch(db, municipalities["ornskoldsvik"], "Örnsköldsviks bibliotek"),
    }


def test_copies_are_counted_per_branch_where_they_are_now_in_every_library_municipality(
        db: Session, two_libraries: dict[str, Branch]) -> None:
    branches = two_libraries
    record = add_record(db, "Vägen hem")
    for status in ("available", "available", "on_loan", "withdrawn"):
        add_copy(db, record, branches["stads"], status=status)
    add_copy(db, record, branches["holmsund"], status="on_loan")
    add_copy(db, record, branches["stads"], located_at=branches["vannas"])
    add_copy(db, record, branches["vannas"], status="missing")
    add_copy(db, record, branches["ornskoldsvik"])
    indexed(db, [record])

    expected = [Availability("umea", "Holmsunds bibliotek", 0, 1),
                Availability("umea", "Umeå stadsbibliotek", 2, 3),
                Availability("vannas", "Vännäs bibliotek", 1, 2)]
    assert availability_of(db, [record.id]) == {record.id: expected}
    assert search_records(db, "hem").results[0].availability == expected


def test_where_a_copy_is_in_now_is_a_facet_and_a_filter(
        db: Session, two_libraries: dict[str, Branch]) -> None:
    branches = two_libraries
    in_both = add_record(db, "Hemmet vid sjön")
    add_copy(db, in_both, branches["stads"])
    add_copy(db, in_both, branches["vannas"])
    add_copy(db, in_both, branches["vannas"])
    lent_in_umea = add_record(db, "Hem till byn")
    add_copy(db, lent_in_umea, branches["holmsund"], status="on_loan")
    add_copy(db, lent_in_umea, branches["holmsund"], located_at=branches["vannas"])
    only_elsewhere = add_record(db, "Hemligt hem")
    add_copy(db, only_elsewhere, branches["ornskoldsvik"])
    indexed(db, [in_both, lent_in_umea, only_elsewhere])

    page = search_records(db, "hem")

    assert page.total == 3
    assert page.facets.available_in == {"vannas": 2, "umea": 1}
    assert titles(search_records(db, "hem", available_in="umea")) == ["Hemmet vid sjön"]
    assert search_records(db, "hem", available_in="vannas").total == 2
    assert search_records(db, "hem", available_in="ornskoldsvik").total == 0
    browsed = search_records(db, available_in="vannas")
    assert titles(browsed) == ["Hem till byn", "Hemmet vid sjön"]


def test_reindexing_changes_nothing_until_the_record_changes(
        db: Session, judged: dict[uuid.UUID, int]) -> None:
    before = found_numbers(db, judged, "bok")
    ids = list(judged)
    assert reindex(db, ids) == len(ids)
    db.commit()

    assert found_numbers(db, judged, "bok") == before
    assert db.scalar(select(func.count()).select_from(text("library_record_search"))) == len(ids)

    record = db.scalar(select(BibRecord).where(BibRecord.title == "Bok och bibliotek"))
    record.title = "Sagor och bibliotek"
    reindex(db, [record.id])
    db.commit()
    assert 7 not in found_numbers(db, judged, "bok")
    assert found_numbers(db, judged, "sagor") == [7]


def test_a_dropped_record_is_not_found_until_it_is_indexed_again(
        db: Session, judged: dict[uuid.UUID, int]) -> None:
    hidden = next(record_id for record_id, number in judged.items() if number == 12)
    drop(db, [hidden])
    db.commit()

    assert found_numbers(db, judged, "marsvin") == []

    reindex(db, [hidden])
    db.commit()
    assert found_numbers(db, judged, "marsvin") == [12]


@pytest.mark.parametrize("title, control_number", [
    ("Bröderna Lejonhjärta", "LIBRIS-1"), ("Kokbok för nybörjare", None), ("Män", "9789129657395"),
])
def test_the_analysis_for_postgresql_gives_the_coded_tokens_the_code_and_sort_key_in_full(
        title: str, control_number: str | None) -> None:
    """PostgreSQL writes only those: the other token columns are left empty, not different."""
    record = SimpleNamespace(
        title=title, series=("Serien om bröderna",), author="Lindgren, Astrid",
        contributors=("Wikland, Ilon",), subjects=("Sagor",), classification=("Hc",),
        notes=("DAISY",), control_number=control_number, media_type="book",
        audience="children", talking_book=False, language="swe")
    full = analysed_columns(record)
    postgresql = analysed_columns(record, for_postgresql=True)
    code = TOKEN_COLUMNS.index("code_exact")

    assert len(postgresql) == len(full)
    assert postgresql[code] == full[code]
    assert postgresql[-2:] == full[-2:] and "a_bröderna" in full[-1].split()
    assert set(postgresql[:-2]) - {""} <= {full[code]}
