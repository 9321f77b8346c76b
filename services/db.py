"""The database layer every service shares: declarative base, engines, sessions.

Each service declares its models on :class:`Base` (one metadata, so foreign keys to the
core's ``municipalities`` resolve) but owns its tables: it creates them through its own
Alembic environment and never imports another service's models.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, Uuid, create_engine, event, make_url, pool, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from services import clock
from services.ids import uuid7

READ_ONLY = "samverkan_read_only"
"""Execution option: the session only reads, so SQLite need not take the write lock."""

WRITABLE_ENGINE = "samverkan_writable_engine"
"""Session.info key of a read-only session: the engine its incidental writes go through."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use services.clock.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every Samverkan model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime, uuid.UUID: Uuid}  # noqa: RUF012


class HasId:
    """A UUIDv7 primary key generated in Python."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)


class HasTimestamps:
    """Creation and last-change times, taken from :mod:`services.clock`."""

    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


def make_engine(url: str, **options: object) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_immediately)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)


def make_session_factory(engine: Engine, *, info: dict[str, object] | None = None
                         ) -> sessionmaker:
    """A factory of tenant-enforcing sessions on ``engine``; objects stay readable after commit."""
    from services.tenancy.orm import TenantSession

    return sessionmaker(bind=engine, class_=TenantSession, expire_on_commit=False,
                        info=info or {})


@contextlib.contextmanager
def written_aside(session: Session) -> Iterator[Session]:
    """Where a small write of a read-only request goes: its own transaction, committed at once.

    A read-only session on SQLite began deferred; writing in it would need its snapshot to
    still be the newest, and fails at once when another writer committed meanwhile. Such
    writes (a token's last use, an audited read) are made in a short transaction beside
    it. Any other session is handed back as it is: its write belongs to its transaction.
    """
    engine = session.info.get(WRITABLE_ENGINE)
    if engine is None:
        yield session
        return
    aside = make_session_factory(engine)()  # type: ignore[arg-type]
    try:
        yield aside
        aside.commit()
    except BaseException:
        aside.rollback()
        raise
    finally:
        aside.close()


@contextlib.contextmanager
def scratch_postgres_database(server_url: str, prefix: str) -> Iterator[URL]:
    """A new, empty database on the server ``server_url`` names, dropped on leaving.

    For test runs and benchmarks: each gets a database of its own, so two runs on one
    server never see each other's rows.
    """
    server = make_url(server_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(server.render_as_string(hide_password=False), poolclass=pool.NullPool,
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _configure_sqlite_connection(dbapi_connection: object, _record: object) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # every transaction can begin IMMEDIATE (see _begin_sqlite_immediately).
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite_immediately(connection: object) -> None:
    # A deferred transaction that reads and then writes fails with "database is locked"
    # when another writer got there first; IMMEDIATE waits for the lock up front instead,
    # which is what makes races (two patrons, one copy) serialise on SQLite. Sessions
    # that promise to only read (READ_ONLY) begin deferred and run beside writers.
    options = connection.get_execution_options()  # type: ignore[attr-defined]
    if options.get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")  # type: ignore[attr-defined]
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
