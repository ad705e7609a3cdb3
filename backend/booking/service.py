"""Booking: finding free slots and taking, moving or releasing one, with the database as the judge."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import slots
from backend.booking.deadlines import DayRange, rule_for
from backend.booking.reference import new_reference
from backend.booking.tokens import hash_token, new_token
from backend.booking.validation import as_utc
from backend.db.locks import lock_appointment
from backend.db.models import (
    Appointment,
    AppointmentStatus,
    OpeningHours,
    Participant,
    ScheduleException,
    Service,
    SlotClaim,
    Team,
)
from backend.db.models.appointment import ACTIVE_STATUSES
from backend.i18n import N_

OFFICIAL_HORIZON = dt.timedelta(days=366)
"""How far ahead an official may book for a caller (they may pass the service's own horizon)."""
TAKEN = N_("Dit tijdstip is net door iemand anders geboekt.")
NOT_OFFERED = N_("Dit tijdstip kunt u niet boeken.")
NOT_CHANGEABLE_TITLE = N_("Wijzigen kan niet meer")


class BookingError(Exception):
    """A booking that cannot be made; ``code`` names the reason for pages and the API."""

    code = "invalid"

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        """Dutch, N_-marked; pages translate it and fill ``values``."""
        self.values = values


class SlotNotOffered(BookingError):
    code = "slot_not_offered"


class OutsideDeadline(SlotNotOffered):
    code = "outside_deadline"


class SlotTaken(BookingError):
    code = "slot_taken"


class TooManyBookings(BookingError):
    code = "too_many"


class NotChangeable(BookingError):
    code = "not_changeable"


@dataclass(frozen=True)
class Citizen:
    name: str
    email: str


@dataclass
class Booking:
    appointment: Appointment
    participant: Participant
    join_token: str = field(repr=False)
    manage_token: str = field(repr=False)


OnBooked = Callable[[AsyncSession, Booking], Awaitable[None]]


@dataclass(frozen=True)
class Rules:
    """Everything that decides a service's slots: its team's agenda and its own rules."""

    agenda: slots.AgendaRules
    service: slots.ServiceRules

    def window(self, now: dt.datetime, *, by_official: bool = False) -> slots.Window:
        """When a booking may start; an official booking for a caller skips notice and horizon
        (never capacity)."""
        if by_official:
            return slots.Window(now, now + OFFICIAL_HORIZON)
        return slots.booking_window(self.agenda, self.service, now)


async def load_rules(session: AsyncSession, service: Service) -> Rules:
    """The rules of ``service``, read fresh from the database (agenda data changes without a deploy)."""
    team = await session.get_one(Team, service.team_id)
    blocks = await session.scalars(select(OpeningHours).where(OpeningHours.team_id == team.id))
    exceptions = await session.scalars(select(ScheduleException).where(ScheduleException.team_id == team.id))
    agenda = slots.AgendaRules(
        timezone=ZoneInfo(team.municipality.timezone),
        blocks=tuple(slots.WeeklyBlock(b.weekday, b.opens, b.closes, b.desks) for b in blocks),
        desks=team.desks,
        lead=dt.timedelta(minutes=team.lead_minutes),
        horizon=dt.timedelta(days=team.horizon_days),
        closed_on_public_holidays=team.closed_on_public_holidays,
        exceptions={e.day: _exception_blocks(e.blocks) for e in exceptions},
    )
    return Rules(agenda, service_rules(service))


def _exception_blocks(raw: list[dict[str, Any]]) -> tuple[slots.Block, ...]:
    return tuple(
        slots.Block(dt.time.fromisoformat(b["opens"]), dt.time.fromisoformat(b["closes"]), b.get("desks"))
        for b in raw
    )


def service_rules(service: Service) -> slots.ServiceRules:
    duration = dt.timedelta(minutes=service.duration_minutes)
    return slots.ServiceRules(
        duration=duration,
        step=dt.timedelta(minutes=service.step_minutes) if service.step_minutes else duration,
        buffer=dt.timedelta(minutes=service.buffer_minutes),
        lead=None if service.lead_minutes is None else dt.timedelta(minutes=service.lead_minutes),
        horizon=None if service.horizon_days is None else dt.timedelta(days=service.horizon_days),
        capacity=service.capacity,
    )


def deadline_days(service: Service, intake: Mapping[str, Any]) -> DayRange | None:
    """The days the service's legal deadline allows for these answers (None: no deadline applies)."""
    rule = rule_for(service.deadline_rule)
    return rule.days(intake) if rule is not None else None


async def get_service(session: AsyncSession, service_id: UUID) -> Service | None:
    """The service if citizens may book it now: published (a draft or a withdrawn one is not) by a
    municipality that is not switched off."""
    service = await session.get(Service, service_id)
    return service if service is not None and service.is_bookable else None


async def taken_seats(
    session: AsyncSession, service: Service, start: dt.datetime, end: dt.datetime
) -> slots.Taken:
    """Seats held per unit in the team's pool and in the service's own pool (counted in SQL)."""
    rows = await session.execute(
        select(SlotClaim.pool_id, SlotClaim.unit_start, func.count())
        .where(
            SlotClaim.team_id == service.team_id,
            SlotClaim.pool_id.in_([service.team_id, service.id]),
            SlotClaim.unit_start >= start,
            SlotClaim.unit_start < end,
        )
        .group_by(SlotClaim.pool_id, SlotClaim.unit_start)
    )
    team: dict[dt.datetime, int] = {}
    own: dict[dt.datetime, int] = {}
    for pool_id, unit, count in rows:
        (team if pool_id == service.team_id else own)[unit] = count
    return slots.Taken(team=team, service=own)


async def free_slots(
    session: AsyncSession,
    service: Service,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    *,
    days: DayRange | None = None,
    by_official: bool = False,
    rules: Rules | None = None,
) -> list[dt.datetime]:
    """Free start times (UTC) between two local days, inside the booking window and ``days``."""
    if days is not None:
        first_day, last_day = max(first_day, days.first), min(last_day, days.last)
    if last_day < first_day:
        return []
    rules = rules or await load_rules(session, service)
    tz = rules.agenda.timezone
    window_start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    window_end = dt.datetime.combine(last_day + dt.timedelta(days=2), dt.time(), tzinfo=tz)
    taken = await taken_seats(session, service, window_start, window_end.astimezone(dt.UTC))
    window = rules.window(now, by_official=by_official)
    return slots.free_starts(rules.agenda, rules.service, first_day, last_day, window, taken)


def check_offered(
    rules: Rules,
    service: Service,
    start: dt.datetime,
    now: dt.datetime,
    intake: Mapping[str, Any],
    *,
    by_official: bool = False,
) -> slots.Candidate:
    """The candidate at ``start``, or :class:`SlotNotOffered` / :class:`OutsideDeadline` saying why not."""
    utc = as_utc(start)
    window = rules.window(now, by_official=by_official)
    candidate = None if utc is None else slots.candidate_at(rules.agenda, rules.service, utc, window)
    if utc is None or candidate is None:
        raise SlotNotOffered(NOT_OFFERED)
    days = deadline_days(service, intake)
    rule = rule_for(service.deadline_rule)
    local_day = utc.astimezone(rules.agenda.timezone).date()
    if rule is not None and (days is None or not days.contains(local_day)):
        raise OutsideDeadline(rule.explanation, last=days.last if days else None)
    return candidate


async def active_bookings_for(session: AsyncSession, service: Service, email: str, now: dt.datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.service_id == service.id,
            func.lower(Appointment.citizen_email) == email.lower(),
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.end_at > now,
        )
    )
    return int(count or 0)


