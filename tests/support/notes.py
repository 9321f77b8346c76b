"""A tenant-owned model that exists only in the tests, to exercise the tenancy layers."""

from __future__ import annotations

from sqlalchemy import Engine, String
from sqlalchemy.orm import Mapped, mapped_column

from services.config import Settings
from services.db import Base
from services.tenancy import TenantOwned


class Note(TenantOwned, Base):
    """A note a municipality keeps: the simplest tenant-owned row."""

    __tablename__ = "test_notes"

    text: Mapped[str] = mapped_column(String(200))


def create_notes_table(owner_engine: Engine, settings: Settings) -> None:
    """Create ``test_notes`` as the owner and secure it like every migrated tenant table."""
    Base.metadata.create_all(owner_engine, tables=[Note.__table__])
    if owner_engine.dialect.name == "postgresql":
        from services.tenancy.rls import secure_database

        with owner_engine.begin() as connection:
            secure_database(connection, settings.database_app_role)
