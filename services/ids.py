"""Identifiers generated in Python: UUIDv7 (RFC 9562), sortable by creation time."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_millis = 0
_sequence = 0


def uuid7() -> uuid.UUID:
    """A new UUIDv7: 48 bits of Unix milliseconds, then a counter and random bits.

    Ids made in one process are strictly increasing, even within one millisecond, so
    ``ORDER BY id`` is creation order and index pages fill at the right edge.
    """
    global _last_millis, _sequence
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis > _last_millis:
            _last_millis = millis
            _sequence = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            _sequence += 1
            if _sequence > 0xFFF:
                _last_millis += 1
                _sequence = 0
            millis = _last_millis
        sequence = _sequence
    random_tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= sequence << 64
    value |= 0b10 << 62
    value |= random_tail
    return uuid.UUID(int=value)
