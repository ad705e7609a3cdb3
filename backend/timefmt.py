"""Dates and times as people in the Netherlands read them, always in the one local time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

LOCAL_TIMEZONE = "Europe/Amsterdam"
"""The one local time (docs/adr/0008): every time shown, "today" on every page, and the zone of a new
municipality's agenda (``Municipality.timezone``'s default)."""
AMSTERDAM = ZoneInfo(LOCAL_TIMEZONE)
_BABEL_LOCALE = {"nl": "nl_NL", "en": "en_GB"}


def local(moment: dt.datetime, tz: ZoneInfo = AMSTERDAM) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store and pass times in UTC with tzinfo")
    return moment.astimezone(tz)


def long_datetime(moment: dt.datetime, locale: str = "nl") -> str:
    """``dinsdag 3 maart 2026, 10:30`` / ``Tuesday 3 March 2026, 10:30``."""
    return format_datetime(local(moment), "EEEE d MMMM y, HH:mm", locale=_BABEL_LOCALE.get(locale, "nl_NL"))


def long_date(day: dt.date, locale: str = "nl") -> str:
    return format_date(day, "EEEE d MMMM y", locale=_BABEL_LOCALE.get(locale, "nl_NL"))


def time_of_day(moment: dt.datetime, locale: str = "nl") -> str:
    """``10:30``."""
    return format_time(local(moment), "HH:mm", locale=_BABEL_LOCALE.get(locale, "nl_NL"))


def iso_local(moment: dt.datetime) -> str:
    """ISO 8601 with the Amsterdam offset, e.g. ``2026-03-03T10:30:00+01:00``."""
    return local(moment).isoformat()
