"""Identifiers generated in Python: UUIDv7 (RFC 9562), sortable by creation time."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_millis = 0
_sequence = 0
_random = b""
_random_at = 0
_RANDOM_CHUNK = 8 * 1024
"""Random bytes read from the system at once: an import makes hundreds of thousands of ids,
and a system call for the 8 random bytes of each was a quarter of the cost of making one."""
_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)
_TAIL = (1 << 62) - 1


def uuid7() -> uuid.UUID:
    """A new UUIDv7: 48 bits of Unix milliseconds, then a counter and random bits.

    Ids made in one process are strictly increasing, even within one millisecond, so
    ``ORDER BY id`` is creation order and index pages fill at the right edge.
    """
    return uuid7s(1)[0]


def uuid7s(count: int) -> list[uuid.UUID]:
    """``count`` new UUIDv7s, increasing, as ``count`` calls of :func:`uuid7` would make
    them: the clock read and the lock taken once, and each UUID made without the checks
    ``uuid.UUID(int=...)`` runs (an import makes one per copy, at a third of the cost of
    making them one at a time)."""
    global _last_millis, _sequence, _random, _random_at
    if count < 1:
        return []
    values: list[int] = []
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis > _last_millis:
            # A new millisecond's counter starts at a random point in its lower half.
            _last_millis = millis
            _sequence = (int.from_bytes(os.urandom(2), "big") & 0x7FF) - 1
        need = 8 * count
        if len(_random) - _random_at < need:
            _random, _random_at = os.urandom(max(_RANDOM_CHUNK, need)), 0
        tails = memoryview(_random)[_random_at : _random_at + need].cast("Q")
        _random_at += need
        for tail in tails:
            _sequence += 1
            if _sequence > 0xFFF:
                _last_millis += 1
                _sequence = 0
            values.append(((_last_millis & 0xFFFF_FFFF_FFFF) << 80) | _VERSION_AND_VARIANT
                          | (_sequence << 64) | (tail & _TAIL))
    return list(map(_uuid_of, values))


_new_object = object.__new__
_set_attribute = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_of(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` for a value known to be a UUID's, without its checks."""
    made = _new_object(uuid.UUID)
    _set_attribute(made, "int", value)
    _set_attribute(made, "is_safe", _UNKNOWN)
    return made


def _forget_random_bytes() -> None:
    """A forked child must not hand out the random bytes its parent will use as well."""
    global _random, _random_at
    _random, _random_at = b"", 0


os.register_at_fork(after_in_child=_forget_random_bytes)
