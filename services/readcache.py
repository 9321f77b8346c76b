"""Short-lived caches of what nearly every request reads and hardly any request changes.

Who a bearer token belongs to, which municipalities take part in a service, a directory's
revision: each is one small query, but together they cost more than the answer a switchboard
operator is waiting for on every keystroke. A :class:`ReadCache` keeps such values in this
process for a few seconds, per database.

Freshness: a commit in this process that changed a model the cache watches clears it at
once, so everything done through this process is seen by its next request. A change made by
another process (another gunicorn worker, the Celery worker) is seen when the entry expires,
at most ``seconds`` later: that is the price, and each cache names its ``seconds`` where it
is declared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

V = TypeVar("V")

_CHANGED = "samverkan_changed_models"
"""Session.info key: the model classes this transaction changed (flushed or marked)."""

_CACHES: list[ReadCache[object]] = []
_MAX_ENTRIES = 10_000
_clock = time.monotonic
_URLS: dict[int, tuple[object, str]] = {}


class ReadCache(Generic[V]):
    """Values read from the database, kept ``seconds`` in this process, keyed per database."""

    def __init__(self, name: str, *, seconds: float, watches: tuple[type, ...]) -> None:
        self.name = name
        self.seconds = seconds
        self.watches = watches
        self._entries: dict[tuple[str, Hashable], tuple[float, V]] = {}
        self._lock = threading.Lock()
        _CACHES.append(self)  # type: ignore[arg-type]

    def get(self, session: Session, key: Hashable, load: Callable[[], V]) -> V:
        """The cached value for ``key`` in ``session``'s database, loading it when stale."""
        full_key = (database_key(session), key)
        entry = self._entries.get(full_key)
        now = _clock()
        changed = self._changed_in(session)
        if entry is not None and now - entry[0] < self.seconds and not changed:
            return entry[1]
        value = load()
        # Never keep what an uncommitted change shows, nor an absence (None).
        if value is not None and not changed:
            with self._lock:
                if len(self._entries) >= _MAX_ENTRIES:
                    self._entries.clear()
                self._entries[full_key] = (now, value)
        return value

    def forget(self, session: Session, key: Hashable) -> None:
        """Drop one entry (for example a token just found invalid)."""
        with self._lock:
            self._entries.pop((database_key(session), key), None)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    def _changed_in(self, session: Session) -> bool:
        changed = session.info.get(_CHANGED)
        return bool(changed) and any(issubclass(model, self.watches) for model in changed)


def mark_changed(session: Session, model: type) -> None:
    """Record that this transaction changed ``model``'s rows past the ORM (a Core statement)."""
    session.info.setdefault(_CHANGED, set()).add(model)


def changed_models(session: Session) -> set[type]:
    """The model classes this transaction changed so far (flushed or marked)."""
    return session.info.get(_CHANGED) or set()


def clear_all() -> None:
    """Empty every cache (tests, after wiping a database behind the caches' back)."""
    for cache in _CACHES:
        cache.clear()


def database_key(session: Session) -> str:
    """Which database ``session`` reads (its URL without password), cheaply, per engine."""
    bind = session.get_bind()
    known = _URLS.get(id(bind))
    if known is None or known[0] is not bind:
        if len(_URLS) > 256:
            _URLS.clear()
        known = _URLS[id(bind)] = (bind, str(bind.url))  # the bind is kept: its id stays its
    return known[1]


# --- private helpers -------------------------------------------------------------------


def _record_flushed(session: Session, _context: object) -> None:
    changed = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if changed:
        session.info.setdefault(_CHANGED, set()).update(changed)


def _clear_committed(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    for cache in _CACHES:
        if any(issubclass(model, cache.watches) for model in changed):
            cache.clear()


def _forget_changes(session: Session, _transaction: object = None) -> None:
    session.info.pop(_CHANGED, None)


event.listen(Session, "after_flush", _record_flushed)
event.listen(Session, "after_commit", _clear_committed)
event.listen(Session, "after_rollback", _forget_changes)
