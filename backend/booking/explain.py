"""Booking refusals as a sentence in the visitor's language, with their values filled in."""

from __future__ import annotations

import datetime as dt

from backend.booking.service import BookingError
from backend.i18n import translator
from backend.timefmt import long_date


def explain(error: BookingError, locale: str, **extra: object) -> str:
    """Translate ``error.message`` and fill its values (dates written out, e.g. "dinsdag 3 maart 2026")."""
    values: dict[str, object] = {**error.values, **extra}
    for key, value in values.items():
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            values[key] = long_date(value, locale)
    filled = {k: ("" if v is None else v) for k, v in values.items()}
    return translator(locale)(error.message, **filled)
