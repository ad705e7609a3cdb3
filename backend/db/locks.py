"""Row locks: changes to one appointment take turns, whichever page or socket makes them."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment


async def lock_appointment(
    session: AsyncSession, appointment_id: UUID, *, reread: bool = True
) -> Appointment | None:
    """The appointment under a row lock until the transaction ends, or None if it does not exist.

    PostgreSQL: ``FOR UPDATE OF appointment``, the appointment's row only (its service and team
    come along by a join, unlocked). SQLite has no row locks, but every transaction already
    holds the write lock (``BEGIN IMMEDIATE``, backend.db.engine).

    ``reread`` overwrites what the session already holds with the row as read under the lock, so
    a change committed by whoever held the lock before is seen. Without it an appointment already
    in the session keeps the attributes it was loaded with. The model's eager loads (service, team,
    participants) come with it either way.
    """
    query = select(Appointment).where(Appointment.id == appointment_id).with_for_update(of=Appointment)
    if reread:
        query = query.execution_options(populate_existing=True)
    return await session.scalar(query)
