"""Municipalities (the tenants), their populations and their participation in services."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db import Base, HasId, HasTimestamps
from services.ids import uuid7

PARTICIPATION_SERVICES = ("switchboard", "library_loans", "refugee_reception", "procurement")
PARTICIPATION_LEVELS = ("full", "partial")


class Municipality(HasId, HasTimestamps, Base):
    """A member municipality of the cooperation: one tenant."""

    __tablename__ = "municipalities"
    __table_args__ = (
        CheckConstraint("length(scb_code) = 4", name="scb_code_four_digits"),
        CheckConstraint("slug <> ''", name="slug_not_empty"),
    )

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    scb_code: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    county: Mapped[str] = mapped_column(String(100), default="")
    joined_on: Mapped[date]

    populations: Mapped[list[MunicipalityPopulation]] = relationship(
        back_populates="municipality", order_by="MunicipalityPopulation.year",
        cascade="all, delete-orphan",
    )
    participations: Mapped[list[ServiceParticipation]] = relationship(
        back_populates="municipality", cascade="all, delete-orphan"
    )

    def population_in(self, year: int) -> int | None:
        """The population recorded for ``year``, or the latest year before it."""
        known = [entry for entry in self.populations if entry.year <= year]
        return known[-1].population if known else None


class MunicipalityPopulation(Base):
    """A municipality's population in one year (cost sharing reads these)."""

    __tablename__ = "municipality_populations"
    __table_args__ = (CheckConstraint("population >= 0", name="population_not_negative"),)

    municipality_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True)
    population: Mapped[int]
    municipality: Mapped[Municipality] = relationship(back_populates="populations")


class ServiceParticipation(Base):
    """That a municipality has joined a shared service (there is no default opt-in)."""

    __tablename__ = "service_participations"
    __table_args__ = (
        UniqueConstraint("municipality_id", "service"),
        CheckConstraint(
            "service IN ('switchboard', 'library_loans', 'refugee_reception', 'procurement')",
            name="known_service",
        ),
        CheckConstraint("level IN ('full', 'partial')", name="known_level"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    municipality_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE")
    )
    service: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(10), default="full")
    joined_on: Mapped[date]
    municipality: Mapped[Municipality] = relationship(back_populates="participations")
