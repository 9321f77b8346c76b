"""The judged query set, run against an in-memory reference matcher built on the analysis.

The matcher does what the database engines will do with the analysed columns (see the
module docstring of ``library_loans.search.analysis``): per term the best of exact 10,
folded 4, stems 2, parts 1; every term must match; the sum ranks, ties broken by id.
"""

from __future__ import annotations

import pytest

from library_loans.search.analysis import (
    AnalysedField,
    FieldKind,
    QueryTerm,
    analyse_field,
    parse_query,
)
from tests.library_loans.judged_queries import JUDGED_QUERIES, RECORDS, Judgment, Record

FIELD_KINDS: dict[str, FieldKind] = {
    "title": "text",
    "author": "name",
    "subjects": "text",
    "notes": "text",
    "isbn": "code",
}
EXACT, FOLDED, STEMS, PARTS = 10, 4, 2, 1

IndexedRecord = list[tuple[FieldKind, AnalysedField]]


def index(record: Record) -> IndexedRecord:
    """Every searchable field of a record, analysed as its kind."""
    values = {**record, "subjects": " ; ".join(record["subjects"])}
    return [(kind, analyse_field(str(values[name]), kind)) for name, kind in FIELD_KINDS.items()]


def field_score(term: QueryTerm, kind: FieldKind, field: AnalysedField) -> int:
    """The weight of the best column of one field that the term matches (0 for none)."""
    if term.prefix:
        if any(token.startswith(term.exact) for token in field.exact):
            return EXACT
        folded = field.folded + field.exact
        return FOLDED if any(token.startswith(term.folded) for token in folded) else 0
    base = term.stem or term.exact
    if term.exact in field.exact:
        return EXACT
    if term.folded in field.folded or term.folded in field.exact:
        return FOLDED
    if base in field.stems or (kind == "text" and base in field.exact):
        return STEMS
    return PARTS if base in field.parts else 0


def search(query: str, catalogue: dict[int, IndexedRecord]) -> list[int]:
    """Ids of the records matching every term, best first, ties by id."""
    terms = parse_query(query).terms
    scored = []
    for record_id, fields in catalogue.items():
        scores = [max(field_score(term, kind, field) for kind, field in fields) for term in terms]
        if terms and all(scores):
            scored.append((-sum(scores), record_id))
    return [record_id for _score, record_id in sorted(scored)]


@pytest.fixture(scope="module")
def catalogue() -> dict[int, IndexedRecord]:
    return {record["id"]: index(record) for record in RECORDS}


@pytest.mark.parametrize("judgment", JUDGED_QUERIES, ids=lambda judgment: judgment["query"])
def test_judged_query_gets_what_a_patron_must_get(
    judgment: Judgment, catalogue: dict[int, IndexedRecord]
) -> None:
    results = search(judgment["query"], catalogue)

    assert set(judgment["must_include"]) <= set(results), judgment["why"]
    assert not set(judgment["must_exclude"]) & set(results), judgment["why"]
    if judgment["first"] is not None:
        assert results[0] == judgment["first"], judgment["why"]


def test_every_judgment_names_records_that_exist_and_says_something() -> None:
    ids = {record["id"] for record in RECORDS}
    assert len(ids) == len(RECORDS)
    for judgment in JUDGED_QUERIES:
        named = {*judgment["must_include"], *judgment["must_exclude"], judgment["first"]}
        assert named - {None} <= ids, judgment["query"]
        assert named != {None} and judgment["why"], judgment["query"]


def test_the_matcher_ranks_exact_over_folded_over_stemmed_over_parts() -> None:
    catalogue = {
        1: index(_titled(1, "Kokbok")),
        2: index(_titled(2, "Boken")),
        3: index(_titled(3, "Bók")),
        4: index(_titled(4, "Bok")),
        5: index(_titled(5, "Bok")),
    }

    assert search("bok", catalogue) == [4, 5, 3, 2, 1]


def test_the_matcher_requires_every_term() -> None:
    catalogue = {1: index(_titled(1, "Bröderna Lejonhjärta")), 2: index(_titled(2, "Bröderna"))}

    assert search("bröder lejonhjärta", catalogue) == [1]
    assert search("", catalogue) == []


def _titled(record_id: int, title: str) -> Record:
    return Record(id=record_id, title=title, author="", subjects=[], notes="", isbn="")
