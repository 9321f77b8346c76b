"""A browsable, server-rendered view of a service's OpenAPI document.

It works without any outside script or network (Swagger UI would load from a CDN), and
like every page here it is usable by keyboard and screen reader.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from services.settings_ext import extension
from services.web.layout import service_name

blueprint = Blueprint("docs", __name__)

_METHODS = ("get", "post", "put", "patch", "delete")


@blueprint.route("/api/docs")
def api_docs() -> str:
    """Every operation of this service's API: method, path, summary, parameters, bodies."""
    spec = current_app.extensions["samverkan_api"].spec.to_dict()
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in _METHODS:
            if method in item:
                operations.append(_describe(path, method, item[method], item.get("parameters", [])))
    return render_template(
        "api_docs.html",
        title=service_name(extension(current_app).service),
        version=spec["info"]["version"],
        operations=operations,
        schemas={
            name: _fields(schema)
            for name, schema in spec.get("components", {}).get("schemas", {}).items()
        },
    )


def _describe(
    path: str, method: str, operation: dict[str, Any], path_parameters: list[dict[str, Any]]
) -> dict[str, Any]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return {
        "anchor": f"{method}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
        "method": method.upper(),
        "path": path,
        "summary": operation.get("summary", ""),
        "description": operation.get("description", ""),
        "parameters": [
            {
                "name": parameter["name"],
                "in": parameter["in"],
                "required": parameter.get("required", False),
                "type": _type_text(parameter.get("schema")),
                "description": parameter.get("description", ""),
            }
            for parameter in [*path_parameters, *operation.get("parameters", [])]
        ],
        "body": _schema_name(body.get("schema")),
        "responses": {
            status: _schema_name(
                response.get("content", {}).get("application/json", {}).get("schema")
            )
            for status, response in operation.get("responses", {}).items()
        },
    }


def _fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type_text(spec),
            "required": name in required,
            "description": spec.get("description", ""),
        }
        for name, spec in schema.get("properties", {}).items()
    ]


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"[{_schema_name(schema.get('items'))}]"
    return schema.get("type", "")


def _type_text(schema: dict[str, Any] | None) -> str:
    # OpenAPI 3.1 writes a nullable type as a list: ["string", "null"] reads "string | null".
    if not schema:
        return ""
    if "$ref" in schema or schema.get("type") == "array":
        return _schema_name(schema)
    kind = schema.get("type", "")
    text = " | ".join(kind) if isinstance(kind, list) else kind
    return f"{text} ({schema['format']})" if "format" in schema else text
