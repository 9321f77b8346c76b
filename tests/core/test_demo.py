"""The demo data ``samverkan demo-data`` loads, and what the README promises of it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from services.demo import demo_logins
from services.identity.models import RoleGrant, User
from services.tenancy.models import Municipality
from tests.conftest import forget_what_was_read, repo_root, wipe_database

MUNICIPALITIES = {  # slug: SCB code, name, population 2023 (approx.)
    "umea": ("2480", "Umeå", 132_000),
    "bjurholm": ("2403", "Bjurholm", 2_400),
    "nordmaling": ("2401", "Nordmaling", 7_100),
    "robertsfors": ("2409", "Robertsfors", 6_700),
    "vindeln": ("2404", "Vindeln", 5_400),
    "vannas": ("2460", "Vännäs", 8_800),
    "ornskoldsvik": ("2284", "Örnsköldsvik", 55_600),
}


@pytest.fixture
def demo_data(samverkan, owner_engine):
    """Run ``samverkan demo-data`` against the test database, emptied first."""
    wipe_database(owner_engine)  # not even the municipalities every other test starts from
    forget_what_was_read()
    result = samverkan("demo-data")
    assert result.exit_code == 0, result.output


def test_the_readme_lists_every_demo_login_with_its_role_and_where_it_holds():
    loaded = [(login.username, login.role, _where(login.scope, login.municipality))
              for login in demo_logins()]
    assert sorted(readme_demo_logins()) == sorted(loaded)


def test_demo_data_creates_the_readme_logins_and_the_seven_municipalities_as_they_are(
    demo_data, db
):
    grants = db.execute(
        select(User.username, RoleGrant.role, Municipality.slug)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .outerjoin(Municipality, Municipality.id == RoleGrant.municipality_id)
    ).all()
    homes = dict(db.execute(select(User.username, Municipality.slug)
                            .join(Municipality, Municipality.id == User.home_municipality_id))
                 .all())
    created = {(username, role, _where(slug or "all", homes[username]))
               for username, role, slug in grants}
    assert set(readme_demo_logins()) <= created
    found = {m.slug: (m.scb_code, m.name, m.population_in(2023))
             for m in db.scalars(select(Municipality))}
    assert found == MUNICIPALITIES


def readme_demo_logins() -> list[tuple[str, str, str]]:
    """The README's "Demo logins" table as (username, role, "all" or "own") rows."""
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Demo logins", 1)[1].split("\n## ", 1)[0]
    logins = []
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip("| ").split("|")]
        if len(cells) != 3 or "`" not in cells[0]:
            continue
        names, role, where = cells
        for username in _expanded(re.findall(r"`([^`]+)`", names)):
            logins.append((username, role, "all" if where.startswith("all") else "own"))
    return logins


def _expanded(names: list[str]) -> list[str]:
    # "`librarian.umea`, `.bjurholm`" is shorthand for librarian.umea, librarian.bjurholm.
    role_part = names[0].split(".", 1)[0]
    return [f"{role_part}{name}" if name.startswith(".") else name for name in names]


def _where(scope: str, home: str) -> str:
    if scope == "all":
        return "all"
    return "own" if scope == home else scope
