"""Booking as citizens and officials start it: the slot, the appointment and its email in one go."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.service import Booking, Citizen, book
from backend.db.models import Service
from backend.email.messages import queue_booking_confirmation
from backend.settings import Settings


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def book_and_confirm(
    session: AsyncSession,
    state: State,
    service: Service,
    start: dt.datetime,
    citizen: Citizen,
    *,
    intake: dict[str, Any] | None = None,
    locale: str = "nl",
    created_by: Any = None,
) -> Booking:
    settings: Settings = state.settings

    async def confirm(session: AsyncSession, booking: Booking) -> None:
        await queue_booking_confirmation(
            session,
            booking.appointment,
            booking.participant,
            join_token=booking.join_token,
            manage_token=booking.manage_token,
            settings=settings,
        )

    booking = await book(
        session,
        service,
        start,
        citizen,
        now=utcnow(),
        intake=intake,
        locale=locale,
        created_by=created_by,
        on_booked=confirm,
    )
    worker = state.get("outbox_worker")
    if worker is not None:
        worker.wake()
    return booking