async def book(
    session: AsyncSession,
    service: Service,
    start: dt.datetime,
    citizen: Citizen,
    *,
    now: dt.datetime,
    intake: dict[str, Any] | None = None,
    locale: str = "nl",
    created_by: UUID | None = None,
    on_booked: OnBooked | None = None,
    attempts: int | None = None,
) -> Booking:
    """Take the slot at ``start`` for ``citizen`` and commit.

    ``intake`` must already be checked (:mod:`backend.booking.intake`). ``created_by`` is the official
    booking for a caller: notice and horizon do not apply then, capacity does. ``on_booked(session,
    booking)`` runs inside the same transaction (the emails go into the outbox there), so either the
    appointment and its emails exist or nothing does. Raises a :class:`BookingError`.
    """
    answers = intake or {}
    rules = await load_rules(session, service)
    candidate = check_offered(rules, service, start, now, answers, by_official=created_by is not None)
    if await active_bookings_for(session, service, citizen.email, now) >= service.max_active_per_email:
        await session.commit()  # end the read transaction (SQLite's write lock) before refusing
        raise TooManyBookings(
            N_("Met dit e-mailadres staan al {count} afspraken voor deze dienst. Annuleer er eerst een."),
            count=service.max_active_per_email,
        )
    # A failed attempt means another booking took a seat in the meantime (or a reference code
    # collided): after as many failures as there are seats the time is full, so this many attempts
    # never turns away someone while a seat is free.
    tries = attempts if attempts is not None else _seats(service, candidate) + 2
    for _ in range(tries):
        try:
            # A savepoint per attempt: rolling it back leaves the caller's objects usable.
            async with session.begin_nested():
                booking = await _try_book(
                    session, service, rules, candidate, citizen, answers, locale, created_by
                )
        except IntegrityError:
            continue  # another booking took a seat (or a reference code collided): look again
        except SlotTaken:
            await session.commit()
            raise
        if on_booked is not None:
            await on_booked(session, booking)
        await session.commit()
        return booking
    raise SlotTaken(TAKEN)


