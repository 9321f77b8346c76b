"""The platform's state on a Flask app: settings, engine and session factory."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from threading import Lock

from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.config import Settings
from services.db import READ_ONLY, WRITABLE_ENGINE, make_engine, make_session_factory

_engines: dict[str, Engine] = {}
_engines_lock = Lock()


@dataclass
class Samverkan:
    """What the platform keeps on ``app.extensions["samverkan"]``."""

    service: str
    settings: Settings
    engine: Engine
    session_factory: sessionmaker
    read_session_factory: sessionmaker
    """For requests that only read (GET, HEAD, OPTIONS): on SQLite their transactions begin
    deferred, so readers do not queue for the one write lock (see services.db)."""


def extension(app: Flask) -> Samverkan:
    """The platform state of ``app``."""
    return app.extensions["samverkan"]


def shared_engine(url: str) -> Engine:
    """One engine per database URL per process, shared by every app mounted in it."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def session_factory_for(settings: Settings) -> sessionmaker:
    """A session factory on the app database (its sessions carry the tenant hooks)."""
    return make_session_factory(shared_engine(settings.database_url))


def read_session_factory_for(settings: Settings) -> sessionmaker:
    """A factory of sessions that promise to read: their incidental writes go aside."""
    engine = shared_engine(settings.database_url)
    if engine.dialect.name != "sqlite":
        # PostgreSQL readers never wait for writers: nothing to set aside.
        return make_session_factory(engine)
    return make_session_factory(engine.execution_options(**{READ_ONLY: True}),
                                info={WRITABLE_ENGINE: engine})


@contextlib.contextmanager
def committing_session(settings: Settings) -> Iterator[Session]:
    """A session for a command: committed if the block ends well, else rolled back."""
    from services.migrate import import_all_models

    import_all_models()
    session = session_factory_for(settings)()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked workers call this)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
