"""Booking as people start it: each change together with its emails and audit event, in one commit.

Pages and the API call these; the service layer (:mod:`backend.booking.service`) decides what may
happen, this module adds what must happen with it: the outbox rows (confirmation, reminders, a
notice of the move or the cancellation), new join links where the old ones must stop working, the
audit trail, and a nudge for the worker and the live desk.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.intake import partner_in
from backend.booking.service import Booking, Citizen, OnBooked, book, cancel, reschedule
from backend.booking.tokens import hash_token, new_token
from backend.clock import Clock, system_clock
from backend.db.models import Appointment, Service
from backend.email.messages import (
    Tokens,
    cancel_reminders,
    queue_appointment_email,
    queue_booking_confirmation,
    queue_reminders,
)
from backend.notify import Notify
from backend.participants import invite
from backend.settings import Settings


def _actor(official_id: UUID | None, appointment: Appointment) -> str:
    return audit.official_actor(official_id) if official_id else f"citizen:{appointment.id}"


async def book_and_confirm(
    session: AsyncSession,
    settings: Settings,
    notify: Notify,
    service: Service,
    start: dt.datetime,
    citizen: Citizen,
    *,
    intake: dict[str, Any] | None = None,
    locale: str = "nl",
    created_by: UUID | None = None,
    origin: str = "",
    on_booked: OnBooked | None = None,
    clock: Clock = system_clock,
) -> Booking:
    """Book and queue the confirmation and reminders, and commit.

    ``on_booked(session, booking)`` runs after them in the same transaction: what it adds is
    committed with the booking, or nothing is.
    """

    now = clock()

    async def confirm(session: AsyncSession, booking: Booking) -> None:
        tokens = Tokens(join=booking.join_token, manage=booking.manage_token)
        await queue_booking_confirmation(
            session, booking.appointment, booking.participant, tokens=tokens, settings=settings, now=now
        )
        partner = partner_in(booking.appointment.intake)
        if partner is not None:  # ondertrouw: the partner gets an own link, in the same commit
            await invite(
                session,
                booking.appointment,
                name=partner[0],
                email=partner[1],
                role="partner",
                settings=settings,
                locale=locale,
                origin=origin,
                clock=clock,
            )
        audit.appointment_booked(
            session,
            booking.appointment,
            actor=_actor(created_by, booking.appointment),
            service_id=service.id,
            by_official=created_by is not None,
            origin=origin,
        )
        if on_booked is not None:
            await on_booked(session, booking)

    booking = await book(
        session,
        service,
        start,
        citizen,
        now=now,
        intake=intake,
        locale=locale,
        created_by=created_by,
        on_booked=confirm,
    )
    await notify.appointment_changed(booking.appointment)
    return booking


async def move_and_notify(
    session: AsyncSession,
    settings: Settings,
    notify: Notify,
    appointment: Appointment,
    start: dt.datetime,
    *,
    manage_token: str,
    origin: str = "",
    clock: Clock = system_clock,
) -> Appointment:
    """Move the appointment; everyone gets the new time with a new join link (the old ones stop)."""
    old_start, now = appointment.start_at, clock()

    async def moved(session: AsyncSession, appointment: Appointment) -> None:
        await cancel_reminders(session, appointment)
        for participant in appointment.participants:
            if participant.revoked_at is not None:
                continue
            join = new_token()
            participant.join_token_hash = hash_token(join)
            tokens = Tokens(join=join, manage=manage_token if participant.role == "citizen" else None)
            await queue_appointment_email(
                session,
                "rescheduled",
                appointment,
                participant,
                tokens=tokens,
                settings=settings,
                key=f"rescheduled:{participant.id}:{appointment.sequence}",
                now=now,
            )
            await queue_reminders(
                session, appointment, participant, tokens=tokens, settings=settings, now=now
            )
        audit.appointment_rescheduled(
            session, appointment, actor=_actor(None, appointment), moved_from=old_start, origin=origin
        )

    await reschedule(session, appointment, start, now=now, on_moved=moved)
    await notify.appointment_changed(appointment)
    return appointment


async def cancel_and_notify(
    session: AsyncSession,
    settings: Settings,
    notify: Notify,
    appointment: Appointment,
    *,
    reason: str = "",
    cancelled_by: UUID | None = None,
    origin: str = "",
    clock: Clock = system_clock,
) -> Appointment:
    """Cancel; the slot is free at once and everyone gets a cancellation with ``METHOD:CANCEL``."""
    now = clock()

    async def cancelled(session: AsyncSession, appointment: Appointment) -> None:
        await cancel_reminders(session, appointment)
        for participant in appointment.participants:
            if participant.revoked_at is not None:
                continue
            await queue_appointment_email(
                session,
                "cancelled",
                appointment,
                participant,
                tokens=None,
                settings=settings,
                key=f"cancelled:{participant.id}",
                now=now,
            )
        audit.appointment_cancelled(
            session,
            appointment,
            actor=_actor(cancelled_by, appointment),
            with_reason=bool(reason),
            origin=origin,
        )

    await cancel(session, appointment, now=now, reason=reason, on_cancelled=cancelled)
    await notify.appointment_changed(appointment)
    return appointment
