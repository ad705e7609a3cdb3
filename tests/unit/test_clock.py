"""The one clock (backend/clock.py): a manual clock for tests, and "today" in the local time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from backend.clock import ManualClock, local_today, system_clock


def test_the_system_clock_tells_aware_utc() -> None:
    now = system_clock()
    assert now.tzinfo is not None and now.utcoffset() == dt.timedelta(0)


def test_a_manual_clock_stands_still_until_moved() -> None:
    clock = ManualClock(dt.datetime(2027, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam")))
    assert clock() == clock() == dt.datetime(2027, 3, 2, 8, 0, tzinfo=dt.UTC)
    assert clock.advance(dt.timedelta(minutes=90)) == dt.datetime(2027, 3, 2, 9, 30, tzinfo=dt.UTC)
    clock.set(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert clock() == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_a_manual_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        ManualClock(dt.datetime(2027, 3, 2, 9, 0))
    clock = ManualClock(dt.datetime(2027, 3, 2, 9, 0, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="naive"):
        clock.set(dt.datetime(2027, 3, 2, 9, 0))


@pytest.mark.parametrize(
    ("utc", "local_date"),
    [
        (dt.datetime(2027, 1, 4, 22, 59, tzinfo=dt.UTC), dt.date(2027, 1, 4)),  # 23:59 in winter
        (dt.datetime(2027, 1, 4, 23, 0, tzinfo=dt.UTC), dt.date(2027, 1, 5)),  # midnight in Amsterdam
        (dt.datetime(2027, 7, 4, 22, 0, tzinfo=dt.UTC), dt.date(2027, 7, 5)),  # summer time: UTC+2
    ],
)
def test_today_is_the_date_in_amsterdam(utc: dt.datetime, local_date: dt.date) -> None:
    assert local_today(ManualClock(utc)) == local_date
