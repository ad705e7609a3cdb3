"""Slot generation: opening hours, units, DST, holidays, booking window."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.booking import slots
from backend.booking.reference import ALPHABET, PATTERN, new_reference, normalise

AMS = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = tuple(
    slots.OpeningBlock(day, opens, closes)
    for day in range(5)
    for opens, closes in ((dt.time(9), dt.time(12, 30)), (dt.time(13, 30), dt.time(17)))
)


def rules(**overrides: object) -> slots.AgendaRules:
    values: dict[str, object] = {
        "timezone": AMS,
        "blocks": WEEKDAYS,
        "desks": 1,
        "lead": dt.timedelta(hours=1),
        "horizon": dt.timedelta(days=14),
    }
    values.update(overrides)
    return slots.AgendaRules(**values)  # type: ignore[arg-type]


def test_starts_follow_opening_blocks_in_local_time() -> None:
    tuesday = dt.date(2026, 3, 3)
    starts = [
        s.astimezone(AMS).strftime("%H:%M")
        for s in slots.candidate_starts(rules(), dt.timedelta(minutes=30), tuesday)
    ]
    assert starts[:2] == ["09:00", "09:30"]
    assert "12:00" in starts and "12:30" not in starts  # 12:30 would end after the block closes
    assert "13:30" in starts and starts[-1] == "16:30"


def test_weekend_and_public_holiday_are_closed() -> None:
    assert (
        list(slots.candidate_starts(rules(), dt.timedelta(minutes=20), dt.date(2026, 3, 7))) == []
    )  # Saturday
    kingsday = dt.date(2026, 4, 27)  # Monday, Koningsdag
    assert slots.is_public_holiday(kingsday)
    assert list(slots.candidate_starts(rules(), dt.timedelta(minutes=20), kingsday)) == []
    open_rules = rules(closed_on_public_holidays=False)
    assert list(slots.candidate_starts(open_rules, dt.timedelta(minutes=20), kingsday))


def test_dst_days_keep_the_local_grid() -> None:
    all_day = tuple(slots.OpeningBlock(d, dt.time(0), dt.time(23, 55)) for d in range(7))
    for day in (dt.date(2026, 3, 29), dt.date(2026, 10, 25)):  # last Sundays of March and October
        local = [
            s.astimezone(AMS)
            for s in slots.candidate_starts(
                rules(blocks=all_day, closed_on_public_holidays=False), dt.timedelta(hours=1), day
            )
        ]
        assert all(t.minute == 0 for t in local)
        assert len({s.astimezone(dt.UTC) for s in local}) == len(local)


def test_capacity_and_window() -> None:
    now = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)  # 09:00 in Amsterdam
    duration = dt.timedelta(minutes=20)
    free = slots.free_starts(rules(), duration, dt.date(2026, 3, 3), dt.date(2026, 3, 3), now, {})
    assert free[0] == dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)  # 10:00 local: an hour's notice
    first = free[0]
    taken = slots.count_by_unit(slots.units(first, first + duration))
    again = slots.free_starts(rules(), duration, dt.date(2026, 3, 3), dt.date(2026, 3, 3), now, taken)
    assert first not in again
    two_desks = slots.free_starts(
        rules(desks=2), duration, dt.date(2026, 3, 3), dt.date(2026, 3, 3), now, taken
    )
    assert first in two_desks


def test_is_offered_rejects_unaligned_and_outside_hours() -> None:
    now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    duration = dt.timedelta(minutes=20)
    good = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    assert slots.is_offered(rules(), duration, good, now)
    assert not slots.is_offered(rules(), duration, good + dt.timedelta(minutes=7), now)
    assert not slots.is_offered(rules(), duration, dt.datetime(2026, 3, 3, 22, 0, tzinfo=dt.UTC), now)
    assert not slots.is_offered(rules(), duration, dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), now)  # past
    assert not slots.is_offered(
        rules(), duration, dt.datetime(2026, 4, 30, 9, 0, tzinfo=dt.UTC), now
    )  # horizon


@settings(max_examples=60, deadline=None)
@given(
    day=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2028, 12, 31)),
    minutes=st.sampled_from([15, 20, 30, 45, 60]),
    hour=st.integers(min_value=0, max_value=23),
)
def test_no_slot_outside_hours_holiday_or_window(day: dt.date, minutes: int, hour: int) -> None:
    now = dt.datetime.combine(day, dt.time(hour), tzinfo=AMS).astimezone(dt.UTC)
    r = rules()
    duration = dt.timedelta(minutes=minutes)
    for start in slots.free_starts(r, duration, day, day + dt.timedelta(days=3), now, {}):
        local_start, local_end = start.astimezone(AMS), (start + duration).astimezone(AMS)
        assert not slots.is_public_holiday(local_start.date())
        assert any(
            b.weekday == local_start.weekday()
            and b.opens <= local_start.time()
            and local_end.time() <= b.closes
            for b in r.blocks
        )
        assert now + r.lead <= start <= now + r.horizon


def test_reference_codes() -> None:
    ref = new_reference()
    assert PATTERN.match(ref)
    assert not set(ref[3:].replace("-", "")) - set(ALPHABET)
    assert normalise(ref.lower().replace("-", " ")) == ref
    assert normalise("DB-0000-00") is None
