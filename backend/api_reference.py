"""``/schema``: a readable reference of the JSON API, rendered on the server from the OpenAPI document.

Swagger UI and its kin load scripts from a CDN and run inline script, which the app's CSP forbids
(and a municipality's network may block). This page needs neither: plain HTML and the app's own
stylesheet. The machine-readable document stays at ``/schema/openapi.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

from backend.i18n import translator
from backend.settings import WEB_DIR
from backend.web import language_links, request_locale

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: list[dict[str, Any]]
    body: str | None
    responses: list[tuple[str, str, str | None]]
    """(status, description, schema name)."""


def _ref_name(schema: dict[str, Any] | None) -> str | None:
    if not schema:
        return None
    if "$ref" in schema:
        return str(schema["$ref"]).rpartition("/")[2]
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        inner = _ref_name(schema["items"])
        return f"{inner}[]" if inner else "array"
    return str(schema.get("type", "object"))


def _content_schema(container: dict[str, Any]) -> str | None:
    for media in (container.get("content") or {}).values():
        return _ref_name(media.get("schema"))
    return None


def operations(document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in sorted(document.get("paths", {}).items()):
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    parameters=[
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": p.get("required", False),
                            "type": _type_of(p.get("schema") or {}),
                        }
                        for p in op.get("parameters", [])
                    ],
                    body=_content_schema(op.get("requestBody") or {}),
                    responses=[
                        (status, r.get("description", ""), _content_schema(r))
                        for status, r in sorted(op.get("responses", {}).items())
                    ],
                )
            )
    return found


def schemas(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        out[name] = [
            {
                "name": prop,
                "type": _ref_name(spec) if "$ref" in spec else _type_of(spec),
                "required": prop in required,
            }
            for prop, spec in schema.get("properties", {}).items()
        ]
    return out


def _type_of(spec: dict[str, Any]) -> str:
    if "$ref" in spec or spec.get("type") == "array":
        return str(_ref_name(spec))
    if "oneOf" in spec:
        return " | ".join(_type_of(s) for s in spec["oneOf"])
    kind = str(spec.get("type", "any"))
    return f"{kind} ({spec['format']})" if "format" in spec else kind


class ApiReference(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path="/")
        self._env = Environment(
            loader=FileSystemLoader(WEB_DIR / "templates"), autoescape=select_autoescape(default=True)
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        locale = request_locale(request)
        html = self._env.get_template("pages/api_reference.html").render(
            locale=locale,
            _=translator(locale),
            language_links=language_links(request),
            info=openapi_schema.get("info", {}),
            operations=operations(openapi_schema),
            schemas=schemas(openapi_schema),
            json_url=self.get_openapi_json_route(request),
        )
        return html.encode()
