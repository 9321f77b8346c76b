"""Fixtures of the switchboard's tests: a small directory in two municipalities."""

from __future__ import annotations

from datetime import time

import pytest

from services.tenancy import TenantScope, tenant_scope
from switchboard.models import CallRoute
from switchboard.operations.directory import (
    HoursInput,
    NumberInput,
    create_contact,
    create_unit,
    set_keyword,
)


@pytest.fixture
def region(db, municipalities):
    """Two municipalities' directories: Umeå and Vännäs."""
    made = {}
    for slug, person, number in (("umea", ("Åsa", "Lindqvist"), "090-16 12 34"),
                                 ("vannas", ("Åke", "Lindgren"), "0935-141 23")):
        municipality = municipalities[slug]
        with tenant_scope(TenantScope.of([municipality.id], home=municipality.id)):
            unit = create_unit(db, name=f"Bygg och miljö {slug}", level="avdelning",
                               opening_hours=[HoursInput(d, time(8), time(16)) for d in range(5)])
            contact = create_contact(db, given_name=person[0], family_name=person[1],
                                     unit_id=unit.id, numbers=[NumberInput("work", number)])
            function = create_contact(db, kind="function", name="Kundtjänst bygg",
                                      unit_id=unit.id, numbers=[NumberInput("work", number)])
            set_keyword(db, "bygglov", synonyms=["rivningslov"], contact_id=function.id)
            db.add(CallRoute(municipality_id=municipality.id,
                             dialled="+4690161000" if slug == "umea" else "+4693514100",
                             greeting=f"{municipality.name} kommun, välkommen"))
            db.flush()
            made[slug] = {"unit": unit, "contact": contact, "function": function}
    db.commit()
    return made
