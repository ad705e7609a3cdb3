"""Periodic jobs beside the outbox: today, marking appointments nobody came to as ``no_show``.

An appointment still ``booked`` when its join window has closed (its end plus the grace window) had
no one in the waiting room: it becomes ``no_show``, audited as done by the system. The job runs in the
web process by default and in ``balie worker`` in deployments; running it on several nodes at once
is harmless (the update is conditional on the status).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import audit
from backend.db.models import Appointment, AppointmentStatus
from backend.settings import Settings

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
Notify = Callable[[Appointment], Awaitable[None]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        audit.record(
            session,
            actor="system",
            action="appointment.no_show",
            object_type="appointment",
            object_id=appointment.id,
            municipality_id=appointment.municipality_id,
            details={"automatic": True},
        )
    await session.commit()
    return due


class Housekeeper:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        notify: Notify | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._notify = notify
        self._clock = clock
        self._stop = asyncio.Event()

    async def run_once(self) -> int:
        grace = dt.timedelta(minutes=self._settings.join.grace_minutes_after)
        async with self._sessionmaker() as session:
            marked = await mark_no_shows(session, now=self._clock(), grace=grace)
        for appointment in marked:
            if self._notify is not None:
                await self._notify(appointment)
        return len(marked)

    async def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("housekeeping run failed")  # the database is away: next round
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._settings.worker.housekeeping_seconds)

    def stop(self) -> None:
        self._stop.set()


@asynccontextmanager
async def housekeeping_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the housekeeper in the web process when the worker runs there (the embedded default)."""
    settings: Settings = app.state.settings
    if not settings.worker.in_process:
        yield
        return
    hub = app.state.hub

    async def tell_desk(appointment: Appointment) -> None:
        from signalling.hub import team_channel

        await hub.emit(
            team_channel(appointment.team_id), {"type": "refresh", "appointment_id": str(appointment.id)}
        )

    keeper = Housekeeper(app.state.sessionmaker, settings, notify=tell_desk)
    task = asyncio.create_task(keeper.run_forever(), name="housekeeping")
    try:
        yield
    finally:
        keeper.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task
