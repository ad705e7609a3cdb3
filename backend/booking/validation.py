"""Checks on what citizens type, shared by the pages and the API, with Dutch messages."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from backend.i18n import N_

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[A-Za-z]{2,}$")
_MAX_NAME = 200


def clean_text(value: str) -> str:
    """Trim, join whitespace and drop control and bidi-override characters."""
    kept = "".join(ch for ch in value if unicodedata.category(ch) not in {"Cc", "Cf"} or ch == "\n")
    return " ".join(kept.split())


def name_error(name: str) -> str | None:
    if not name:
        return N_("Vul uw naam in.")
    if len(name) > _MAX_NAME:
        return N_("Uw naam is te lang (hoogstens 200 tekens).")
    return None


def is_email_address(email: str) -> bool:
    """A plausible address: one ``@``, a dot in the domain, nothing that breaks a mail header."""
    return len(email) <= 254 and _EMAIL.match(email) is not None


def email_error(email: str) -> str | None:
    if not email:
        return N_("Vul uw e-mailadres in.")
    if not is_email_address(email):
        return N_("Dit e-mailadres klopt niet. Een e-mailadres ziet eruit als naam@voorbeeld.nl.")
    return None


# Appointments are planned within a year or two; anything far outside is a typo or an attack, and
# dates near year 1 or 9999 would overflow when shifted between time zones.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime | None:
    """``moment`` in UTC if it carries an offset and lies in a plausible range, else None."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        return None
    return utc if EARLIEST <= utc < LATEST else None


def parse_moment(raw: str) -> dt.datetime | None:
    """An ISO 8601 date-time with offset from a form or query, in UTC; None if it is not one."""
    try:
        moment = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return as_utc(moment)


def plausible_day(day: dt.date) -> bool:
    return EARLIEST.date() <= day < LATEST.date()
