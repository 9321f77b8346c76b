"""The one place where time comes from, so tests can set it."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime

_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "samverkan_frozen_time", default=None
)


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    frozen = _frozen.get()
    return frozen if frozen is not None else datetime.now(UTC)


@contextlib.contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Make :func:`now` return ``moment`` inside the block (tests, replays)."""
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs a timezone-aware datetime")
    token = _frozen.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _frozen.reset(token)
