"""The SCIM schemas this service provider keeps, and its discovery documents (RFC 7643 §5-7).

The attribute definitions serve twice: as the ``/Schemas`` documents and as the map that
PATCH paths and filters are resolved against (attribute names are case-insensitive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SAMVERKAN = "urn:samverkan:params:scim:schemas:extension:switchboard:1.0:Resource"
"""Our extension: which municipality a resource belongs to (read-only)."""
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

MAX_PAGE = 200


@dataclass(frozen=True)
class Attribute:
    """One attribute of a schema, as RFC 7643 §7 describes it."""

    name: str
    description: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    mutability: str = "readWrite"
    uniqueness: str = "none"
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()

    def sub_attribute(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (any case), if there is one."""
        return _by_name(self.sub_attributes, name)

    def document(self) -> dict[str, Any]:
        """The attribute as it appears in a ``/Schemas`` document."""
        described: dict[str, Any] = {
            "name": self.name, "type": self.type, "multiValued": self.multi_valued,
            "description": self.description, "required": self.required,
            "caseExact": False, "mutability": self.mutability, "returned": "default",
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            described["canonicalValues"] = list(self.canonical_values)
        if self.sub_attributes:
            described["subAttributes"] = [a.document() for a in self.sub_attributes]
        if self.type == "reference":
            described["referenceTypes"] = ["User"]
        return described


@dataclass(frozen=True)
class Schema:
    """A schema: its URN, name and the attributes this service provider keeps."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    accepted: frozenset[str] = field(default_factory=frozenset)
    """Attributes of the standard schema taken without complaint but not kept (lower case)."""

    def attribute(self, name: str) -> Attribute | None:
        """The attribute called ``name`` (any case), if this schema keeps it."""
        return _by_name(self.attributes, name)

    def document(self, location: str) -> dict[str, Any]:
        """The ``/Schemas/<urn>`` document."""
        return {"schemas": [SCHEMA], "id": self.id, "name": self.name,
                "description": self.description,
                "attributes": [a.document() for a in self.attributes],
                "meta": {"resourceType": "Schema", "location": location}}


@dataclass(frozen=True)
class ResourceType:
    """A resource type: its endpoint, core schema and extensions."""

    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...]

    def document(self, location: str) -> dict[str, Any]:
        """The ``/ResourceTypes/<name>`` document."""
        return {"schemas": [RESOURCE_TYPE], "id": self.name, "name": self.name,
                "endpoint": self.endpoint, "description": self.description,
                "schema": self.schema.id,
                "schemaExtensions": [{"schema": s.id, "required": False}
                                     for s in self.extensions],
                "meta": {"resourceType": "ResourceType", "location": location}}


def _by_name(attributes: tuple[Attribute, ...], name: str) -> Attribute | None:
    wanted = name.lower()
    return next((a for a in attributes if a.name.lower() == wanted), None)


_TYPE_AND_PRIMARY = (
    Attribute("primary", "Whether this is the primary value.", type="boolean"),
)

USER_SCHEMA = Schema(
    USER, "User", "A person in the switchboard's directory.",
    (
        Attribute("userName", "The person's sign-in name (userPrincipalName, login), unique "
                              "in the municipality ignoring case.",
                  required=True, uniqueness="server"),
        Attribute("name", "The person's name.", type="complex", sub_attributes=(
            Attribute("formatted", "The full name."),
            Attribute("familyName", "The family name."),
            Attribute("givenName", "The given name."),
        )),
        Attribute("displayName", "The name callers and operators see."),
        Attribute("nickName", "What the person is also called; operators search it."),
        Attribute("title", "The person's title."),
        Attribute("active", "False once the person has left; they stay findable, marked "
                            "as left, for six months.", type="boolean"),
        Attribute("emails", "The work email address (the primary one is kept).",
                  type="complex", multi_valued=True,
                  sub_attributes=(
                      Attribute("value", "The address."),
                      Attribute("type", "Only work addresses are kept.",
                                canonical_values=("work",)),
                      *_TYPE_AND_PRIMARY)),
        Attribute("phoneNumbers", "Work, mobile and fax numbers (other kinds are not kept).",
                  type="complex", multi_valued=True, sub_attributes=(
                      Attribute("value", "The number; stored in E.164 form."),
                      Attribute("type", "The kind of number.",
                                canonical_values=("work", "mobile", "fax")),
                      *_TYPE_AND_PRIMARY)),
    ),
    accepted=frozenset({
        "addresses", "locale", "preferredlanguage", "timezone", "usertype", "profileurl",
        "photos", "ims", "x509certificates", "entitlements", "roles", "password", "groups",
    }),
)

ENTERPRISE_USER_SCHEMA = Schema(
    ENTERPRISE_USER, "EnterpriseUser", "The enterprise extension: the person's unit.",
    (Attribute("department", "The unit (enhet) the person works in; created if missing."),),
    accepted=frozenset({"employeenumber", "costcenter", "organization", "division",
                        "manager"}),
)

GROUP_SCHEMA = Schema(
    GROUP, "Group", "A unit (enhet) of the municipality's organisation.",
    (
        Attribute("displayName", "The unit's name.", required=True),
        Attribute("members", "The people in the unit.", type="complex", multi_valued=True,
                  sub_attributes=(
                      Attribute("value", "The member's id.", mutability="immutable"),
                      Attribute("$ref", "The member's URI.", type="reference",
                                mutability="immutable"),
                      Attribute("display", "The member's name.", mutability="immutable"),
                      Attribute("type", "Always User.", mutability="immutable",
                                canonical_values=("User",)),
                  )),
    ),
)

SAMVERKAN_SCHEMA = Schema(
    SAMVERKAN, "SamverkanResource", "Where a resource belongs in the Samverkan platform.",
    (Attribute("municipality", "The municipality's slug; set by the bearer token.",
               mutability="readOnly"),),
)

COMMON_ATTRIBUTES = (
    Attribute("id", "The id this service provider assigned.", mutability="readOnly"),
    Attribute("externalId", "The provisioning client's own stable id."),
)

USERS = ResourceType("User", "/Users", "People", USER_SCHEMA,
                     (ENTERPRISE_USER_SCHEMA, SAMVERKAN_SCHEMA))
GROUPS = ResourceType("Group", "/Groups", "Units (enheter)", GROUP_SCHEMA,
                      (SAMVERKAN_SCHEMA,))
RESOURCE_TYPES = {USERS.name: USERS, GROUPS.name: GROUPS}
SCHEMAS = {s.id: s for s in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA,
                             SAMVERKAN_SCHEMA)}


def service_provider_config(location: str) -> dict[str, Any]:
    """What this service provider supports (RFC 7643 §5)."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://tools.ietf.org/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_PAGE},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token",
            "description": "A Samverkan API token of a directory editor; records land in "
                           "the token's home municipality.",
            "primary": True,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": location},
    }
