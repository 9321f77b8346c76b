"""The authenticated principal of a request and the permission questions asked of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.tenancy import TenantScope


@dataclass(frozen=True)
class Grant:
    """A role in one municipality, or in all of them when ``municipality_id`` is None."""

    role: str
    municipality_id: uuid.UUID | None


@dataclass(frozen=True)
class Principal:
    """Who is asking: a staff user with a home municipality and grants."""

    user_id: uuid.UUID
    username: str
    home_municipality_id: uuid.UUID
    home_municipality_slug: str
    grants: tuple[Grant, ...]
    locale: str = "sv"
    home_municipality_name: str = ""

    def has_role(self, role: str, municipality_id: uuid.UUID | None = None) -> bool:
        """Whether the principal holds ``role`` (in ``municipality_id``, when given)."""
        return any(
            grant.role == role
            and (
                municipality_id is None
                or grant.municipality_id is None
                or grant.municipality_id == municipality_id
            )
            for grant in self.grants
        )

    def has_role_everywhere(self, role: str) -> bool:
        """Whether the principal holds ``role`` for all municipalities."""
        return any(g.role == role and g.municipality_id is None for g in self.grants)

    def municipalities_with(self, role: str) -> frozenset[uuid.UUID]:
        """The municipalities where the principal holds ``role`` by a one-municipality grant."""
        return frozenset(
            g.municipality_id
            for g in self.grants
            if g.role == role and g.municipality_id is not None
        )

    def default_scope(self) -> TenantScope:
        """The ordinary scope: the home municipality and each one a grant names.

        A grant for all municipalities does not widen this: reaching every municipality
        goes through a named, audited cross-tenant scope (services.tenancy.crossing).
        """
        ids = {self.home_municipality_id}
        ids.update(g.municipality_id for g in self.grants if g.municipality_id is not None)
        return TenantScope.of(ids, home=self.home_municipality_id)
