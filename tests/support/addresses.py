"""Client addresses for tests that count attempts per address."""

from __future__ import annotations

import ipaddress
import secrets

_DOCUMENTATION = ipaddress.IPv6Network("2001:db8::/32")  # RFC 3849: never a real client


def unseen_address() -> str:
    """An address no earlier test or run has used, for rate-limit keys.

    Counters outlive a test (in Redis, across runs), so two tests drawing from a small
    pool, as 198.51.100.1–250 was, collide now and then: one in 250 runs found the last
    test's refused attempts already counted against its own address.
    """
    return str(_DOCUMENTATION[secrets.randbits(96)])
