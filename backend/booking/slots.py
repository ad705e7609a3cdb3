"""Which start times a service offers: pure rules, no database.

Times are planned in the municipality's local time (opening hours are local) and handed out in UTC.
Every appointment covers whole *units* of five minutes; a unit of a team can be held by at most
``desks`` appointments at once. The database enforces that limit with one row per unit and seat
(see ``SlotClaim`` and docs/adr/0002-bookings-unique-by-unit-claims.md); this module only predicts
it, so citizens are offered slots that are very likely still free.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import holidays

UNIT = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class OpeningBlock:
    weekday: int
    opens: dt.time
    closes: dt.time


@dataclass(frozen=True)
class AgendaRules:
    timezone: ZoneInfo
    blocks: tuple[OpeningBlock, ...]
    desks: int
    lead: dt.timedelta
    horizon: dt.timedelta
    closed_on_public_holidays: bool = True


@cache
def _dutch_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=year)


def is_public_holiday(day: dt.date) -> bool:
    return day in _dutch_holidays(day.year)


def units(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The unit start times an appointment from ``start`` to ``end`` covers."""
    out = []
    moment = start
    while moment < end:
        out.append(moment)
        moment += UNIT
    return out


def is_aligned(moment: dt.datetime) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and moment.minute % 5 == 0


def candidate_starts(rules: AgendaRules, duration: dt.timedelta, day: dt.date) -> Iterator[dt.datetime]:
    """Start times (UTC) on one local day, every ``duration``, each fitting inside an opening block."""
    if rules.closed_on_public_holidays and is_public_holiday(day):
        return
    for block in rules.blocks:
        if block.weekday != day.weekday():
            continue
        start = dt.datetime.combine(day, block.opens, tzinfo=rules.timezone)
        closes = dt.datetime.combine(day, block.closes, tzinfo=rules.timezone)
        while start + duration <= closes:
            if _exists(start):
                yield start.astimezone(dt.UTC)
            # Step in wall-clock time, so a DST change mid-day keeps the local grid.
            start = (start.replace(tzinfo=None) + duration).replace(tzinfo=rules.timezone)


def _exists(moment: dt.datetime) -> bool:
    """False for wall-clock times skipped when the clocks go forward (02:00-03:00 in March)."""
    round_trip = moment.astimezone(dt.UTC).astimezone(moment.tzinfo)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def within_booking_window(rules: AgendaRules, start: dt.datetime, now: dt.datetime) -> bool:
    return now + rules.lead <= start <= now + rules.horizon


def free_starts(
    rules: AgendaRules,
    duration: dt.timedelta,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    taken: Mapping[dt.datetime, int],
) -> list[dt.datetime]:
    """Free start times between two local days (inclusive), given how many seats each unit has taken."""
    found = []
    day = first_day
    while day <= last_day:
        for start in candidate_starts(rules, duration, day):
            if not within_booking_window(rules, start, now):
                continue
            if all(taken.get(unit, 0) < rules.desks for unit in units(start, start + duration)):
                found.append(start)
        day += dt.timedelta(days=1)
    return found


def is_offered(rules: AgendaRules, duration: dt.timedelta, start: dt.datetime, now: dt.datetime) -> bool:
    """Whether ``start`` is one of the service's start times (ignoring capacity)."""
    if not is_aligned(start) or not within_booking_window(rules, start, now):
        return False
    local_day = start.astimezone(rules.timezone).date()
    return start in set(candidate_starts(rules, duration, local_day))


def count_by_unit(unit_starts: Iterable[dt.datetime]) -> dict[dt.datetime, int]:
    counts: dict[dt.datetime, int] = {}
    for unit in unit_starts:
        counts[unit] = counts.get(unit, 0) + 1
    return counts
