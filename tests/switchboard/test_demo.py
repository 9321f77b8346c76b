"""The switchboard's demo directory, as ``samverkan demo-data`` loads it."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from services.tenancy import TenantScope, tenant_scope
from switchboard.models import (
    Absence,
    CallRoute,
    Contact,
    DirectoryRevision,
    Keyword,
    PhoneNumber,
    Unit,
)

DIALLED = {"umea": "+4690161000", "bjurholm": "+4693214000", "nordmaling": "+4693014000",
           "robertsfors": "+4693414000", "vindeln": "+4693314000", "vannas": "+4693514100",
           "ornskoldsvik": "+4666088000"}


@pytest.fixture
def demo_data(samverkan):
    """Run ``samverkan demo-data`` against the test database."""

    def run() -> None:
        result = samverkan("demo-data")
        assert result.exit_code == 0, result.output
        assert "switchboard demo data" in result.output

    return run


@pytest.fixture
def everywhere(municipalities):
    """A scope over all seven municipalities, for reading what the demo loaded."""
    with tenant_scope(TenantScope.of(m.id for m in municipalities.values())):
        yield


def test_every_switchboard_municipality_gets_a_directory_a_greeting_and_common_matters(
    demo_data, db, municipalities, everywhere
):
    demo_data()

    slugs = {m.id: slug for slug, m in municipalities.items()}
    contacts = Counter(slugs[m] for m in db.scalars(select(Contact.municipality_id)))
    assert set(contacts) == set(DIALLED)
    assert all(8 <= count <= 25 for count in contacts.values()), contacts
    routes = {slugs[r.municipality_id]: r for r in db.scalars(select(CallRoute))}
    assert {slug: r.dialled for slug, r in routes.items()} == DIALLED
    assert routes["umea"].greeting.startswith("Umeå kommun, välkommen")
    bygglov = {slugs[k.municipality_id]: k for k in
               db.scalars(select(Keyword).where(Keyword.word == "bygglov"))}
    assert set(bygglov) == set(DIALLED)
    assert all({"bygganmälan", "rivningslov"} <= set(k.synonyms) for k in bygglov.values())
    for word in ("snöröjning", "färdtjänst", "försörjningsstöd", "skolskjuts"):
        count = db.scalar(select(func.count()).select_from(Keyword).where(Keyword.word == word))
        assert count == len(DIALLED), word
    revisions = {slugs[r.municipality_id] for r in db.scalars(select(DirectoryRevision))}
    assert revisions == set(DIALLED)


def test_loading_the_demo_again_adds_nothing_and_changes_no_revision(
    demo_data, db, everywhere
):
    demo_data()
    before = _counts(db)
    revisions = sorted(db.scalars(select(DirectoryRevision.revision)))
    db.commit()

    demo_data()

    assert _counts(db) == before
    assert sorted(db.scalars(select(DirectoryRevision.revision))) == revisions


def test_the_people_the_console_walkthrough_relies_on_are_there(
    demo_data, db, municipalities, everywhere
):
    demo_data()

    people = {(c.municipality_id, c.name): c for c in db.scalars(select(Contact))}

    def person(slug: str, name: str) -> Contact:
        return people[(municipalities[slug].id, name)]

    asa = person("umea", "Åsa Lindqvist")
    assert asa.title == "Lärare" and asa.email == "asa.lindqvist@umea.se"
    school = db.get(Unit, (asa.municipality_id, asa.unit_id))
    assert school.name == "Hörnefors skola"
    assert "Hörnefors" in school.visiting_address
    assert [n.e164 for n in asa.numbers] == ["+4690161741", "+46703124506"]
    assert asa.numbers[0].extension == "1741"
    assert person("vindeln", "Asa Berg").given_name == "Asa"
    assert person("vindeln", "Anna Nilsson")
    assert len([name for (_, name) in people if name.startswith("Anna ")]) >= 3
    families = {c.family_name for c in people.values()}
    assert {"Karlsson", "Carlsson", "Pettersson", "Petterson"} <= families
    assert "Maggan" in person("bjurholm", "Margareta Holm").nicknames


def test_someone_is_away_with_a_referral_and_someone_has_left_with_a_successor(
    demo_data, db, municipalities, everywhere
):
    demo_data()

    absences = {a.source: a for a in db.scalars(select(Absence))}
    assert set(absences) == {"calendar", "manual"}
    for absence in absences.values():
        assert absence.set_at < absence.returns_at
        assert absence.referral_contact_id is not None
        assert absence.ended_at is None
    away = db.get(Contact, (absences["calendar"].municipality_id,
                            absences["calendar"].contact_id))
    referral = db.get(Contact, (away.municipality_id, absences["calendar"].referral_contact_id))
    assert (away.name, referral.name) == ("Johan Eriksson", "Sara Lundgren")
    left = db.scalars(select(Contact).where(Contact.left_on.is_not(None))).one()
    successor = db.get(Contact, (left.municipality_id, left.successor_id))
    assert (left.name, successor.name) == ("Gunnar Öberg", "Per Carlsson")
    assert left.municipality_id == municipalities["nordmaling"].id


def _counts(db) -> dict[str, int]:
    return {model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (Unit, Contact, PhoneNumber, Keyword, Absence, CallRoute)}
