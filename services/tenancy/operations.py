"""Municipalities and participation: adding a tenant is data, not code."""

from __future__ import annotations

import csv
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.readcache import ReadCache
from services.tenancy.models import (
    PARTICIPATION_SERVICES,
    Municipality,
    MunicipalityPopulation,
    ServiceParticipation,
)

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


class MunicipalityError(ValueError):
    """Municipality data that cannot be stored, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class MunicipalityRow:
    """One municipality as the reference CSV describes it."""

    slug: str
    scb_code: str
    name: str
    county: str
    joined_year: int
    population: int
    population_year: int
    participation: dict[str, str]


def add_municipality(
    session: Session, slug: str, scb_code: str, name: str, *, county: str = "",
    joined_on: date,
) -> Municipality:
    """Add a municipality (a new tenant); it takes part in no service until it joins one."""
    if not _SLUG.match(slug):
        raise MunicipalityError("slug", "must be 2-40 lowercase letters, digits or dashes")
    if not (scb_code.isdigit() and len(scb_code) == 4):
        raise MunicipalityError("scb_code", "must be the four-digit SCB municipality code")
    if not name.strip():
        raise MunicipalityError("name", "must not be empty")
    if session.scalar(select(Municipality.id).where(Municipality.slug == slug)):
        raise MunicipalityError("slug", f"{slug!r} already exists")
    if session.scalar(select(Municipality.id).where(Municipality.scb_code == scb_code)):
        raise MunicipalityError("scb_code", f"{scb_code} already belongs to a municipality")
    municipality = Municipality(
        slug=slug, scb_code=scb_code, name=name.strip(), county=county, joined_on=joined_on
    )
    session.add(municipality)
    session.flush()
    return municipality


def set_population(
    session: Session, municipality: Municipality, year: int, population: int
) -> None:
    """Record ``municipality``'s population for ``year`` (replacing an earlier figure)."""
    if population < 0:
        raise MunicipalityError("population", "must not be negative")
    entry = session.get(MunicipalityPopulation, (municipality.id, year))
    if entry is None:
        municipality.populations.append(
            MunicipalityPopulation(year=year, population=population)
        )
    else:
        entry.population = population
    session.flush()


def join_service(
    session: Session, municipality: Municipality, service: str, *, level: str = "full",
    joined_on: date,
) -> ServiceParticipation:
    """Let ``municipality`` take part in ``service`` (each joins voluntarily)."""
    if service not in PARTICIPATION_SERVICES:
        raise MunicipalityError("service", f"must be one of {', '.join(PARTICIPATION_SERVICES)}")
    for existing in municipality.participations:
        if existing.service == service:
            existing.level = level
            session.flush()
            return existing
    participation = ServiceParticipation(service=service, level=level, joined_on=joined_on)
    municipality.participations.append(participation)
    session.flush()
    return participation


def list_municipalities(session: Session) -> list[Municipality]:
    """Every municipality with populations and participation, in Swedish name order."""
    from services.i18n import swedish_sort_key

    rows = session.scalars(
        select(Municipality).options(
            selectinload(Municipality.populations), selectinload(Municipality.participations)
        )
    ).all()
    return sorted(rows, key=lambda m: swedish_sort_key(m.name))


def find_municipality(session: Session, slug: str) -> Municipality:
    """The municipality with ``slug``; raises MunicipalityError naming the field."""
    municipality = session.scalar(select(Municipality).where(Municipality.slug == slug))
    if municipality is None:
        raise MunicipalityError("municipality", f"no municipality with slug {slug!r}")
    return municipality


def participants(session: Session, service: str) -> list[Municipality]:
    """The municipalities that take part in ``service``."""
    return list(
        session.scalars(
            select(Municipality)
            .join(ServiceParticipation)
            .where(ServiceParticipation.service == service)
            .options(
                selectinload(Municipality.populations),
                selectinload(Municipality.participations),
            )
            .order_by(Municipality.slug)
        )
    )


PARTICIPANTS: ReadCache[tuple[uuid.UUID, ...]] = ReadCache(
    "participants", seconds=30.0, watches=(ServiceParticipation, Municipality))
"""Who takes part in each service: joining or leaving is rare and seen within 30 s."""


def participant_ids(session: Session, service: str) -> list[uuid.UUID]:
    """The ids of the municipalities that take part in ``service`` (cached, see PARTICIPANTS)."""
    return list(PARTICIPANTS.get(session, service, lambda: tuple(session.scalars(
        select(ServiceParticipation.municipality_id)
        .where(ServiceParticipation.service == service)
        .order_by(ServiceParticipation.municipality_id)
    ))))


def read_reference_csv(path: Path) -> list[MunicipalityRow]:
    """Parse the cooperation's ``municipalities.csv`` (see shared/data/README.md)."""
    column_to_service = {
        "library": "library_loans",
        "switchboard": "switchboard",
        "refugee_reception": "refugee_reception",
        "procurement": "procurement",
    }
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            participation = {}
            for column, service in column_to_service.items():
                value = line[column].strip().lower()
                if value == "yes":
                    participation[service] = "full"
                elif value == "partly":
                    participation[service] = "partial"
            rows.append(
                MunicipalityRow(
                    slug=line["slug"],
                    scb_code=line["scb_code"],
                    name=line["name"],
                    county=line["county"],
                    joined_year=int(line["joined_cooperation"]),
                    population=int(line["population_2023_approx"]),
                    population_year=2023,
                    participation=participation,
                )
            )
    return rows
