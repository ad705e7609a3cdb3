"""The team's weekly figures: counts, waits from the start (or a late arrival), nothing about one
person in a small week."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import given
from hypothesis import strategies as st

from backend.desk.statistics import SMALL, Visit, iso_week, weekly

SERVICE = uuid.UUID(int=1)
MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # ISO week 2026-W49


def visit(
    minutes_late: float | None = 0,
    wait: float | None = 5,
    call: float | None = 20,
    status: str = "completed",
    *,
    start: dt.datetime = MONDAY,
    by_official: bool = False,
) -> Visit:
    arrived = None if minutes_late is None else start + dt.timedelta(minutes=minutes_late)
    admitted = None if arrived is None or wait is None else max(arrived, start) + dt.timedelta(minutes=wait)
    ended = None if admitted is None or call is None else admitted + dt.timedelta(minutes=call)
    return Visit(SERVICE, start, status, by_official, arrived, admitted, ended)


def test_a_week_counts_what_happened_and_times_from_the_start() -> None:
    early = visit(minutes_late=-20, wait=2)  # 20 minutes early: waited 2 minutes after the start, not 22
    late = visit(minutes_late=10, wait=4)  # 10 minutes late: 4 minutes after arriving
    rows = weekly(
        [
            early,
            late,
            visit(wait=6, by_official=True),
            visit(minutes_late=None, status="no_show"),
            visit(minutes_late=None, status="cancelled"),
        ]
    )
    (week,) = rows
    assert week.week == "2026-W49" and week.bookings == 5
    assert (week.cancelled, week.no_shows, week.by_phone, week.phone_share) == (1, 1, 1, 20)
    assert early.wait_minutes == 2 and late.wait_minutes == 4
    assert week.wait_median == 4 and week.wait_p90 == 6 and week.call_median == 20


def test_a_small_week_shows_counts_but_no_times() -> None:
    (week,) = weekly([visit(wait=30)] * (SMALL - 1))
    assert week.bookings == SMALL - 1
    assert week.wait_median is None and week.wait_p90 is None and week.call_median is None


def test_weeks_are_iso_weeks_in_amsterdam() -> None:
    sunday_night = dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)  # Monday 00:30 in Amsterdam
    assert iso_week(sunday_night) == "2026-W50"
    rows = weekly([visit(start=MONDAY), visit(start=sunday_night)])
    assert [r.week for r in rows] == ["2026-W49", "2026-W50"]


@given(st.lists(st.floats(0, 240, allow_nan=False), min_size=SMALL, max_size=40))
def test_the_median_and_p90_lie_among_the_waits(waits: list[float]) -> None:
    (week,) = weekly([visit(wait=w) for w in waits])
    assert week.wait_median is not None and week.wait_p90 is not None
    assert min(waits) - 0.05 <= week.wait_median <= week.wait_p90 <= max(waits) + 0.05
    within = sum(w <= week.wait_p90 + 0.05 for w in waits)
    assert within >= 0.9 * len(waits)
