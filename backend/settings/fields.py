"""How a setting is declared: a dataclass field that carries its ``BALIE_*`` name, parser and meaning.

A field declared with :func:`setting` is read from the environment; its default is the field's
own default, unless ``derive`` works it out from settings read before it (``development``, the
data directory, ...). A parser may answer :data:`UNSET` (for an empty variable, say): the default
then applies. Everything else about a setting (checks, how the README shows its default) sits in
the same declaration, so nothing about it is written twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class Secret:
    """A string that does not show itself in repr() or str()."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


class SettingsError(ValueError):
    """BALIE_* variables hold values that cannot be used; ``problems`` names each one."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET
"""What a parser answers when the variable says nothing (usually: it is empty): the default applies."""


class Reading:
    """One read of the environment: the values found so far, by variable name, for later
    defaults and checks that depend on them."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.found: dict[str, Any] = {}
        self.problems: list[str] = []
        """Every setting that could not be used: the reader goes on, so all are told at once."""

    def __getitem__(self, name: str) -> Any:
        return self.found[name]


Parse = Callable[[str, str], Any]
"""(raw text, variable name) -> value or :data:`UNSET`; raises :class:`SettingsError` naming the variable."""
Derive = Callable[[Reading], Any]
Check = Callable[[Any, str, Reading], None]
"""(value, variable name, reading): raises :class:`SettingsError` when the value cannot be used."""


@dataclass(frozen=True)
class Setting:
    name: str
    """The variable without ``BALIE_`` and its concern's prefix, e.g. ``SMTP_PORT``."""
    doc: str
    """What it means, one line of Markdown (the README's settings table shows it)."""
    parse: Parse | None = None
    """None: by the field's type (:data:`BY_TYPE`, or a ``Literal`` of choices)."""
    derive: Derive | None = None
    """A default that depends on what was read before; the field's own default is for code that
    builds the dataclass directly."""
    shown: str | None = None
    """The default as the README shows it, where it is not the field's own (derived ones)."""
    check: Check | None = None


SETTING = "balie.setting"
PREFIX = "balie.prefix"
WORDS = "balie.words"


def setting(
    name: str,
    default: Any = MISSING,
    *,
    doc: str,
    factory: Callable[[], Any] | None = None,
    parse: Parse | None = None,
    derive: Derive | None = None,
    shown: str | None = None,
    check: Check | None = None,
) -> Any:
    """A dataclass field read from ``BALIE_<prefix><name>``."""
    metadata = {SETTING: Setting(name, doc, parse, derive, shown, check)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def concern(factory: Callable[[], Any], *, prefix: str = "", words: Mapping[str, str] | None = None) -> Any:
    """A dataclass of settings inside another; its variables are named ``BALIE_<prefix><name>``, and
    ``{word}`` in their docs reads ``words[word]`` (one declaration, two OIDC clients)."""
    return field(default_factory=factory, metadata={PREFIX: prefix, WORDS: words or {}})


# -- parsers by type --------------------------------------------------------------------------------


def parse_bool(raw: str, name: str) -> bool | _Unset:
    if raw == "":
        return UNSET
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def parse_int(raw: str, name: str) -> int | _Unset:
    if raw == "":
        return UNSET
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from exc


def parse_float(raw: str, name: str) -> float | _Unset:
    if raw == "":
        return UNSET
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from exc


def parse_secret(raw: str, name: str) -> Secret | _Unset:
    return Secret(raw) if raw else UNSET


def choice(options: tuple[str, ...]) -> Parse:
    def parse(raw: str, name: str) -> str:
        if raw not in options:
            raise SettingsError(f"{name} must be {', '.join(options[:-1])} or {options[-1]}, not {raw!r}")
        return raw

    return parse


BY_TYPE: Mapping[object, Parse] = {
    str: lambda raw, _name: raw,  # an empty string is a value: BALIE_X= means "empty", not "default"
    Path: lambda raw, _name: Path(raw),
    bool: parse_bool,
    int: parse_int,
    float: parse_float,
    Secret: parse_secret,
}


# -- checks -----------------------------------------------------------------------------------------


def more_than_zero(value: float, name: str, _reading: Reading) -> None:
    if value <= 0:
        raise SettingsError(f"{name} must be more than 0")


def zero_or_more(value: float, name: str, _reading: Reading) -> None:
    if value < 0:
        raise SettingsError(f"{name} must be 0 or more")


# -- development and production ---------------------------------------------------------------------

IN_DEVELOPMENT = "`true` in development"
"""How the README shows a default of :func:`in_development`."""


def in_development(reading: Reading) -> bool:
    """The default of the switches that are on in development (and tests) and off in production."""
    return bool(reading["BALIE_ENV"] != "production")


def required_in_production(why: str = "") -> Check:
    def check(value: object, name: str, reading: Reading) -> None:
        if not value and not in_development(reading):
            raise SettingsError(f"{name} is required in production{why}")

    return check


def secret_key_in_production(value: Secret, name: str, reading: Reading) -> None:
    if in_development(reading):
        return
    if not value:
        raise SettingsError(f"{name} is required in production")
    if len(value.reveal().encode()) < 32:
        raise SettingsError(f"{name} must be at least 32 bytes in production (it signs and seals)")


def configured_in_production(value: object, name: str, reading: Reading) -> None:
    """For a default that only suits development (links to 127.0.0.1 in every email)."""
    if not in_development(reading) and not reading.environ.get(name):
        raise SettingsError(f"{name} is required in production (links in emails, sign-in redirect URIs)")


def issuer_in_production(value: str, name: str, reading: Reading) -> None:
    """An issuer over plain HTTP only on loopback (tests, a provider beside the app)."""
    if in_development(reading) or not value.startswith("http://"):
        return
    host = urlsplit(value).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SettingsError(f"{name} must use https:// in production, not {value!r}")
