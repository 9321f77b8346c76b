"""Throwaway databases: a fresh SQLite file or PostgreSQL database, migrated and seeded."""

from __future__ import annotations

import contextlib
import secrets
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import make_url, text

from services.config import Settings, load_settings
from services.db import make_engine, scratch_postgres_database
from services.demo import load_demo_data
from services.migrate import upgrade_all
from services.settings_ext import dispose_engines, session_factory_for

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
APP_ROLE = "samverkan_bench_app"


@dataclass(frozen=True)
class BenchDatabase:
    """A database made for one benchmark run: the owner's URL, the app's, and a data folder."""

    dialect: str
    owner_url: str
    app_url: str
    data_dir: Path
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def environment(self) -> dict[str, str]:
        """The ``SAMVERKAN_*`` variables a server process needs, production-like where possible."""
        return {
            # SQLite is refused in production, so the embedded default is what it can be.
            "SAMVERKAN_ENVIRONMENT": "production" if self.dialect == "postgresql"
            else "development",
            "SAMVERKAN_SECRET_KEY": self.secret_key,
            "SAMVERKAN_DATA_DIR": str(self.data_dir),
            "SAMVERKAN_DATABASE_URL": self.app_url,
            "SAMVERKAN_DATABASE_OWNER_URL": self.owner_url,
            "SAMVERKAN_DATABASE_APP_ROLE": APP_ROLE,
            "SAMVERKAN_LOG_FORMAT": "json",
            "SAMVERKAN_LOG_LEVEL": "INFO",
        }

    def settings(self) -> Settings:
        """The platform settings for this database (what a server process would load)."""
        return load_settings(self.environment())

    def server_version(self) -> str:
        """The database server's version, for the machine report."""
        query = "SELECT sqlite_version()" if self.dialect == "sqlite" else "SHOW server_version"
        engine = make_engine(self.owner_url)
        try:
            with engine.connect() as connection:
                return str(connection.execute(text(query)).scalar_one())
        finally:
            engine.dispose()


@contextlib.contextmanager
def throwaway_database(dialect: str, server_url: str = DEFAULT_POSTGRES_URL, *,
                       seed: bool = True) -> Iterator[BenchDatabase]:
    """A fresh SQLite file or PostgreSQL database, migrated and seeded; dropped afterwards."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown database dialect {dialect!r}: sqlite or postgresql")
    with tempfile.TemporaryDirectory(prefix="samverkan-bench-") as folder, \
            _database_url(dialect, server_url, Path(folder)) as owner_url:
        app_url = owner_url if dialect == "sqlite" else _with_user(owner_url, APP_ROLE)
        try:
            yield _prepared(BenchDatabase(dialect, owner_url, app_url, Path(folder)), seed)
        finally:
            # This process's pooled connections must close before the database goes away.
            dispose_engines()


def database_info(database: BenchDatabase) -> dict[str, str]:
    """The database's dialect, server version and (throwaway) name, for the machine report."""
    return {"dialect": database.dialect, "version": database.server_version(),
            "name": make_url(database.owner_url).database or ""}


# --- private helpers -------------------------------------------------------------------


def _prepared(database: BenchDatabase, seed: bool) -> BenchDatabase:
    settings = database.settings()
    upgrade_all(settings, progress=lambda message: print(f"  {message}", file=sys.stderr))
    if seed:
        with session_factory_for(settings)() as session:
            load_demo_data(session)
            session.commit()
    return database


@contextlib.contextmanager
def _database_url(dialect: str, server_url: str, folder: Path) -> Iterator[str]:
    if dialect == "sqlite":
        yield f"sqlite:///{folder / 'samverkan.db'}"
        return
    with scratch_postgres_database(server_url, "samverkan_bench") as url:
        yield url.render_as_string(hide_password=False)


def _with_user(url: str, username: str) -> str:
    # The app role logs in without a password: the benchmark server trusts loopback.
    return make_url(url).set(username=username, password=None).render_as_string(
        hide_password=False)
