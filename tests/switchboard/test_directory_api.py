"""The directory API as operators, editors and scripts use it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services import clock
from services.audit.models import AuditEntry
from services.tenancy import TenantScope, tenant_scope
from switchboard.schemas.directory import SearchResultsSchema


def test_an_operator_searches_every_municipality_and_each_result_says_where(
        client, make_staff, region):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    reply = client.get("/switchboard/api/search?q=lind", headers=operator.headers)
    assert reply.status_code == 200, reply.json
    results = reply.json["results"]
    assert {(r["name"], r["municipality"]) for r in results} == {
        ("Åsa Lindqvist", "umea"), ("Åke Lindgren", "vannas")}
    first = results[0]
    assert set(first) >= {"kind", "name", "municipality", "unit", "numbers", "matched_on",
                          "availability"}
    only_vannas = client.get("/switchboard/api/search?q=bygglov&municipality=vannas",
                             headers=operator.headers).json["results"]
    assert [(r["name"], r["municipality"]) for r in only_vannas] == [
        ("Kundtjänst bygg", "vannas")]
    assert only_vannas[0]["matched_on"] == ["keyword"]


def test_a_keyword_and_a_municipality_name_together_find_the_right_office(
        client, make_staff, region):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    results = client.get("/switchboard/api/search?q=bygglov vännäs",
                         headers=operator.headers).json["results"]
    assert [(r["name"], r["municipality"]) for r in results] == [("Kundtjänst bygg", "vannas")]


def test_operators_reading_every_directory_is_audited_once_an_hour_not_per_keystroke(
        client, make_staff, region, db, municipalities):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    for typed in ("l", "li", "lin", "lind"):
        assert client.get(f"/switchboard/api/search?q={typed}",
                          headers=operator.headers).status_code == 200
    vannas = municipalities["vannas"]
    with tenant_scope(TenantScope.of([vannas.id])):
        entries = db.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "crossing.entered", AuditEntry.actor == "telefonist"))
    db.rollback()
    assert entries == 1


def test_an_editor_searches_only_their_own_municipality(client, make_staff, region):
    editor = make_staff("redaktor", "vannas", ("directory_editor", "vannas"))
    results = client.get("/switchboard/api/search?q=lind", headers=editor.headers).json
    assert [r["name"] for r in results["results"]] == ["Åke Lindgren"]
    asked_for_umea = client.get("/switchboard/api/search?q=lind&municipality=umea",
                                headers=editor.headers)
    assert asked_for_umea.json == {"results": []}


@pytest.mark.parametrize(("query", "field"), [
    ("", "q"), ("?q=x&limit=0", "limit"), ("?q=x&limit=many", "limit"),
    ("?q=x&municipality=atlantis", "municipality"), ("?q=" + "x" * 201, "q"),
])
def test_bad_search_input_is_a_4xx_naming_the_field(client, make_staff, region, query, field):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    reply = client.get(f"/switchboard/api/search{query}", headers=operator.headers)
    assert 400 <= reply.status_code < 500
    assert field in reply.json["error"]["fields"]["query"]


def test_anonymous_callers_cannot_search(client, region):
    assert client.get("/switchboard/api/search?q=lind").status_code == 401


def test_the_dialled_number_picks_the_municipality_and_greeting(client, make_staff, region):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    reply = client.get("/switchboard/api/call-context?dialled=0935-141 00",
                       headers=operator.headers)
    assert reply.json == {"dialled": "+4693514100", "municipality": "vannas",
                          "municipality_name": "Vännäs", "greeting": "Vännäs kommun, välkommen"}
    unknown = client.get("/switchboard/api/call-context?dialled=08-123 456 78",
                         headers=operator.headers).json
    assert unknown["municipality"] is None
    bad = client.get("/switchboard/api/call-context?dialled=abc", headers=operator.headers)
    assert bad.status_code == 422
    assert "dialled" in bad.json["error"]["fields"]["query"]


def test_the_card_shows_absence_with_its_age_and_referral(client, make_staff, region):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    asa = region["umea"]["contact"]
    returns = (clock.now() + timedelta(days=2)).isoformat()
    set_away = client.post(
        f"/switchboard/api/contacts/{asa.id}/absences", headers=operator.headers,
        json={"reason": "Sjuk", "returns_at": returns,
              "referral_contact_id": str(region["umea"]["function"].id)})
    assert set_away.status_code == 201, set_away.json
    card = client.get(f"/switchboard/api/contacts/{asa.id}/card", headers=operator.headers).json
    assert card["availability"]["status"] == "away"
    assert card["availability"]["reason"] == "Sjuk"
    assert card["availability"]["source"] == "manual"
    assert card["availability"]["age_minutes"] == 0
    assert card["availability"]["referral"]["name"] == "Kundtjänst bygg"
    assert [a["reason"] for a in card["absences"]] == ["Sjuk"]
    back = client.delete(f"/switchboard/api/contacts/{asa.id}/absences/current",
                         headers=operator.headers)
    assert back.status_code == 204
    card = client.get(f"/switchboard/api/contacts/{asa.id}/card", headers=operator.headers).json
    assert card["availability"] == {"status": "available"}


def test_an_editor_adds_a_contact_that_the_next_search_finds(client, make_staff, region):
    editor = make_staff("redaktor", "umea", ("directory_editor", "umea"))
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    added = client.post("/switchboard/api/contacts", headers=editor.headers, json={
        "given_name": "Zlatan", "family_name": "Öhman", "title": "Bygglovshandläggare",
        "unit_id": str(region["umea"]["unit"].id),
        "numbers": [{"kind": "work", "number": "090-16 99 99"}]})
    assert added.status_code == 201, added.json
    assert added.json["municipality"] == "umea"
    assert added.json["numbers"][0]["e164"] == "+4690169999"
    found = client.get("/switchboard/api/search?q=zlatan", headers=operator.headers).json
    assert [r["name"] for r in found["results"]] == ["Zlatan Öhman"]
    by_number = client.get("/switchboard/api/search?q=169999", headers=operator.headers).json
    assert by_number["results"][0]["name"] == "Zlatan Öhman"


def test_bad_contact_input_names_the_field_and_stores_nothing(client, make_staff, region):
    editor = make_staff("redaktor", "umea", ("directory_editor", "umea"))
    bad_number = client.post("/switchboard/api/contacts", headers=editor.headers, json={
        "given_name": "Nils", "numbers": [{"kind": "work", "number": "12"}]})
    assert bad_number.status_code == 422
    assert "numbers[0].number" in bad_number.json["error"]["fields"]["json"]
    no_name = client.post("/switchboard/api/contacts", headers=editor.headers, json={})
    assert no_name.status_code == 422
    assert "name" in no_name.json["error"]["fields"]["json"]
    bad_email = client.post("/switchboard/api/contacts", headers=editor.headers,
                            json={"name": "Nils", "email": "nils-at-umea"})
    assert "email" in bad_email.json["error"]["fields"]["json"]
    search = client.get("/switchboard/api/search?q=nils", headers=editor.headers).json
    assert search["results"] == []


def test_an_editor_changes_only_their_own_municipality(client, make_staff, region):
    editor = make_staff("redaktor", "vannas", ("directory_editor", "vannas"))
    umea_contact = region["umea"]["contact"]
    reply = client.patch(f"/switchboard/api/contacts/{umea_contact.id}",
                         headers=editor.headers, json={"title": "Kapad"})
    assert reply.status_code == 404
    into_umea = client.post("/switchboard/api/contacts", headers=editor.headers,
                            json={"name": "Inkräktare", "municipality": "umea"})
    assert into_umea.status_code == 403
    own = region["vannas"]["contact"]
    changed = client.patch(f"/switchboard/api/contacts/{own.id}", headers=editor.headers,
                           json={"title": "Bygglovshandläggare", "nicknames": ["Åkan"]})
    assert changed.status_code == 200, changed.json
    assert changed.json["title"] == "Bygglovshandläggare"


def test_an_operator_cannot_edit_the_directory(client, make_staff, region):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    reply = client.post("/switchboard/api/contacts", headers=operator.headers,
                        json={"name": "Ny person"})
    assert reply.status_code == 403


def test_a_person_who_left_is_found_with_who_took_over(client, make_staff, region):
    editor = make_staff("redaktor", "umea", ("directory_editor", "umea"))
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    asa, function = region["umea"]["contact"], region["umea"]["function"]
    left = client.post(f"/switchboard/api/contacts/{asa.id}/left", headers=editor.headers,
                       json={"successor_id": str(function.id)})
    assert left.status_code == 200, left.json
    result = client.get("/switchboard/api/search?q=Åsa Lindqvist",
                        headers=operator.headers).json["results"][0]
    assert result["availability"]["status"] == "left"
    assert result["left"]["successor"]["name"] == "Kundtjänst bygg"


def test_keywords_and_units_are_edited_by_editors(client, make_staff, region):
    editor = make_staff("redaktor", "umea", ("directory_editor", "umea"))
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    unit = client.post("/switchboard/api/units", headers=editor.headers, json={
        "name": "Gatuavdelningen", "level": "avdelning",
        "opening_hours": [{"weekday": 0, "opens": "08:00", "closes": "16:30"}]})
    assert unit.status_code == 201, unit.json
    keyword = client.post("/switchboard/api/keywords", headers=editor.headers, json={
        "word": "Snöröjning", "synonyms": ["plogning"], "unit_id": unit.json["id"]})
    assert keyword.status_code == 200, keyword.json
    found = client.get("/switchboard/api/search?q=plogning&municipality=umea",
                       headers=operator.headers).json["results"]
    assert [r["name"] for r in found] == ["Gatuavdelningen"]
    closes_before_opening = client.post("/switchboard/api/units", headers=editor.headers, json={
        "name": "Fel", "opening_hours": [{"weekday": 0, "opens": "16:00", "closes": "08:00"}]})
    assert closes_before_opening.status_code == 422
    assert "opening_hours[0].closes" in closes_before_opening.json["error"]["fields"]["json"]


def test_search_results_are_exactly_what_the_openapi_document_describes(
        client, make_staff, region):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    reply = client.get("/switchboard/api/search?q=bygglov", headers=operator.headers).json
    assert reply["results"]
    assert SearchResultsSchema().dump(reply) == reply
