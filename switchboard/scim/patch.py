"""SCIM PATCH (RFC 7644 §3.5.2) on a resource's JSON form.

The resource is rendered, the operations change the JSON, and the result is applied like
a PUT: one code path decides what is stored, whichever way the client phrased its change.
Written for what Entra ID and Okta send: ``op`` in any case, paths with value filters
(``emails[type eq "work"].value``), extension paths, and a ``replace`` without a path whose
value names attributes by path.
"""

from __future__ import annotations

import copy
from typing import Any

from switchboard.scim.errors import ScimError
from switchboard.scim.filter import (
    Compare,
    Filter,
    Logical,
    PatchPath,
    matches,
    parse_patch_path,
)
from switchboard.scim.resources import field_of
from switchboard.scim.schemas import COMMON_ATTRIBUTES, PATCH_OP, Attribute, ResourceType

_OPS = ("add", "replace", "remove")


def patched(document: dict[str, Any], body: Any, resource_type: ResourceType
            ) -> dict[str, Any]:
    """``document`` with the PatchOp ``body``'s operations applied, in order."""
    if not isinstance(body, dict) or PATCH_OP not in (body.get("schemas") or []):
        raise ScimError(400, f"A PATCH body is a {PATCH_OP} message.", "invalidSyntax")
    operations = field_of(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a list of at least one operation.",
                        "invalidSyntax")
    result = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "Each operation is an object.", "invalidSyntax")
        op = str(field_of(operation, "op") or "").lower()
        if op not in _OPS:
            raise ScimError(400, f"op must be one of {', '.join(_OPS)}.", "invalidSyntax")
        path = field_of(operation, "path")
        value = field_of(operation, "value")
        if path:
            if not isinstance(path, str):
                raise ScimError(400, "path must be a string.", "invalidPath")
            _apply(result, op, parse_patch_path(path), value, resource_type)
        elif op == "remove":
            raise ScimError(400, "remove needs a path.", "noTarget")
        elif not isinstance(value, dict):
            raise ScimError(400, "Without a path, value must be an object.", "invalidValue")
        else:
            for key, item in value.items():
                extension = _extension(resource_type, key)
                if extension is not None and isinstance(item, dict):
                    for name, sub_value in item.items():
                        _apply(result, op, parse_patch_path(f"{extension}:{name}"), sub_value,
                               resource_type)
                else:
                    _apply(result, op, parse_patch_path(key), item, resource_type)
    return result


def _apply(document: dict[str, Any], op: str, path: PatchPath, value: Any,
           resource_type: ResourceType) -> None:
    attribute = _attribute(path, resource_type)
    if attribute is None:
        return  # a standard attribute this service provider does not keep
    if path.attribute.urn and path.attribute.urn != resource_type.schema.id:
        container = document.setdefault(path.attribute.urn, {})
    else:
        container = document
    name = attribute.name
    sub_name = path.sub or path.attribute.sub
    sub = attribute.sub_attribute(sub_name) if sub_name else None
    if sub_name and sub is None:
        raise ScimError(400, f"{name} has no sub-attribute {sub_name}.", "invalidPath")
    if attribute.mutability == "readOnly" or (sub and sub.mutability == "readOnly"):
        return  # read-only attributes are ignored, as in a PUT
    if path.filter is not None:
        if not attribute.multi_valued:
            raise ScimError(400, f"{name} is not multi-valued.", "invalidPath")
        _apply_to_values(container, op, name, path.filter, sub, value)
    elif attribute.multi_valued:
        if sub is not None:
            raise ScimError(400, f"Select which {name} to change with a value filter.",
                            "invalidPath")
        _apply_to_list(container, op, name, value)
    elif sub is not None:
        parent = container.get(name)
        if not isinstance(parent, dict):
            parent = container[name] = {}
        if op == "remove":
            parent.pop(sub.name, None)
        else:
            parent[sub.name] = value
    elif op == "remove":
        container.pop(name, None)
    elif attribute.type == "complex" and isinstance(value, dict):
        parent = container.get(name)
        container[name] = {**(parent if isinstance(parent, dict) else {}), **value}
    else:
        container[name] = value


def _apply_to_list(container: dict[str, Any], op: str, name: str, value: Any) -> None:
    values = container.get(name) if isinstance(container.get(name), list) else []
    given = value if isinstance(value, list) else [value]
    if op == "replace":
        container[name] = given
    elif op == "add":
        container[name] = values + [v for v in given if not _listed(v, values)]
    elif value is None:
        container.pop(name, None)
    else:
        container[name] = [v for v in values if not _listed(v, given)]


def _apply_to_values(container: dict[str, Any], op: str, name: str, selection: Filter,
                     sub: Attribute | None, value: Any) -> None:
    values = [v for v in container.get(name) or [] if isinstance(v, dict)]
    selected = [v for v in values if matches(selection, v)]
    if op == "remove":
        if sub is None:
            container[name] = [v for v in values if v not in selected]
        else:
            for item in selected:
                item.pop(sub.name, None)
        return
    if not selected:
        # Entra ID adds a value this way (emails[type eq "work"].value on a user without
        # one): create it from the filter's eq terms, as other service providers do.
        item = _implied_by(selection, name)
        values.append(item)
        selected = [item]
        container[name] = values
    for item in selected:
        if sub is not None:
            item[sub.name] = value
        elif isinstance(value, dict):
            item.update(value)
        else:
            raise ScimError(400, f"The value for {name}[...] is an object.", "invalidValue")


def _implied_by(selection: Filter, name: str) -> dict[str, Any]:
    if isinstance(selection, Compare) and selection.op == "eq" and not selection.path.urn:
        return {selection.path.name: selection.value}
    if isinstance(selection, Logical) and selection.op == "and":
        return {**_implied_by(selection.left, name), **_implied_by(selection.right, name)}
    raise ScimError(400, f"No value of {name} matches the filter.", "noTarget")


def _listed(value: Any, values: list[Any]) -> bool:
    if isinstance(value, dict) and "value" in value:
        return any(isinstance(v, dict) and v.get("value") == value["value"] for v in values)
    return value in values


def _attribute(path: PatchPath, resource_type: ResourceType) -> Attribute | None:
    """The attribute a path names; None for one taken but not kept; 400 for an unknown one."""
    urn = path.attribute.urn or resource_type.schema.id
    schemas = {s.id: s for s in (resource_type.schema, *resource_type.extensions)}
    schema = schemas.get(urn)
    if schema is None:
        raise ScimError(400, f"{urn} is not a schema of {resource_type.name}.", "invalidPath")
    name = path.attribute.name
    found = schema.attribute(name)
    if found is None and urn == resource_type.schema.id:
        found = next((a for a in COMMON_ATTRIBUTES if a.name.lower() == name.lower()), None)
    if found is not None:
        return found
    if name.lower() in schema.accepted:
        return None
    raise ScimError(400, f"{resource_type.name} has no attribute {name}.", "invalidPath")


def _extension(resource_type: ResourceType, key: str) -> str | None:
    return next((s.id for s in resource_type.extensions if s.id.lower() == key.lower()), None)
