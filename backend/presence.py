"""Whether a participant's page is there now: what the desk shows beside "In de wachtkamer".

A participant's state (backend.rooms) outlives a closed page on purpose: a citizen who reloads or
loses the network keeps their place. So ``waiting`` alone does not say that anyone is waiting; the
desk showed citizens whose pages had closed ten minutes before as waiting.

Each open page holds a lease on its participant's row: ``present_until`` (renewed while the socket
lives) and ``present_socket`` (which socket holds it). The socket that closes gives the lease up,
unless another socket took it meanwhile (a page that came back on a new socket before the server
noticed the old one was dead). A node that dies gives nothing up; its leases run out within
:func:`lease_for`. The row is the truth on every app node alike; the desks hear of each change
through :meth:`backend.live.LivePages.desks_changed`.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Participant
from backend.settings import SignallingSettings

AWAY_GRACE = dt.timedelta(seconds=60)
"""A page that went less than this ago shows on the desk as "even weg" (reconnecting: a node that
restarts closes its sockets with 4503 and the pages come back within seconds); after it, as
"niet meer verbonden sinds ...". The place in the queue is kept either way."""


def lease_for(settings: SignallingSettings) -> dt.timedelta:
    """How long a page counts as there without a sign of life: a silent socket is closed after
    the idle timeout, so one heartbeat more is enough."""
    return dt.timedelta(seconds=settings.idle_timeout_seconds + settings.heartbeat_seconds)


def renew_every(settings: SignallingSettings) -> float:
    """Seconds between renewals: well inside the lease, so one late renewal changes nothing."""
    return lease_for(settings).total_seconds() / 3


async def hold(
    session: AsyncSession, participant_id: UUID, socket_id: str, now: dt.datetime, lease: dt.timedelta
) -> bool:
    """The page on ``socket_id`` is there until ``now + lease``; True if it was not there before
    (the desks should hear of it)."""
    before = await session.get(Participant, participant_id, populate_existing=True)
    if before is None:
        return False
    arrived = not is_present(before, now)
    before.present_until, before.present_socket = now + lease, socket_id
    await session.commit()
    return arrived


async def give_up(session: AsyncSession, participant_id: UUID, socket_id: str, now: dt.datetime) -> bool:
    """The page on ``socket_id`` closed; True if it held the lease (so the participant is gone now)."""
    result = await session.execute(
        update(Participant)
        .where(
            Participant.id == participant_id,
            Participant.present_socket == socket_id,
            Participant.present_until > now,
        )
        .values(present_until=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


def is_present(participant: Participant, now: dt.datetime) -> bool:
    return participant.present_until is not None and participant.present_until > now


def gone_since(participant: Participant, now: dt.datetime) -> dt.datetime | None:
    """When the participant's last page went (None while one is there, or if none ever came)."""
    if participant.present_until is None or participant.present_until > now:
        return None
    return participant.present_until