def _seats(service: Service, candidate: slots.Candidate) -> int:
    """Every seat another booking could take from under this one, in both pools."""
    return candidate.desks + (service.capacity or 0)


async def _try_book(
    session: AsyncSession,
    service: Service,
    rules: Rules,
    candidate: slots.Candidate,
    citizen: Citizen,
    intake: dict[str, Any],
    locale: str,
    created_by: UUID | None,
) -> Booking:
    team = service.team
    join_token, manage_token = new_token(), new_token()
    appointment = Appointment(
        reference=new_reference(),
        service_id=service.id,
        team_id=team.id,
        municipality_id=team.municipality_id,
        start_at=candidate.start,
        end_at=candidate.start + rules.service.duration,
        status=AppointmentStatus.BOOKED,
        citizen_name=citizen.name,
        citizen_email=citizen.email,
        locale=locale,
        intake=intake,
        manage_token_hash=hash_token(manage_token),
        created_by_official_id=created_by,
    )
    participant = Participant(
        name=citizen.name, email=citizen.email, join_token_hash=hash_token(join_token), role="citizen"
    )
    appointment.participants.append(participant)
    session.add(appointment)
    await session.flush()
    await _claim(session, service, rules, appointment, candidate)
    return Booking(appointment, participant, join_token, manage_token)


async def _claim(
    session: AsyncSession,
    service: Service,
    rules: Rules,
    appointment: Appointment,
    candidate: slots.Candidate,
) -> None:
    """Insert the seat claims for ``appointment``; :class:`SlotTaken` when a pool is full.

    The seats are chosen from what looks free; the unique key on (pool, unit, seat) is the guarantee
    when another transaction chose the same seat in the meantime (IntegrityError for the caller).
    """
    covered = slots.units(candidate.start, candidate.start + rules.service.span)
    pools = [(service.team_id, candidate.desks)]
    if service.capacity is not None:
        pools.append((service.id, service.capacity))
    for pool_id, capacity in pools:
        seats = await _free_seats(session, pool_id, covered, capacity)
        session.add_all(
            SlotClaim(
                pool_id=pool_id,
                team_id=service.team_id,
                unit_start=unit,
                seat=seat,
                appointment_id=appointment.id,
            )
            for unit, seat in zip(covered, seats, strict=True)
        )
    await session.flush()


