"""Booking: finding free slots and taking one, with the database as the final judge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import slots
from backend.booking.reference import new_reference
from backend.booking.tokens import hash_token, new_token
from backend.booking.validation import as_utc
from backend.db.models import Appointment, AppointmentStatus, Participant, Service, SlotClaim, Team
from backend.db.models.appointment import ACTIVE_STATUSES
from backend.i18n import N_


class BookingError(Exception):
    """A booking that cannot be made; ``code`` names the reason for pages and the API."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SlotNotOffered(BookingError):
    code = "slot_not_offered"


class SlotTaken(BookingError):
    code = "slot_taken"


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


def agenda_rules(team: Team) -> slots.AgendaRules:
    return slots.AgendaRules(
        timezone=ZoneInfo(team.municipality.timezone),
        blocks=tuple(slots.OpeningBlock(b.weekday, b.opens, b.closes) for b in team.opening_hours),
        desks=team.desks,
        lead=dt.timedelta(minutes=team.lead_minutes),
        horizon=dt.timedelta(days=team.horizon_days),
        closed_on_public_holidays=team.closed_on_public_holidays,
    )


async def get_service(session: AsyncSession, service_id: UUID) -> Service | None:
    return await session.get(Service, service_id)


async def taken_units(
    session: AsyncSession, team_id: UUID, start: dt.datetime, end: dt.datetime
) -> dict[dt.datetime, int]:
    rows = await session.scalars(
        select(SlotClaim.unit_start).where(
            SlotClaim.team_id == team_id, SlotClaim.unit_start >= start, SlotClaim.unit_start < end
        )
    )
    return slots.count_by_unit(rows)


async def free_slots(
    session: AsyncSession, service: Service, first_day: dt.date, last_day: dt.date, now: dt.datetime
) -> list[dt.datetime]:
    rules = agenda_rules(service.team)
    window_start = dt.datetime.combine(first_day, dt.time(), tzinfo=rules.timezone).astimezone(dt.UTC)
    window_end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=rules.timezone)
    taken = await taken_units(session, service.team_id, window_start, window_end.astimezone(dt.UTC))
    duration = dt.timedelta(minutes=service.duration_minutes)
    return slots.free_starts(rules, duration, first_day, last_day, now, taken)


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
    on_booked: Any = None,
    attempts: int = 4,
) -> Booking:
    """Take the slot at ``start`` for ``citizen`` and commit.

    ``on_booked(session, booking)`` runs inside the same transaction (the confirmation email goes into
    the outbox there), so either both the appointment and its email exist or neither does.
    Raises :class:`SlotNotOffered` or :class:`SlotTaken`.
    """
    utc = as_utc(start)
    duration = dt.timedelta(minutes=service.duration_minutes)
    rules = agenda_rules(service.team)
    if utc is None or not slots.is_offered(rules, duration, utc, now):
        raise SlotNotOffered(N_("Dit tijdstip kunt u niet boeken."))
    start = utc
    for _ in range(attempts):
        try:
            # A savepoint per attempt: rolling it back leaves the caller's objects usable.
            async with session.begin_nested():
                booking = await _try_book(
                    session, service, start, duration, citizen, intake or {}, locale, created_by
                )
        except IntegrityError:
            continue  # another booking took a seat (or a reference code collided): look again
        except SlotTaken:
            await session.commit()  # end the (read-only) transaction so SQLite's write lock goes
            raise
        if on_booked is not None:
            await on_booked(session, booking)
        await session.commit()
        return booking
    raise SlotTaken(N_("Dit tijdstip is net door iemand anders geboekt."))


async def _try_book(
    session: AsyncSession,
    service: Service,
    start: dt.datetime,
    duration: dt.timedelta,
    citizen: Citizen,
    intake: dict[str, Any],
    locale: str,
    created_by: UUID | None,
) -> Booking:
    team = service.team
    unit_starts = slots.units(start, start + duration)
    seats = await _free_seats(session, team, unit_starts)
    join_token, manage_token = new_token(), new_token()
    appointment = Appointment(
        reference=new_reference(),
        service_id=service.id,
        team_id=team.id,
        municipality_id=team.municipality_id,
        start_at=start,
        end_at=start + duration,
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
    session.add_all(
        SlotClaim(team_id=team.id, unit_start=unit, seat=seat, appointment_id=appointment.id)
        for unit, seat in zip(unit_starts, seats, strict=True)
    )
    await session.flush()
    return Booking(appointment, participant, join_token, manage_token)


async def _free_seats(session: AsyncSession, team: Team, unit_starts: list[dt.datetime]) -> list[int]:
    rows = await session.execute(
        select(SlotClaim.unit_start, SlotClaim.seat).where(
            SlotClaim.team_id == team.id, SlotClaim.unit_start.in_(unit_starts)
        )
    )
    held: dict[dt.datetime, set[int]] = {}
    for unit, seat in rows:
        held.setdefault(unit, set()).add(seat)
    seats = []
    for unit in unit_starts:
        free = [seat for seat in range(team.desks) if seat not in held.get(unit, set())]
        if not free:
            raise SlotTaken(N_("Dit tijdstip is net door iemand anders geboekt."))
        seats.append(free[0])
    return seats


async def release_slot(session: AsyncSession, appointment: Appointment) -> None:
    """Free the appointment's units at once (cancellation, no-show, end of call)."""
    await session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment.id))


async def appointment_by_reference(session: AsyncSession, reference: str) -> Appointment | None:
    return await session.scalar(select(Appointment).where(Appointment.reference == reference))


def is_active(appointment: Appointment) -> bool:
    return appointment.status in ACTIVE_STATUSES
