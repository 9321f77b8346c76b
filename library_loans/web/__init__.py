"""The library's pages: the public catalogue, a patron's own pages, the librarian's desk."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    """Every page blueprint of the library."""
    from library_loans.web.catalogue import blueprint as catalogue
    from library_loans.web.desk import blueprint as desk
    from library_loans.web.patron import blueprint as patron

    return [catalogue, patron, desk]
