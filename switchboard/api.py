"""The switchboard JSON API."""

from __future__ import annotations

from services.participation import participation_blueprint

blueprint = participation_blueprint("switchboard")
