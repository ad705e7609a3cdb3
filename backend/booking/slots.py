"""Which start times a service offers: pure rules, no database.

Times are planned in the municipality's local time (opening hours are local) and handed out in UTC.
A day's opening blocks come from the team's week, unless a :class:`DayPlan` exception replaces them
(closed, extra opening, changed hours); Dutch public holidays are closed unless an exception opens
them.

Every appointment covers whole *units* of five minutes, from its start to its end plus the service's
buffer. Each unit has seats in one or two capacity *pools*: the team's desks (per block if a block
says so) and, for a service with its own capacity, that service. The database enforces the seats
with one row per pool, unit and seat (see ``SlotClaim`` and docs/adr/0002); this module predicts
them, so citizens are offered slots that are very likely still free.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

import holidays

UNIT = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Block:
    """Opening hours on one day, local wall-clock time; ``desks`` None means the team's desks."""

    opens: dt.time
    closes: dt.time
    desks: int | None = None


@dataclass(frozen=True)
class WeeklyBlock:
    weekday: int
    """0 = Monday ... 6 = Sunday."""
    opens: dt.time
    closes: dt.time
    desks: int | None = None


@dataclass(frozen=True)
class AgendaRules:
    """A team's agenda: its week, its exceptions and its desks."""

    timezone: ZoneInfo
    blocks: tuple[WeeklyBlock, ...]
    desks: int
    lead: dt.timedelta
    horizon: dt.timedelta
    closed_on_public_holidays: bool = True
    exceptions: Mapping[dt.date, tuple[Block, ...]] = field(default_factory=dict)
    """Days whose blocks replace the week (and the holiday rule); an empty tuple closes the day."""


@dataclass(frozen=True)
class ServiceRules:
    duration: dt.timedelta
    step: dt.timedelta
    buffer: dt.timedelta = dt.timedelta()
    lead: dt.timedelta | None = None
    """None: the team's lead."""
    horizon: dt.timedelta | None = None
    """None: the team's horizon."""
    capacity: int | None = None
    """At most this many of this service at once; None: only the desks limit it."""

    @property
    def span(self) -> dt.timedelta:
        """What an appointment holds in the agenda: its duration and the buffer after it."""
        return self.duration + self.buffer


@dataclass(frozen=True)
class Window:
    """When a booking may start: ``lead`` from now at the earliest, ``horizon`` from now at the latest."""

    earliest: dt.datetime
    latest: dt.datetime

    def contains(self, moment: dt.datetime) -> bool:
        return self.earliest <= moment <= self.latest


def booking_window(rules: AgendaRules, service: ServiceRules, now: dt.datetime) -> Window:
    lead = service.lead if service.lead is not None else rules.lead
    horizon = service.horizon if service.horizon is not None else rules.horizon
    return Window(now + lead, now + horizon)


@dataclass(frozen=True)
class Candidate:
    start: dt.datetime
    """UTC."""
    desks: int
    """Seats of the team's pool in the block this start lies in."""


@dataclass(frozen=True)
class Taken:
    """Seats already held, per unit start (UTC), in the team's pool and in the service's own pool."""

    team: Mapping[dt.datetime, int] = field(default_factory=dict)
    service: Mapping[dt.datetime, int] = field(default_factory=dict)


@cache
def _dutch_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=year)


def is_public_holiday(day: dt.date) -> bool:
    return day in _dutch_holidays(day.year)


def is_working_day(day: dt.date) -> bool:
    """Not a Saturday, Sunday or Dutch public holiday (Algemene termijnenwet)."""
    return day.weekday() < 5 and not is_public_holiday(day)


def blocks_on(rules: AgendaRules, day: dt.date) -> tuple[Block, ...]:
    """The opening blocks of ``day`` after exceptions and public holidays."""
    if day in rules.exceptions:
        return tuple(sorted(rules.exceptions[day], key=lambda block: block.opens))
    if rules.closed_on_public_holidays and is_public_holiday(day):
        return ()
    weekly = [Block(b.opens, b.closes, b.desks) for b in rules.blocks if b.weekday == day.weekday()]
    return tuple(sorted(weekly, key=lambda block: block.opens))  # rows come in any order


def units(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The unit start times from ``start`` up to ``end``."""
    out = []
    moment = start
    while moment < end:
        out.append(moment)
        moment += UNIT
    return out


def is_aligned(moment: dt.datetime) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and moment.minute % 5 == 0


def _local(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz)


def _exists(moment: dt.datetime) -> bool:
    """False for wall-clock times skipped when the clocks go forward (02:00-03:00 in March)."""
    round_trip = moment.astimezone(dt.UTC).astimezone(moment.tzinfo)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def candidates(rules: AgendaRules, service: ServiceRules, day: dt.date) -> Iterator[Candidate]:
    """Start times on one local day, every ``step`` from each block's opening, each fitting the block."""
    for block in blocks_on(rules, day):
        start = _local(day, block.opens, rules.timezone)
        closes = _local(day, block.closes, rules.timezone)
        desks = rules.desks if block.desks is None else block.desks
        while start + service.duration <= closes:
            if _exists(start):
                yield Candidate(start.astimezone(dt.UTC), desks)
            # Step in wall-clock time, so a DST change mid-day keeps the local grid.
            start = (start.replace(tzinfo=None) + service.step).replace(tzinfo=rules.timezone)


def has_room(service: ServiceRules, candidate: Candidate, taken: Taken) -> bool:
    covered = units(candidate.start, candidate.start + service.span)
    if any(taken.team.get(unit, 0) >= candidate.desks for unit in covered):
        return False
    capacity = service.capacity
    return capacity is None or all(taken.service.get(unit, 0) < capacity for unit in covered)


def free_starts(
    rules: AgendaRules,
    service: ServiceRules,
    first_day: dt.date,
    last_day: dt.date,
    window: Window,
    taken: Taken,
) -> list[dt.datetime]:
    """Free start times (UTC) between two local days (inclusive), inside ``window``."""
    found: dict[dt.datetime, None] = {}  # ordered and without doubles (blocks entered overlapping)
    day = first_day
    while day <= last_day:
        for candidate in candidates(rules, service, day):
            if window.contains(candidate.start) and has_room(service, candidate, taken):
                found.setdefault(candidate.start)
        day += dt.timedelta(days=1)
    return list(found)


def candidate_at(
    rules: AgendaRules, service: ServiceRules, start: dt.datetime, window: Window
) -> Candidate | None:
    """The candidate starting at ``start`` if the service offers that time (capacity aside)."""
    if not is_aligned(start) or not window.contains(start):
        return None
    local_day = start.astimezone(rules.timezone).date()
    return next((c for c in candidates(rules, service, local_day) if c.start == start), None)


def count_by_unit(unit_starts: Iterable[dt.datetime]) -> dict[dt.datetime, int]:
    counts: dict[dt.datetime, int] = {}
    for unit in unit_starts:
        counts[unit] = counts.get(unit, 0) + 1
    return counts
