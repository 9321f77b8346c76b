"""Fixtures for the whole suite: a real database, a real Celery worker, apps and users.

The database is the embedded SQLite file unless ``SAMVERKAN_TEST_DATABASE_URL`` names a
PostgreSQL server (as the owner, e.g. ``postgresql+psycopg://postgres@127.0.0.1/postgres``):
then a fresh database is created for the run, migrated as the owner, and the apps connect
as the non-owner app role, with row-level security in force. The broker is Celery's
in-memory transport unless ``SAMVERKAN_TEST_BROKER_URL`` names Redis. Either way the
worker is a real worker consuming real messages (never ``task_always_eager``).

Tests marked ``postgres`` or ``redis`` skip visibly without those servers; with
``SAMVERKAN_REQUIRE_SERVERS=1`` (CI's second pass) such a skip is an error instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.test import Client

from services.cli import main
from services.config import Settings, load_settings
from services.db import READ_ONLY, Base, make_engine, scratch_postgres_database
from services.demo import load_municipalities
from services.identity.models import User
from services.identity.operations import create_user, grant_role, issue_token
from services.migrate import import_all_models, upgrade_all
from services.settings_ext import dispose_engines, session_factory_for, shared_engine
from services.tenancy.models import Municipality
from tests.support import worker_activity
from tests.support.servers import skip_or_refuse

TEST_DATABASE_URL = os.environ.get("SAMVERKAN_TEST_DATABASE_URL", "")
TEST_BROKER_URL = os.environ.get("SAMVERKAN_TEST_BROKER_URL", "")
PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (visibly) tests whose servers are not configured; on CI's server pass, refuse."""
    missing = {
        "postgres": not TEST_DATABASE_URL.startswith("postgresql"),
        "redis": not TEST_BROKER_URL.startswith("redis"),
    }
    for marker, absent in missing.items():
        if absent:
            variable = {"postgres": "SAMVERKAN_TEST_DATABASE_URL",
                        "redis": "SAMVERKAN_TEST_BROKER_URL"}[marker]
            needing = [item for item in items if item.get_closest_marker(marker)]
            skip_or_refuse(needing, f"{variable} is not set", marker)


# --- the database ----------------------------------------------------------------------


@dataclass(frozen=True)
class TestDatabase:
    """Where the run's database lives: the owner's URL and the app's."""

    __test__ = False

    owner_url: str
    app_url: str
    dialect: str


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A fresh, migrated database for the run (SQLite file, or a new PostgreSQL database)."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        path = tmp_path_factory.mktemp("db") / "samverkan-test.db"
        yield TestDatabase(f"sqlite:///{path}", f"sqlite:///{path}", "sqlite")
        return
    with scratch_postgres_database(TEST_DATABASE_URL, "samverkan_test") as owner_url:
        app_url = owner_url.set(username="samverkan_test_app", password=None)
        try:
            yield TestDatabase(owner_url.render_as_string(hide_password=False),
                               app_url.render_as_string(hide_password=False), "postgresql")
        finally:
            dispose_engines()  # the pooled connections must go before the database does


