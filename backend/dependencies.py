"""The app's parts as Litestar dependencies: handlers name what they need (``settings: Settings``,
``live: LivePages``, ...) and ``create_app`` provides each part once, as litestar-fullstack's
controllers get their services."""

from __future__ import annotations

import datetime as dt

from litestar.di import Provide

from backend.clock import Clock, local_today


def provide(value: object) -> Provide:
    """A dependency that is always ``value`` (one object per app, made by create_app)."""

    def part() -> object:
        return value

    return Provide(part, use_cache=True, sync_to_thread=False)


def provide_today() -> Provide:
    """``today: dt.date``: the local date by the app's ``clock`` dependency, read per request."""

    def today(clock: Clock) -> dt.date:
        return local_today(clock)

    return Provide(today, sync_to_thread=False)
