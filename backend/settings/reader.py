"""One generic reader for every declared setting, and the list of them all (for the README)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from backend.settings.fields import (
    BY_TYPE,
    PREFIX,
    SETTING,
    UNSET,
    WORDS,
    Parse,
    Reading,
    Setting,
    SettingsError,
    choice,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def read(defaults: T, environ: Mapping[str, str]) -> T:
    """``defaults`` with every declared setting read from ``environ``, in declaration order (a
    derived default or a check sees what was read before it). Raises one :class:`SettingsError`
    that names every setting that cannot be used, not only the first."""
    settings, problems = read_all(defaults, environ)
    if problems:
        raise SettingsError("\n".join(problems), problems)
    return settings


def read_all(defaults: T, environ: Mapping[str, str]) -> tuple[T, list[str]]:
    """:func:`read`, but the problems are returned beside the settings (a setting that could not
    be used keeps its default)."""
    problems: list[str] = []
    reading = Reading(with_files(environ, problems))
    reading.problems.extend(problems)
    return _read_concern(defaults, reading, prefix=""), reading.problems


FILE_SUFFIX = "_FILE"


def with_files(environ: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """``environ`` with each ``BALIE_<NAME>_FILE`` read into ``BALIE_<NAME>``: secrets as files
    (Docker and Kubernetes secrets), so they are not in the environment of every process. The file
    holds the value; one trailing newline is not part of it. Setting both is a problem."""
    merged = {name: value for name, value in environ.items() if not _is_file_variable(name)}
    for name, path in environ.items():
        if not _is_file_variable(name):
            continue
        target = name.removesuffix(FILE_SUFFIX)
        if target in environ:
            problems.append(f"{target} and {name} are both set: set one of them")
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                content = handle.read()
        except OSError as exc:
            problems.append(f"{name}: cannot read {path!r} ({exc.strerror or exc})")
            continue
        merged[target] = content.removesuffix("\n").removesuffix("\r")
    return merged


def _is_file_variable(name: str) -> bool:
    prefix = "BALIE_"
    return name.startswith(prefix) and name.endswith(FILE_SUFFIX) and len(name) > len(prefix + FILE_SUFFIX)


def _read_concern(defaults: T, reading: Reading, prefix: str) -> T:
    kinds = _kinds(type(defaults))
    values: dict[str, Any] = {}
    for f in fields(defaults):
        default = getattr(defaults, f.name)
        if is_dataclass(default) and not isinstance(default, type):  # a concern inside a concern
            values[f.name] = _read_concern(default, reading, prefix + f.metadata.get(PREFIX, ""))
        elif (spec := f.metadata.get(SETTING)) is not None:
            values[f.name] = _read_value(spec, f"BALIE_{prefix}{spec.name}", kinds[f.name], default, reading)
    return replace(defaults, **values)


def _read_value(spec: Setting, name: str, kind: object, default: Any, reading: Reading) -> Any:
    raw = reading.environ.get(name)
    try:
        value = UNSET if raw is None else (spec.parse or parser_for(kind, name))(raw, name)
    except SettingsError as exc:
        reading.problems.extend(exc.problems)
        value = UNSET
    if value is UNSET:
        value = default if spec.derive is None else spec.derive(reading)
    if spec.check is not None:
        try:
            spec.check(value, name, reading)
        except SettingsError as exc:
            reading.problems.extend(exc.problems)
    reading.found[name] = value
    return value


def parser_for(kind: object, name: str) -> Parse:
    if get_origin(kind) is Literal:
        return choice(get_args(kind))
    try:
        return BY_TYPE[kind]
    except KeyError:
        raise TypeError(f"{name}: no parser for {kind}; declare it with parse=") from None


@functools.cache
def _kinds(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


@dataclass(frozen=True)
class Declared:
    """One setting as the README lists it."""

    name: str
    spec: Setting
    default: Any
    words: Mapping[str, str]

    @property
    def doc(self) -> str:
        text = self.spec.doc
        for word, meaning in self.words.items():
            text = text.replace("{" + word + "}", meaning)
        return text


def declared(
    defaults: DataclassInstance, prefix: str = "", words: Mapping[str, str] | None = None
) -> Iterator[Declared]:
    """Every setting inside ``defaults``, in the order :func:`read` reads them."""
    for f in fields(defaults):
        default = getattr(defaults, f.name)
        if is_dataclass(default) and not isinstance(default, type):
            yield from declared(default, prefix + f.metadata.get(PREFIX, ""), f.metadata.get(WORDS, words))
        elif (spec := f.metadata.get(SETTING)) is not None:
            yield Declared(f"BALIE_{prefix}{spec.name}", spec, default, words or {})