@pytest.fixture(scope="session")
def settings(test_database: TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the run: the test database, the test broker, a data folder of its own."""
    data_dir = tmp_path_factory.mktemp("data")
    broker = TEST_BROKER_URL or "memory://"
    values = {
        "SAMVERKAN_ENVIRONMENT": "test",
        "SAMVERKAN_DATA_DIR": str(data_dir),
        "SAMVERKAN_DATABASE_URL": test_database.app_url,
        "SAMVERKAN_DATABASE_OWNER_URL": test_database.owner_url,
        "SAMVERKAN_DATABASE_APP_ROLE": "samverkan_test_app",
        "SAMVERKAN_BROKER_URL": broker,
        "SAMVERKAN_RESULT_BACKEND": broker if broker.startswith("redis") else "cache+memory://",
        "SAMVERKAN_LOGIN_RATE_LIMIT": "10000 per minute",
        "SAMVERKAN_LOG_FORMAT": "text",
        "SAMVERKAN_LOG_LEVEL": "WARNING",
    }
    if broker.startswith("redis"):
        values["SAMVERKAN_RATE_LIMIT_STORAGE_URL"] = broker
    return load_settings(values)


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Settings:
    """The run's database upgraded to every package's newest revision."""
    upgrade_all(settings, progress=lambda _message: None)
    import_all_models()
    return settings


@pytest.fixture(scope="session")
def owner_engine(migrated: Settings) -> Iterator[Engine]:
    """An engine connected as the owner: for setting up and inspecting, bypassing RLS."""
    engine = make_engine(migrated.database_owner_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from the seven municipalities and nothing else."""
    if "migrated" not in request.fixturenames and "settings" not in request.fixturenames:
        yield
        return
    engine = request.getfixturevalue("owner_engine")
    settings = request.getfixturevalue("migrated")
    worker_activity.settle()  # nothing an earlier test queued runs on this one's data
    wipe_database(engine)
    forget_what_was_read()
    with session_factory_for(settings)() as session:
        load_municipalities(session)
        session.commit()
    yield


@pytest.fixture(autouse=True)
def _no_scope_left_behind() -> Iterator[None]:
    """A tenant scope must never outlive the request, task or block that set it."""
    from services.tenancy import clear_scope, scope_or_none

    assert scope_or_none() is None, "an earlier test left a tenant scope set"
    yield
    leaked = scope_or_none()
    clear_scope()
    assert leaked is None, f"the test left a tenant scope set: {leaked}"


def forget_what_was_read() -> None:
    """Drop what this process keeps of the database it just wiped behind its back."""
    from library_loans.search import resident
    from services import readcache

    readcache.clear_all()
    resident.forget_all()


def wipe_database(engine: Engine) -> None:
    """Delete every row of every table, the append-only audit log included."""
    # The worker thread may still be finishing an earlier test's task: PostgreSQL then
    # breaks the deadlock between its transaction and the TRUNCATE by failing one of them.
    for attempt in range(1, 4):
        try:
            _wipe(engine)
            return
        except OperationalError as error:
            if "deadlock detected" not in str(error) or attempt == 3:
                raise


def _wipe(engine: Engine) -> None:
    with engine.begin() as connection:
        existing = set(inspect(connection).get_table_names())
        tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name in existing]
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
            return
        connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
        for table in tables:
            connection.execute(table.delete())
        connection.execute(text(
            "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
        ))


@pytest.fixture
def db(migrated: Settings) -> Iterator[Session]:
    """A session on the app database (as the app role), for arranging and checking.

    Its transactions begin deferred on SQLite: a test that reads through it and then lets
    the app or the worker write must not hold the write lock they are waiting for.
    """
    engine = shared_engine(migrated.database_url).execution_options(**{READ_ONLY: True})
    session = session_factory_for(migrated)(bind=engine)
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def municipalities(db: Session) -> dict[str, Municipality]:
    """The seven municipalities by slug."""
    from sqlalchemy import select

    found = {m.slug: m for m in db.scalars(select(Municipality))}
    db.commit()  # end the read: later reads see what the app and the worker commit
    return found


# --- apps and clients ------------------------------------------------------------------


@pytest.fixture
def embedded(migrated: Settings):  # type: ignore[no-untyped-def]
    """Every app mounted as in ``samverkan run``."""
    from services.embedded import create_embedded_app

    return create_embedded_app(migrated)


@pytest.fixture
def client(embedded) -> Client:  # type: ignore[no-untyped-def]
    """A client of the embedded platform (cookies kept between its requests)."""
    return Client(embedded)


