"""A browsable, server-rendered view of a service's OpenAPI document.

It works without any outside script or network (Swagger UI would load from a CDN), and
like every page here it is usable by keyboard and screen reader.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

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
                operations.append(_describe(path, method, item[method]))
    return render_template(
        "api_docs.html",
        title=spec["info"]["title"],
        version=spec["info"]["version"],
        operations=operations,
        schemas=spec.get("components", {}).get("schemas", {}),
    )


def _describe(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return {
        "anchor": f"{method}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
        "method": method.upper(),
        "path": path,
        "summary": operation.get("summary", ""),
        "description": operation.get("description", ""),
        "parameters": operation.get("parameters", []),
        "body": _schema_name(body.get("schema")),
        "responses": {
            status: _schema_name(
                response.get("content", {}).get("application/json", {}).get("schema")
            )
            for status, response in operation.get("responses", {}).items()
        },
    }


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"[{_schema_name(schema.get('items'))}]"
    return schema.get("type", "")
