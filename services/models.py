"""Every model of the platform core, imported in one place for migrations and tests."""

from services.audit.models import AuditEntry
from services.identity.models import ApiToken, RoleGrant, User
from services.tenancy.models import Municipality, MunicipalityPopulation, ServiceParticipation

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Municipality",
    "MunicipalityPopulation",
    "RoleGrant",
    "ServiceParticipation",
    "User",
]
