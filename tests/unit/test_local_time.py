"""One local time zone (docs/adr/0008): what pages show and what a new municipality's agenda is in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from backend.db.models import Municipality
from backend.timefmt import AMSTERDAM, LOCAL_TIMEZONE, iso_local, long_datetime


def test_shown_times_and_a_new_municipalitys_agenda_share_one_zone() -> None:
    assert ZoneInfo(LOCAL_TIMEZONE) is AMSTERDAM
    assert Municipality.__table__.c.timezone.default.arg == LOCAL_TIMEZONE


def test_times_are_shown_as_in_the_netherlands() -> None:
    winter = dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 7, 8, 0, tzinfo=dt.UTC)
    assert long_datetime(winter) == "dinsdag 3 maart 2026, 10:30"
    assert iso_local(summer) == "2026-07-07T10:00:00+02:00"
