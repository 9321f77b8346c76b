"""The library_loans JSON API."""

from __future__ import annotations

from services.participation import participation_blueprint

blueprint = participation_blueprint("library_loans")