async def _free_seats(
    session: AsyncSession, pool_id: UUID, unit_starts: list[dt.datetime], capacity: int
) -> list[int]:
    rows = await session.execute(
        select(SlotClaim.unit_start, SlotClaim.seat).where(
            SlotClaim.pool_id == pool_id, SlotClaim.unit_start.in_(unit_starts)
        )
    )
    held: dict[dt.datetime, set[int]] = {}
    for unit, seat in rows:
        held.setdefault(unit, set()).add(seat)
    seats = []
    for unit in unit_starts:
        free = [seat for seat in range(capacity) if seat not in held.get(unit, set())]
        if not free:
            raise SlotTaken(TAKEN)
        # Any free seat, not the lowest: bookings at the same moment would all pick the same one and
        # all but one collide on the unique key (ADR 0002); spread out, most of them get theirs.
        seats.append(secrets.choice(free))
    return seats


async def release_slot(session: AsyncSession, appointment: Appointment) -> None:
    """Free the appointment's seats at once (cancellation, a move to another time)."""
    await session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment.id))


async def _locked(session: AsyncSession, appointment: Appointment) -> Appointment:
    """The appointment read again under a row lock (PostgreSQL ``FOR UPDATE``; on SQLite the
    transaction already holds the write lock): a cancel and a move at the same moment, or two
    moves, take turns and the second sees what the first did."""
    locked = await lock_appointment(session, appointment.id)
    if locked is None:
        raise NotChangeable(N_("Deze afspraak kunt u niet meer wijzigen."))
    return locked


async def _changeable(session: AsyncSession, appointment: Appointment, now: dt.datetime) -> Appointment:
    appointment = await _locked(session, appointment)
    check_changeable(appointment, now)  # a refusal's lock ends with the request's transaction
    return appointment


def check_changeable(appointment: Appointment, now: dt.datetime) -> None:
    """Only a booked appointment that has not started can be moved or cancelled by the citizen."""
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotChangeable(N_("Deze afspraak kunt u niet meer wijzigen."))
    if appointment.start_at <= now:
        raise NotChangeable(N_("Deze afspraak is al begonnen. Wijzigen kan niet meer."))


async def reschedule(
    session: AsyncSession,
    appointment: Appointment,
    start: dt.datetime,
    *,
    now: dt.datetime,
    on_moved: Callable[[AsyncSession, Appointment], Awaitable[None]] | None = None,
    attempts: int | None = None,
) -> Appointment:
    """Move ``appointment`` to ``start`` and commit; on any refusal it keeps its old time."""
    appointment = await _changeable(session, appointment, now)
    service = appointment.service
    rules = await load_rules(session, service)
    candidate = check_offered(rules, service, start, now, appointment.intake)
    if candidate.start == appointment.start_at:
        raise SlotNotOffered(N_("Uw afspraak staat al op dit tijdstip."))
    for _ in range(attempts if attempts is not None else _seats(service, candidate) + 2):
        try:
            async with session.begin_nested():
                await release_slot(session, appointment)
                await _claim(session, service, rules, appointment, candidate)
                appointment.start_at = candidate.start
                appointment.end_at = candidate.start + rules.service.duration
                appointment.sequence += 1
                await session.flush()
        except IntegrityError:
            await session.refresh(appointment)
            continue
        except SlotTaken:
            await session.rollback()
            raise
        if on_moved is not None:
            await on_moved(session, appointment)
        await session.commit()
        return appointment
    await session.rollback()
    raise SlotTaken(TAKEN)


async def cancel(
    session: AsyncSession,
    appointment: Appointment,
    *,
    now: dt.datetime,
    reason: str = "",
    on_cancelled: Callable[[AsyncSession, Appointment], Awaitable[None]] | None = None,
) -> Appointment:
    """Cancel ``appointment`` and free its seats at once, then commit."""
    appointment = await _changeable(session, appointment, now)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancel_reason = reason[:500]
    appointment.sequence += 1
    await release_slot(session, appointment)
    if on_cancelled is not None:
        await on_cancelled(session, appointment)
    await session.commit()
    return appointment
