"""The library's JSON API: one blueprint per feature."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.participation import participation_blueprint


def blueprints() -> list[Blueprint]:
    """Every API blueprint of the library, in the order the OpenAPI document lists them."""
    from library_loans.api.administration import blueprint as administration
    from library_loans.api.desk import blueprint as desk
    from library_loans.api.patrons import blueprint as patrons
    from library_loans.api.records import blueprint as records

    return [participation_blueprint("library_loans"), records, patrons, desk, administration]
