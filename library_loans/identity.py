"""Who a patron is: logged in with card number and PIN, remembered by a cookie.

Patrons are not staff users: they have no grants and never a bearer token of the platform.
Their session is a random secret in the ``samverkan_patron`` cookie, stored hashed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

PATRON_COOKIE = "samverkan_patron"


@dataclass(frozen=True)
class PatronPrincipal:
    """The logged-in patron of a request."""

    patron_id: uuid.UUID
    municipality_id: uuid.UUID
    card_number: str
    name: str
    locale: str = "sv"


def current_patron() -> PatronPrincipal | None:
    """The patron logged in on this request, if any."""
    return None
