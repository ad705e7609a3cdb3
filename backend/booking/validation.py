"""Checks on what citizens type, shared by the pages and the API, with Dutch messages."""

from __future__ import annotations

import re
import unicodedata

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[A-Za-z]{2,}$")
_MAX_NAME = 200


def clean_text(value: str) -> str:
    """Trim, join whitespace and drop control and bidi-override characters."""
    kept = "".join(ch for ch in value if unicodedata.category(ch) not in {"Cc", "Cf"} or ch == "\n")
    return " ".join(kept.split())


def name_error(name: str) -> str | None:
    if not name:
        return "Vul uw naam in."
    if len(name) > _MAX_NAME:
        return "Uw naam is te lang (hoogstens 200 tekens)."
    return None


def email_error(email: str) -> str | None:
    if not email:
        return "Vul uw e-mailadres in."
    if len(email) > 254 or not _EMAIL.match(email):
        return "Dit e-mailadres klopt niet. Een e-mailadres ziet eruit als naam@voorbeeld.nl."
    return None
