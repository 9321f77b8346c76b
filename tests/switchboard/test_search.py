"""The operator's one search box: what a caller says, and the right person first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from services import clock
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope
from switchboard.operations.directory import (
    HoursInput,
    NumberInput,
    create_contact,
    create_unit,
    mark_left,
    set_keyword,
    update_contact,
)
from switchboard.operations.presence import set_absence
from switchboard.search import search, search_json

# A Wednesday in November, 10:00 in Sweden.
WEDNESDAY_MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def directory(db, municipalities):
    """A small directory in Umeå and Vindeln, committed."""
    made = {}
    umea, vindeln = municipalities["umea"], municipalities["vindeln"]
    with tenant_scope(TenantScope.of([umea.id], home=umea.id)):
        school = create_unit(db, name="Hörnefors skola", level="enhet",
                             opening_hours=[HoursInput(d, time(7, 30), time(16)) for d in range(5)])
        permits = create_unit(db, name="Bygglov", level="avdelning",
                              numbers=[NumberInput("switchboard", "090-16 10 00")])
        made["asa_lind"] = create_contact(
            db, given_name="Åsa", family_name="Lindqvist", title="Lärare", unit_id=school.id,
            numbers=[NumberInput("work", "090-16 12 34", extension="1234"),
                     NumberInput("mobile", "070-123 45 67")])
        made["asa_berg_umea"] = create_contact(db, given_name="Asa", family_name="Berglund",
                                               numbers=[NumberInput("work", "090-16 55 55")])
        made["karlsson"] = create_contact(db, given_name="Erik", family_name="Karlsson",
                                          numbers=[NumberInput("work", "090-16 20 00")])
        made["carlsson"] = create_contact(db, given_name="Eva", family_name="Carlsson",
                                          numbers=[NumberInput("work", "090-16 20 01")])
        made["pettersson"] = create_contact(db, given_name="Olle", family_name="Pettersson",
                                            numbers=[NumberInput("work", "090-16 30 00")])
        made["maggan"] = create_contact(db, given_name="Margareta", family_name="Öberg",
                                        nicknames=["Maggan"],
                                        numbers=[NumberInput("work", "090-16 40 00")])
        made["kundtjanst"] = create_contact(db, kind="function", name="Kundtjänst bygg",
                                            unit_id=permits.id,
                                            numbers=[NumberInput("work", "090-16 11 00")])
        set_keyword(db, "bygglov", synonyms=["bygganmälan", "rivningslov"],
                    contact_id=made["kundtjanst"].id)
        set_absence(db, made["karlsson"], reason="Semester",
                    starts_at=WEDNESDAY_MORNING - timedelta(days=2),
                    returns_at=WEDNESDAY_MORNING + timedelta(days=5), source="calendar",
                    referral_contact_id=made["carlsson"].id)
        made["gone"] = create_contact(db, given_name="Gunnar", family_name="Gammal",
                                      numbers=[NumberInput("work", "090-16 50 00")])
        mark_left(db, made["gone"], on=WEDNESDAY_MORNING.date() - timedelta(days=30),
                  successor_id=made["pettersson"].id)
        made["school"], made["permits"] = school, permits
    with tenant_scope(TenantScope.of([vindeln.id], home=vindeln.id)):
        made["anna_vindeln"] = create_contact(db, given_name="Anna", family_name="Nilsson",
                                              numbers=[NumberInput("work", "0933-140 00")])
        made["asa_vindeln"] = create_contact(db, given_name="Asa", family_name="Berg")
    with tenant_scope(TenantScope.of([umea.id], home=umea.id)):
        made["anna_umea"] = create_contact(db, given_name="Anna", family_name="Andersson")
        made["vincent"] = create_contact(db, given_name="Vincent", family_name="Ek")
    db.commit()
    return made


def _names(results):
    return [r["name"] for r in results]


@pytest.fixture
def find(migrated, municipalities):
    """Search as an operator in Umeå and Vindeln would: ``find(query, **options)``."""
    sessions = session_factory_for(migrated)
    ids = [municipalities[slug].id for slug in ("umea", "vindeln")]

    def run(query, *, at=WEDNESDAY_MORNING, **options):
        with tenant_scope(TenantScope.of(ids, home=ids[0])), sessions() as session:
            return search(session, query, at=at, **options)

    return run


def test_asa_finds_both_spellings_and_asa_with_a_ring_ranks_first(directory, find):
    folded = _names(find("asa"))
    assert {"Åsa Lindqvist", "Asa Berglund", "Asa Berg"} <= set(folded)
    assert folded.index("Asa Berglund") < folded.index("Åsa Lindqvist")
    assert _names(find("Åsa"))[0] == "Åsa Lindqvist"


def test_prefixes_and_several_words_narrow_to_one_person(directory, find):
    assert _names(find("ann vind")) == ["Anna Nilsson"]
    assert _names(find("åsa hörne")) == ["Åsa Lindqvist"]
    assert "Anna Andersson" in _names(find("ann"))


def test_every_word_must_match_the_same_entry(directory, find):
    # "asa" matches both; each surname matches only one of them.
    assert find("asa lindqvist berglund") == []
    assert find("asa l b") == []  # "l" fits only Åsa Lindqvist, "b" only Asa Berglund
    assert _names(find("asa lindqvist lärare")) == ["Åsa Lindqvist"]


def test_swedish_spellings_and_one_typo_find_the_name(directory, find):
    karlssons = _names(find("Carlsson"))
    assert karlssons[0] == "Eva Carlsson"
    assert "Erik Karlsson" in karlssons
    assert "Olle Pettersson" in _names(find("Petterson"))
    assert "Åsa Lindqvist" in _names(find("Lindkvist"))
    assert "Åsa Lindqvist" in _names(find("Lindqvsit"))
    assert find("Lind")[0]["matched_on"] == ["name"]


def test_a_nickname_a_keyword_and_a_synonym_say_why_they_matched(directory, find):
    maggan = find("maggan")[0]
    assert (maggan["name"], maggan["matched_on"]) == ("Margareta Öberg", ["nickname"])
    for word in ("bygglov", "rivningslov", "bygganm"):
        first = find(word)[0]
        assert first["name"] in {"Kundtjänst bygg", "Bygglov"}
    keyword = next(r for r in find("rivningslov") if r["name"] == "Kundtjänst bygg")
    assert keyword["matched_on"] == ["keyword"]
    assert keyword["kind"] == "function"


@pytest.mark.parametrize("typed", ["090-16 12 34", "+4690161234", "161234", "0901612",
                                   "1234", "0046 90 16 12 34"])
def test_digits_in_any_format_find_the_number(directory, find, typed):
    first = find(typed)[0]
    assert first["name"] == "Åsa Lindqvist"
    assert first["matched_on"] == ["number"]


def test_results_carry_numbers_unit_and_availability(directory, find):
    asa = find("Åsa Lindqvist")[0]
    assert asa["kind"] == "person"
    assert asa["municipality"] == "umea"
    assert asa["unit"]["path"] == ["Hörnefors skola"]
    assert asa["numbers"][0] == {"kind": "work", "number": "090-16 12 34",
                                 "e164": "+4690161234", "extension": "1234"}
    assert asa["availability"] == {"status": "available"}
    erik = find("Erik Karlsson")[0]
    away = erik["availability"]
    assert (away["status"], away["reason"], away["source"]) == ("away", "Semester", "calendar")
    assert away["referral"]["name"] == "Eva Carlsson"
    assert away["age_minutes"] >= 0
    school = find("Hörnefors skola")[0]
    assert school["availability"] == {"status": "open", "closes_at": "16:00", "holiday": None}


def test_a_unit_is_closed_on_a_public_holiday(directory, find):
    christmas_eve = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    school = find("Hörnefors skola", at=christmas_eve)[0]
    assert school["availability"]["status"] == "closed"
    assert school["availability"]["holiday"] == "Julafton"
    assert school["availability"]["opens_at"].startswith("2026-12-28T07:30")


def test_people_who_left_stay_findable_with_their_successor_for_six_months(directory, find):
    gone = find("Gunnar Gammal")[0]
    assert gone["availability"]["status"] == "left"
    assert gone["left"]["successor"]["name"] == "Olle Pettersson"
    later = WEDNESDAY_MORNING + timedelta(days=200)
    with clock.frozen_at(later):
        # Nothing in the directory changed: the index is rebuilt because a day has passed.
        assert find("Gunnar Gammal", at=later) == []


def test_an_edit_is_found_by_the_next_search(directory, db, municipalities, find):
    assert _names(find("Olle")) == ["Olle Pettersson"]
    umea = municipalities["umea"]
    with tenant_scope(TenantScope.of([umea.id], home=umea.id)):
        olle = db.merge(directory["pettersson"])
        update_contact(db, olle, given_name="Olof")
        db.commit()
    assert _names(find("Olof")) == ["Olof Pettersson"]
    assert find("Olle") == []


def test_a_municipality_restricts_and_a_scope_never_widens(directory, municipalities, find):
    vindeln_only = find("asa", municipality_ids=[municipalities["vindeln"].id])
    assert _names(vindeln_only) == ["Asa Berg"]
    foreign = find("asa", municipality_ids=[municipalities["vannas"].id])
    assert foreign == []


def test_the_api_json_says_exactly_what_the_results_say(directory, migrated, municipalities):
    # search_json builds the API's answer from JSON kept per entry; it must not drift from
    # the results the console shows, for people who are away, have left, or are units.
    sessions = session_factory_for(migrated)
    ids = [municipalities[slug].id for slug in ("umea", "vindeln")]
    seen = set()
    with tenant_scope(TenantScope.of(ids, home=ids[0])), sessions() as session:
        for query in ("asa", "Åsa", "Gunnar Gammal", "bygglov", "ann vind", "090", "umeå"):
            for _ in range(2):  # the second time from what was kept
                documents = search(session, query, at=WEDNESDAY_MORNING)
                answer = json.loads(search_json(session, query, at=WEDNESDAY_MORNING))
                assert answer == {"results": json.loads(json.dumps(documents))}, query
                seen |= {(d["kind"], d["availability"]["status"]) for d in documents}
    statuses = {status for _kind, status in seen}
    assert {"away", "left", "available"} <= statuses
    assert any(kind == "unit" for kind, _status in seen)


def test_a_name_that_begins_like_a_municipality_is_a_name_unless_it_narrows(directory, find):
    # "vin" begins Vindeln, but an operator who types it alone is looking for someone.
    assert "Vincent Ek" in _names(find("vin"))
    assert _names(find("vincent")) == ["Vincent Ek"]
    # Beside another word it still narrows, and a whole name alone lists the municipality.
    assert _names(find("ann vind")) == ["Anna Nilsson"]
    assert {r["municipality"] for r in find("umeå")} == {"umea"}
