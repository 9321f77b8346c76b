"""The switchboard JSON API: one blueprint per feature."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.participation import participation_blueprint


def blueprints() -> list[Blueprint]:
    """Every API blueprint of the switchboard, in the order the OpenAPI document lists them."""
    from switchboard.api.directory import blueprint as directory
    from switchboard.api.exports import blueprint as exports
    from switchboard.api.messages import blueprint as messages
    from switchboard.api.sources import blueprint as sources

    return [participation_blueprint("switchboard"), directory, messages, sources, exports]
