"""Slot generation: opening blocks, exceptions, holidays, steps and buffers, capacity pools, DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.booking import slots
from backend.booking.reference import ALPHABET, PATTERN, new_reference, normalise

AMS = ZoneInfo("Europe/Amsterdam")
MIN = dt.timedelta(minutes=1)
WEEKDAYS = tuple(
    slots.WeeklyBlock(day, opens, closes)
    for day in range(5)
    for opens, closes in ((dt.time(9), dt.time(12, 30)), (dt.time(13, 30), dt.time(17)))
)
TUESDAY = dt.date(2026, 3, 3)


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


def service(minutes: int = 30, **overrides: object) -> slots.ServiceRules:
    values: dict[str, object] = {"duration": minutes * MIN, "step": minutes * MIN}
    values.update(overrides)
    return slots.ServiceRules(**values)  # type: ignore[arg-type]


def local_times(agenda: slots.AgendaRules, rules_of_service: slots.ServiceRules, day: dt.date) -> list[str]:
    return [
        c.start.astimezone(AMS).strftime("%H:%M") for c in slots.candidates(agenda, rules_of_service, day)
    ]


def open_window() -> slots.Window:
    return slots.Window(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))


def test_starts_follow_opening_blocks_in_local_time() -> None:
    starts = local_times(rules(), service(30), TUESDAY)
    assert starts[:2] == ["09:00", "09:30"]
    assert "12:00" in starts and "12:30" not in starts  # 12:30 would end after the block closes
    assert "13:30" in starts and starts[-1] == "16:30"


def test_step_can_be_shorter_than_the_duration() -> None:
    starts = local_times(rules(), service(30, step=15 * MIN), TUESDAY)
    assert starts[:3] == ["09:00", "09:15", "09:30"]
    assert "12:00" in starts and "12:15" not in starts


def test_weekend_and_public_holiday_are_closed_unless_an_exception_opens_them() -> None:
    assert local_times(rules(), service(20), dt.date(2026, 3, 7)) == []  # Saturday
    kingsday = dt.date(2026, 4, 27)  # Monday, Koningsdag
    assert slots.is_public_holiday(kingsday)
    assert local_times(rules(), service(20), kingsday) == []
    assert local_times(rules(closed_on_public_holidays=False), service(20), kingsday)
    extra = rules(exceptions={kingsday: (slots.Block(dt.time(10), dt.time(11)),)})
    assert local_times(extra, service(20), kingsday) == ["10:00", "10:20", "10:40"]


def test_exceptions_close_a_day_or_change_its_hours() -> None:
    closed = rules(exceptions={TUESDAY: ()})
    assert local_times(closed, service(30), TUESDAY) == []
    changed = rules(exceptions={TUESDAY: (slots.Block(dt.time(14), dt.time(15), desks=3),)})
    assert local_times(changed, service(30), TUESDAY) == ["14:00", "14:30"]
    assert {c.desks for c in slots.candidates(changed, service(30), TUESDAY)} == {3}
    assert local_times(changed, service(30), TUESDAY + dt.timedelta(days=1))[0] == "09:00"  # only that day


def test_capacity_per_block_per_service_and_the_buffer() -> None:
    now = dt.datetime(2026, 3, 3, 6, 0, tzinfo=dt.UTC)
    window = slots.Window(now, now + dt.timedelta(days=14))
    afternoon_two_desks = tuple(
        slots.WeeklyBlock(b.weekday, b.opens, b.closes, 2 if b.opens.hour >= 13 else None) for b in WEEKDAYS
    )
    agenda = rules(blocks=afternoon_two_desks)
    ten = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)  # 10:00 local
    half_two = dt.datetime(2026, 3, 3, 13, 30, tzinfo=dt.UTC)  # 14:30 local
    one_each = slots.Taken(
        team=slots.count_by_unit(
            [*slots.units(ten, ten + 30 * MIN), *slots.units(half_two, half_two + 30 * MIN)]
        )
    )
    free = slots.free_starts(agenda, service(30), TUESDAY, TUESDAY, window, one_each)
    assert ten not in free and half_two in free  # one desk in the morning, two in the afternoon

    capped = service(30, capacity=1)
    own = slots.Taken(
        team=one_each.team, service=slots.count_by_unit(slots.units(half_two, half_two + 30 * MIN))
    )
    assert half_two not in slots.free_starts(agenda, capped, TUESDAY, TUESDAY, window, own)

    buffered = service(30, buffer=15 * MIN)
    held = slots.Taken(team=slots.count_by_unit(slots.units(ten, ten + buffered.span)))
    starts = slots.free_starts(rules(), buffered, TUESDAY, TUESDAY, window, held)
    assert ten + 30 * MIN not in starts  # the official's 15 minutes after 10:00-10:30
    assert ten + 60 * MIN in starts


def test_dst_days_keep_the_local_grid() -> None:
    all_day = tuple(slots.WeeklyBlock(d, dt.time(0), dt.time(23, 55)) for d in range(7))
    agenda = rules(blocks=all_day, closed_on_public_holidays=False)
    for day in (dt.date(2026, 3, 29), dt.date(2026, 10, 25)):  # last Sundays of March and October
        local = [c.start.astimezone(AMS) for c in slots.candidates(agenda, service(60), day)]
        assert all(t.minute == 0 for t in local)
        assert len({t.astimezone(dt.UTC) for t in local}) == len(local)
    spring = [t for t in local_times(agenda, service(60), dt.date(2026, 3, 29))]
    assert "02:00" not in spring and "03:00" in spring  # 02:00-03:00 does not exist that night
    autumn = [c.start.astimezone(AMS) for c in slots.candidates(agenda, service(60), dt.date(2026, 10, 25))]
    assert [t.hour for t in autumn] == list(range(23))  # 00:00 .. 22:00 local, 02:00 once: the wall clock


def test_candidate_at_rejects_unaligned_outside_hours_and_outside_the_window() -> None:
    now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    window = slots.booking_window(rules(), service(20), now)
    good = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    assert slots.candidate_at(rules(), service(20), good, window) is not None
    assert slots.candidate_at(rules(), service(20), good + 7 * MIN, window) is None
    assert (
        slots.candidate_at(rules(), service(20), dt.datetime(2026, 3, 3, 22, tzinfo=dt.UTC), window) is None
    )
    assert slots.candidate_at(rules(), service(20), dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), window) is None
    assert (
        slots.candidate_at(rules(), service(20), dt.datetime(2026, 4, 30, 9, tzinfo=dt.UTC), window) is None
    )


def test_service_lead_and_horizon_override_the_teams() -> None:
    now = dt.datetime(2026, 3, 3, 7, 0, tzinfo=dt.UTC)
    window = slots.booking_window(
        rules(), service(30, lead=dt.timedelta(days=1), horizon=dt.timedelta(days=2)), now
    )
    assert window == slots.Window(now + dt.timedelta(days=1), now + dt.timedelta(days=2))


# -- properties ----------------------------------------------------------------------------------------


def _day_blocks(
    weekday: int, opens: int, first: int, gap: int, second: int, desks: int | None
) -> list[slots.WeeklyBlock]:
    """Up to two blocks on one weekday that do not overlap (times in five-minute steps from 06:00)."""
    out, at = [], 12 * 6 + opens
    for length in (first, second):
        if length and at + length < 12 * 24:
            out.append(slots.WeeklyBlock(weekday, _time(at), _time(at + length), desks))
        at += length + gap
    return out


def _time(fives: int) -> dt.time:
    return dt.time(fives // 12, fives % 12 * 5)


blocks = st.lists(
    st.builds(
        _day_blocks,
        st.integers(0, 6),
        st.integers(0, 12 * 6),
        st.integers(0, 12 * 4),
        st.integers(1, 12),
        st.integers(0, 12 * 4),
        st.one_of(st.none(), st.integers(1, 4)),
    ),
    max_size=4,
    unique_by=lambda day: day[0].weekday if day else -1,
).map(lambda days: [block for day in days for block in day])


@settings(max_examples=150, deadline=None)
@given(
    week=blocks,
    day=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2028, 12, 31)),
    hour=st.integers(0, 23),
    minutes=st.sampled_from([15, 20, 30, 45, 60]),
    step=st.sampled_from([5, 10, 15, 30, None]),
    buffer=st.sampled_from([0, 5, 10]),
    desks=st.integers(1, 3),
    capacity=st.one_of(st.none(), st.integers(1, 2)),
    lead_hours=st.integers(0, 48),
    horizon_days=st.integers(0, 10),
    taken_units=st.lists(st.integers(0, 12 * 24 * 4), max_size=40),
)
def test_no_slot_outside_hours_on_a_holiday_outside_the_window_or_over_capacity(
    week: list[slots.WeeklyBlock],
    day: dt.date,
    hour: int,
    minutes: int,
    step: int | None,
    buffer: int,
    desks: int,
    capacity: int | None,
    lead_hours: int,
    horizon_days: int,
    taken_units: list[int],
) -> None:
    agenda = rules(
        blocks=tuple(reversed(week)),
        desks=desks,
        lead=dt.timedelta(hours=lead_hours),
        horizon=dt.timedelta(days=horizon_days),
    )
    rules_of_service = service(minutes, step=(step or minutes) * MIN, buffer=buffer * MIN, capacity=capacity)
    now = dt.datetime.combine(day, dt.time(hour), tzinfo=AMS).astimezone(dt.UTC)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=AMS).astimezone(dt.UTC)
    team = slots.count_by_unit(midnight + n * slots.UNIT for n in taken_units)
    own = slots.count_by_unit(midnight + n * slots.UNIT for n in taken_units[::2])
    taken = slots.Taken(team=team, service=own)
    window = slots.booking_window(agenda, rules_of_service, now)

    for start in slots.free_starts(agenda, rules_of_service, day, day + dt.timedelta(days=3), window, taken):
        local_start, local_end = start.astimezone(AMS), (start + rules_of_service.duration).astimezone(AMS)
        assert not slots.is_public_holiday(local_start.date())
        assert local_start.date() == local_end.date() or local_end.time() == dt.time(0)
        fitting = [
            b
            for b in week
            if b.weekday == local_start.weekday()
            and b.opens <= local_start.time()
            and local_end.time() <= b.closes
        ]
        assert fitting, f"{local_start:%a %H:%M} is outside every opening block"
        assert now + agenda.lead <= start <= now + agenda.horizon
        seats = min((b.desks or desks) for b in fitting)
        for unit in slots.units(start, start + rules_of_service.span):
            assert team.get(unit, 0) < max(seats, desks if any(b.desks is None for b in fitting) else 0)
            if capacity is not None:
                assert own.get(unit, 0) < capacity


@settings(max_examples=40, deadline=None)
@given(
    minutes=st.sampled_from([10, 20, 30, 60]),
    day=st.sampled_from(
        [dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2027, 3, 28), dt.date(2027, 10, 31)]
    ),
)
def test_dst_sundays_offer_the_local_times_of_the_opening_hours(minutes: int, day: dt.date) -> None:
    agenda = rules(blocks=(slots.WeeklyBlock(6, dt.time(1), dt.time(5)),), closed_on_public_holidays=False)
    starts = [c.start for c in slots.candidates(agenda, service(minutes), day)]
    local = [s.astimezone(AMS) for s in starts]
    assert all(t.minute % minutes == 0 for t in local)
    assert all(dt.time(1) <= t.time() < dt.time(5) for t in local)
    assert starts == sorted(set(starts))  # no start twice, in time order, though the clocks jump


def test_reference_codes() -> None:
    ref = new_reference()
    assert PATTERN.match(ref)
    assert not set(ref[3:].replace("-", "")) - set(ALPHABET)
    assert normalise(ref.lower().replace("-", " ")) == ref
    assert normalise("DB-0000-00") is None
