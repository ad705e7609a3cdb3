"""Texts that are data (a service's name, description, documents) in the visitor's language.

Data is written in Dutch; other languages live in the object's ``translations`` column as
``{"en": {"name": ..., "description": ..., "documents": [...]}}``. Missing entries fall back to Dutch.
"""

from __future__ import annotations

from typing import Any, Protocol


class Translatable(Protocol):
    translations: dict[str, dict[str, Any]]


def localized(item: Translatable, field: str, locale: str) -> str:
    dutch = getattr(item, field)
    value = (item.translations or {}).get(locale, {}).get(field)
    return value if isinstance(value, str) and value else str(dutch or "")


def localized_list(item: Translatable, field: str, locale: str) -> list[str]:
    dutch = list(getattr(item, field) or [])
    value = (item.translations or {}).get(locale, {}).get(field)
    if isinstance(value, list) and len(value) == len(dutch) and all(isinstance(v, str) for v in value):
        return list(value)
    return dutch
