"""The one clock: "now" in UTC for the whole app, injectable so tests can say what time it is.

``create_app(settings, clock=...)`` hands one clock to every part it makes and provides it to
handlers as the ``clock`` dependency. Pure functions keep taking ``now=`` (as ``booking/slots.py``
does); only the edges read the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from backend.timefmt import AMSTERDAM

Clock = Callable[[], dt.datetime]
"""Returns the current moment as an aware datetime in UTC."""


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_today(clock: Clock = system_clock, tz: ZoneInfo = AMSTERDAM) -> dt.date:
    """Today's date in the local time zone (docs/adr/0008), by ``clock``."""
    return clock().astimezone(tz).date()


class ManualClock:
    """A clock that stands still until told otherwise (tests and drills)."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("naive datetime: a clock tells aware UTC times")
        self._now = start.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self._now += delta
        return self._now

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: a clock tells aware UTC times")
        self._now = moment.astimezone(dt.UTC)