@pytest.fixture
def samverkan(migrated: Settings):  # type: ignore[no-untyped-def]
    """Run ``samverkan ARGS`` against the test database, returning the click result."""
    env = {
        "SAMVERKAN_ENVIRONMENT": "test",
        "SAMVERKAN_DATA_DIR": str(migrated.data_dir),
        "SAMVERKAN_DATABASE_URL": migrated.database_url,
        "SAMVERKAN_DATABASE_OWNER_URL": migrated.database_owner_url,
        "SAMVERKAN_DATABASE_APP_ROLE": migrated.database_app_role,
        "SAMVERKAN_BROKER_URL": migrated.broker_url,
        "SAMVERKAN_LOG_LEVEL": "WARNING",
    }

    def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, list(args), env=env, input=stdin,
                                  catch_exceptions=False)

    return run


@dataclass
class Staff:
    """A test user with a ready bearer token."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for this user's token."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_staff(db: Session, municipalities: dict[str, Municipality]) -> Callable[..., Staff]:
    """Create a committed staff user with grants and a token: ``make_staff("ann", "umea",
    ("operator", "umea"), ("librarian", None))`` (None = all municipalities)."""

    def make(username: str, home: str, *grants: tuple[str, str | None]) -> Staff:
        user = create_user(db, username, municipalities[home], password=PASSWORD,
                           created_by="tests")
        for role, where in grants:
            grant_role(db, user, role, municipalities[where] if where else None,
                       granted_by="tests")
        secret, _ = issue_token(db, user, lifetime=timedelta(days=1))
        db.commit()
        return Staff(user, secret)

    return make


# --- the worker ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def celery_app(migrated: Settings):  # type: ignore[no-untyped-def]
    """The real Celery app configured for the run's broker and database."""
    import tests.support.tasks  # noqa: F401 - registers the tests' own tasks before the worker starts
    from services.platform import worker_flask_app
    from worker.app import celery_app, configure

    configure(migrated)
    worker_flask_app.cache_clear()
    return celery_app


@pytest.fixture(scope="session")
def celery_worker(celery_app):  # type: ignore[no-untyped-def]
    """A real worker consuming every queue, in a thread of this process, for the run."""
    from celery.contrib.testing.worker import start_worker

    from worker.app import QUEUES

    celery_app.control.purge()  # messages a crashed earlier run left on a shared broker
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                      queues=list(QUEUES), loglevel="WARNING", shutdown_timeout=30) as worker:
        worker_activity.worker_started(celery_app)
        yield worker


def repo_root() -> Path:
    """The repository's top folder."""
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def notes_table(owner_engine: Engine, migrated: Settings) -> type:
    """The test-only tenant table ``test_notes`` (created once for the run)."""
    from tests.support.notes import Note, create_notes_table

    create_notes_table(owner_engine, migrated)
    return Note


@pytest.fixture
def count_queries(migrated: Settings) -> Callable[..., Any]:
    """Count the SQL statements a block sends: ``with count_queries() as counted: ...``."""
    import contextlib

    from sqlalchemy import event

    engine = shared_engine(migrated.database_url)

    @contextlib.contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []

        def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            if not statement.lstrip().upper().startswith(("SELECT SET_CONFIG", "PRAGMA")):
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", note)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", note)

    return counting


# --- mail ------------------------------------------------------------------------------


@pytest.fixture
def smtp_port(celery_app, settings, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """A port nobody listens on yet, which the worker's mailer now sends through."""
    from tests.test_infra import free_port

    port = free_port()
    monkeypatch.setitem(celery_app.conf, "samverkan_settings", settings.with_overrides(
        mail_backend="smtp", smtp_url=f"smtp://127.0.0.1:{port}"))
    return port


@pytest.fixture
def start_smtp(smtp_port: int) -> Iterator[Callable[..., Any]]:
    """Bring up an SMTP server on the worker's mail port: ``inbox = start_smtp()``."""
    from aiosmtpd.controller import Controller

    from tests.support.smtp import Inbox

    controllers = []

    def start(inbox: Inbox | None = None) -> Inbox:
        inbox = inbox or Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        controllers.append(controller)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()
