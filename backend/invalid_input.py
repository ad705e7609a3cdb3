"""Which fields of an API request are wrong and why: named as the client sent them, said in its language.

Litestar reports a request that does not fit a handler's signature with msgspec's English messages
("Expected `str`, got `int`", "Object contains unknown field `extra`") and with the handler's own
argument names (``from_`` for the query parameter ``from``). A client gets neither: each message
becomes a Dutch ``N_`` text (translated like every other), and each field the name it has on the
wire (``from``, ``Idempotency-Key``, ``citizen.email``; ``""`` for the body as a whole).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from backend.i18n import N_, Translate

BODY: Final = "data"
"""Litestar's name for the request body (an error in it names the body, or a field at its top)."""

INVALID_TITLE: Final = N_("Ongeldige invoer")
INVALID_DETAIL: Final = N_("Controleer de gemarkeerde velden.")

UNKNOWN_FIELD: Final = N_("Dit veld kennen we niet: laat het weg.")
MISSING_FIELD: Final = N_("Dit veld is verplicht.")
NOT_AN_OBJECT: Final = N_("Stuur een JSON-object als inhoud.")
WRONG_FORM: Final = N_("Dit heeft niet de goede vorm.")
NOT_ALLOWED: Final = N_("Deze waarde kan hier niet. Kies een van de waarden die het schema noemt.")
REQUIRED: Final = N_("Vul dit in.")

EXPECTED: Final[Mapping[str, str]] = {
    "str": N_("Geef hier een tekst."),
    "int": N_("Geef hier een geheel getal."),
    "float": N_("Geef hier een getal."),
    "bool": N_("Geef hier true of false."),
    "object": N_("Geef hier een JSON-object."),
    "array": N_("Geef hier een lijst."),
    "datetime": N_("Geef een datum en tijd met tijdzone, zoals 2026-03-03T10:30:00+01:00."),
    "date": N_("Geef een datum als JJJJ-MM-DD, zoals 2026-03-03."),
    "uuid": N_("Geef een UUID, zoals 3f2b8c1e-5d4a-4b6f-9e7d-1a2b3c4d5e6f."),
}
AT_MOST: Final[Mapping[str, str]] = {
    "str": N_("Hoogstens {count} tekens."),
    "object": N_("Hoogstens {count} velden."),
    "array": N_("Hoogstens {count} items."),
}
AT_LEAST: Final[Mapping[str, str]] = {
    "str": N_("Minstens {count} tekens."),
    "object": N_("Minstens {count} velden."),
    "array": N_("Minstens {count} items."),
}

_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]*)`")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]*)`")
_LENGTH = re.compile(r"Expected `(?P<kind>\w+)` of length (?P<op>[<>]=) (?P<count>\d+)")
_EXPECTED = re.compile(r"Expected `(?P<kind>\w+)")
_INVALID = re.compile(r"Invalid (?:RFC3339 encoded )?(?P<kind>\w+)")


def field_errors(extra: object, names: Mapping[str, str], _: Translate) -> list[dict[str, str]]:
    """``{"field", "message"}`` for each item of a ValidationException's ``extra``.

    ``names`` maps a handler's argument names to their names on the wire (query parameters and
    headers); messages that are not the framework's are the handler's own and only translated.
    """
    items = extra if isinstance(extra, list) else []
    return [_one(item, names, _) for item in items if isinstance(item, dict)]


def _one(item: Mapping[str, Any], names: Mapping[str, str], _: Translate) -> dict[str, str]:
    key, message = str(item.get("key", "")), str(item.get("message", ""))
    if item.get("source") != "body":
        head, dot, rest = key.partition(".")
        key = names.get(head, head) + dot + rest
    field = "" if key == BODY else key
    for pattern, name in ((_UNKNOWN, UNKNOWN_FIELD), (_MISSING, MISSING_FIELD)):
        if found := pattern.fullmatch(message):
            return {"field": _join(field, found["name"]), "message": _(name)}
    if message == repr(BODY):  # no body at all: the handler's ``data`` is missing
        return {"field": "", "message": _(NOT_AN_OBJECT)}
    return {"field": field, "message": _framework_message(message, field, _) or _(message)}


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _framework_message(message: str, field: str, _: Translate) -> str | None:
    """The text for one of msgspec's messages; None for a message of the handler's own."""
    if found := _LENGTH.match(message):
        kind, count = found["kind"], int(found["count"])
        if found["op"] == ">=" and count == 1:
            return _(REQUIRED)
        table = AT_MOST if found["op"] == "<=" else AT_LEAST
        return _(table[kind], count=count) if kind in table else _(WRONG_FORM)
    if message.startswith("Invalid enum value"):
        return _(NOT_ALLOWED)
    if message.startswith("Expected `object`") and not field:
        return _(NOT_AN_OBJECT)
    if message.startswith(("Expected `str` matching", "Expected `int` ", "Expected `float` ")):
        return _(WRONG_FORM)  # a pattern or a bound: the schema says which
    found = _EXPECTED.match(message) or _INVALID.match(message)
    if found is None:
        return None
    kind = found["kind"].lower()
    return _(EXPECTED.get(kind, WRONG_FORM))
