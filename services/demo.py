"""Demo data: the seven municipalities as they are, and a demo user for every role.

Loading is idempotent: running it again changes nothing and creates no duplicates. Each
service adds its own demo data through ``<package>.demo.load(session, municipalities)``
when it has one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.config import SERVICES
from services.identity.models import ROLES, User
from services.identity.operations import create_user, grant_role
from services.identity.passwords import hash_secret
from services.tenancy.models import Municipality
from services.tenancy.operations import (
    add_municipality,
    join_service,
    read_reference_csv,
    set_population,
)

REFERENCE_CSV = Path(__file__).parent / "reference" / "municipalities.csv"
DEMO_PASSWORD = "samverkan-demo"  # noqa: S105 - printed for the demo on purpose
DEMO_MUNICIPALITIES = ("umea", "bjurholm", "vannas")
"""Every role has a demo user in each of these (Örnsköldsvik gets an operator too)."""

ACTOR = "demo-data"


@dataclass(frozen=True)
class DemoLogin:
    """A demo user as the README and ``samverkan run`` list them."""

    username: str
    municipality: str
    role: str
    scope: str


def demo_logins() -> list[DemoLogin]:
    """Every demo user, its home municipality, its role and where the role holds."""
    logins = [DemoLogin("admin", "bjurholm", "platform_admin", "all")]
    for role in ROLES:
        if role == "platform_admin":
            continue
        for slug in DEMO_MUNICIPALITIES:
            # The switchboard in Bjurholm answers for every municipality.
            scope = "all" if role == "operator" and slug == "bjurholm" else slug
            logins.append(DemoLogin(f"{role.replace('_', '-')}.{slug}", slug, role, scope))
    logins.append(DemoLogin("directory-editor.ornskoldsvik", "ornskoldsvik",
                            "directory_editor", "ornskoldsvik"))
    return logins


def load_demo_data(session: Session, progress: Callable[[str], None] = lambda _m: None) -> None:
    """Load (or complete) the demo data; flushes, the caller commits."""
    municipalities = load_municipalities(session)
    progress(f"{len(municipalities)} municipalities")
    created = _load_users(session, municipalities)
    progress(f"{created} demo users added")
    for package in SERVICES:
        try:
            module = importlib.import_module(f"{package}.demo")
        except ModuleNotFoundError as error:
            if error.name != f"{package}.demo":
                raise
            continue
        module.load(session, municipalities)
        progress(f"{package} demo data")


def load_municipalities(session: Session, path: Path = REFERENCE_CSV) -> dict[str, Municipality]:
    """Add the municipalities of the reference CSV that are missing, with participation."""
    existing = {m.slug: m for m in session.scalars(select(Municipality))}
    for row in read_reference_csv(path):
        municipality = existing.get(row.slug)
        if municipality is None:
            municipality = add_municipality(
                session, row.slug, row.scb_code, row.name, county=row.county,
                joined_on=date(row.joined_year, 1, 1),
            )
            existing[row.slug] = municipality
        if municipality.population_in(row.population_year) is None:
            set_population(session, municipality, row.population_year, row.population)
        for service, level in row.participation.items():
            join_service(session, municipality, service, level=level,
                         joined_on=municipality.joined_on)
    return existing


def _load_users(session: Session, municipalities: dict[str, Municipality]) -> int:
    taken = set(session.scalars(select(User.username)))
    missing = [login for login in demo_logins() if login.username not in taken]
    # One argon2 hash for the one shared demo password: hashing it thirty times over
    # would only make the demo slower to start.
    shared_hash = hash_secret(DEMO_PASSWORD) if missing else None
    for login in missing:
        user = create_user(
            session, login.username, municipalities[login.municipality],
            display_name=_display_name(login), created_by=ACTOR,
        )
        user.password_hash = shared_hash
        scope = None if login.scope == "all" else municipalities[login.scope]
        grant_role(session, user, login.role, scope, granted_by=ACTOR)
    return len(missing)


def _display_name(login: DemoLogin) -> str:
    return f"Demo {login.role.replace('_', ' ')} ({login.municipality})"
