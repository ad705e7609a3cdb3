"""The OpenAPI document of the JSON API, and ``/schema``: a readable reference rendered from it.

:class:`ApiContract` makes the document say what the server checks: request objects that refuse
unknown fields are closed (``additionalProperties: false``), the JSON Schema keywords of a field's
``msgspec.Meta`` (``format``, ``enum``...) are kept, and the manage token is a bearer scheme.

Swagger UI and its kin load scripts from a CDN and run inline script, which the app's CSP forbids
(and a municipality's network may block). This page needs neither: plain HTML and the app's own
stylesheet. The machine-readable document stays at ``/schema/openapi.json``.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.plugins import InitPlugin
from litestar.typing import FieldDefinition

from backend.booking.schemas import SECURITY_SCHEME
from backend.i18n import translator
from backend.settings import WEB_DIR
from backend.web import language_links, request_locale

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.config.app import AppConfig

DESCRIPTION: Final = """Book, read, move and cancel video appointments with a municipality's desk.

Language: names, intake questions and every message follow `?lang=nl|en`, else `Accept-Language`;
Dutch by default. Errors are `application/problem+json` (RFC 9457); a 422 names each wrong field as
it was sent. The create call answers a `manage_token`: send it as `Authorization: Bearer <token>` to
read, move or cancel. The developer notes are in `docs/api.md`.
"""
_KNOWN: Final = frozenset({"title", "description", "examples"})
"""Keywords Litestar takes from ``msgspec.Meta`` itself."""


class ApiContract(InitPlugin, StructSchemaPlugin):
    """The API's contract in its OpenAPI document (see the module's text)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        config = app_config.openapi_config
        if config is not None:
            scheme = SecurityScheme(
                type="http",
                scheme="bearer",
                description="The `manage_token` of the create call's answer; it works until the end of "
                "the appointment plus the grace window.",
            )
            known = config.components if isinstance(config.components, list) else [config.components]
            config.components = [*known, Components(security_schemes={SECURITY_SCHEME: scheme})]
            config.description = config.description or DESCRIPTION
            config.use_handler_docstrings = True
        return app_config

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if not isinstance(info, msgspec.inspect.StructType):
            return schema
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        if schema.description is None and field_definition.type_.__doc__:
            schema.description = inspect.cleandoc(field_definition.type_.__doc__)
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                _keep_keywords(prop, field.type)
        return schema


def _keep_keywords(schema: Schema, field_type: Any) -> None:
    """Copy JSON Schema keywords of a field's ``msgspec.Meta`` that Litestar leaves out."""
    if isinstance(field_type, msgspec.inspect.UnionType):  # ``X | None``: the keywords are on X
        field_type = next((t for t in field_type.types if isinstance(t, msgspec.inspect.Metadata)), None)
    if not isinstance(field_type, msgspec.inspect.Metadata):
        return
    for keyword, value in (field_type.extra_json_schema or {}).items():
        attribute = re.sub(r"(?<!^)([A-Z])", r"_\1", keyword).lower()
        if keyword not in _KNOWN and hasattr(schema, attribute):  # said outright: it wins
            setattr(schema, attribute, value)


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
    if "enum" in spec:
        return " | ".join(str(value) for value in spec["enum"])
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
