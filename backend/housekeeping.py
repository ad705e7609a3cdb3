"""Periodic jobs beside the outbox: appointments that nobody closes are closed.

- An appointment still ``booked`` when its join window has closed (its end plus the grace window)
  had no one in the waiting room: it becomes ``no_show``.
- A call left open (the official closed the tab without ending it) is ended
  ``BALIE_CALL_CLOSE_AFTER_MINUTES`` after its planned end: ``completed`` when someone was admitted,
  ``no_show`` when the citizen waited but was never let in. Its documents then go (retention) and
  its pages hear ``ended``.

Both are audited as done by the system. The jobs run in the web process by default and in ``balie
worker`` in deployments; running them on several nodes at once is harmless (rows are locked with
``SKIP LOCKED`` and the updates depend on the status).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import audit, rooms
from backend.clock import Clock, system_clock
from backend.db.models import Appointment, AppointmentStatus
from backend.errors import background_failed
from backend.live import LivePages
from backend.notify import Wakeable
from backend.settings import Settings

log = logging.getLogger(__name__)
Notify = Callable[[Appointment, str | None], Awaitable[None]]
"""Tell the live pages: the appointment, and the outcome when a running call was ended."""


async def mark_no_shows(
    session: AsyncSession, *, now: dt.datetime, grace: dt.timedelta, limit: int = 200
) -> list[Appointment]:
    """Mark booked appointments whose join window closed before ``now``; commits, returns them."""
    due = list(
        await session.scalars(
            select(Appointment)
            .where(Appointment.status == AppointmentStatus.BOOKED, Appointment.end_at < now - grace)
            .order_by(Appointment.end_at)
            .limit(limit)
            .with_for_update(of=Appointment, skip_locked=True)
        )
    )
    for appointment in due:
        appointment.status = AppointmentStatus.NO_SHOW
        appointment.ended_at = now
        audit.no_show_marked(session, appointment)
    await session.commit()
    return due


async def close_forgotten_calls(
    session: AsyncSession, *, now: dt.datetime, after: dt.timedelta, limit: int = 200
) -> list[tuple[Appointment, str]]:
    """End calls still open ``after`` past their planned end; commits, returns them with the outcome."""
    due = list(
        await session.scalars(
            select(Appointment)
            .where(
                Appointment.status.in_((AppointmentStatus.WAITING, AppointmentStatus.IN_CALL)),
                Appointment.end_at < now - after,
            )
            .order_by(Appointment.end_at)
            .limit(limit)
            .with_for_update(of=Appointment, skip_locked=True)
        )
    )
    closed = []
    for appointment in due:
        admitted = appointment.status == AppointmentStatus.IN_CALL
        outcome = AppointmentStatus.COMPLETED if admitted else AppointmentStatus.NO_SHOW
        appointment.status = outcome
        appointment.ended_at = now
        for participant in appointment.participants:
            participant.state = rooms.transition(participant.state, "end")
        audit.forgotten_call_closed(session, appointment, outcome=str(outcome))
        closed.append((appointment, str(outcome)))
    await session.commit()
    return closed


class Housekeeper:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        notify: Notify | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._notify = notify
        self._clock = clock
        self._stop = asyncio.Event()

    async def run_once(self) -> int:
        """One round; returns how many appointments it closed."""
        join = self._settings.join
        grace, after = (
            dt.timedelta(minutes=join.grace_minutes_after),
            dt.timedelta(minutes=join.close_after_minutes),
        )
        async with self._sessionmaker() as session:
            marked = await mark_no_shows(session, now=self._clock(), grace=grace)
        async with self._sessionmaker() as session:
            ended = await close_forgotten_calls(session, now=self._clock(), after=after)
        if self._notify is not None:
            for appointment in marked:
                await self._notify(appointment, None)
            for appointment, outcome in ended:
                await self._notify(appointment, outcome)
        return len(marked) + len(ended)

    async def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:
                background_failed("housekeeping run", exc, log)  # the database is away: next round
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._settings.worker.housekeeping_seconds)

    def stop(self) -> None:
        self._stop.set()


def telling(live: LivePages, purger: Wakeable | None) -> Notify:
    """What the housekeeper tells: the desks read the appointment again, an ended call's pages hear
    ``ended``, and its unmarked documents go now (``purger``: when this process runs it)."""

    async def tell_pages(appointment: Appointment, outcome: str | None) -> None:
        await live.desks_changed(appointment.team_id, appointment.id)
        if outcome is not None:
            await live.call_ended(appointment.id, outcome)
            if purger is not None:
                purger.wake()

    return tell_pages
