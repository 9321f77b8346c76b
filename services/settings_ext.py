"""The platform's state on a Flask app: settings, engine and session factory."""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock

from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from services.config import Settings
from services.db import make_engine, make_session_factory

_engines: dict[str, Engine] = {}
_engines_lock = Lock()


@dataclass
class Samverkan:
    """What the platform keeps on ``app.extensions["samverkan"]``."""

    service: str
    settings: Settings
    engine: Engine
    session_factory: sessionmaker


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


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked workers call this)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
