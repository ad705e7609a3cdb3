"""``/ws/desk``: the official's live queue of today's appointments, and messages to the waiting room."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import calls, presence
from backend.clock import local_today
from backend.identity.binding import identity_keyring
from backend.settings import Settings
from signalling import chat, protocol
from signalling.connection import CLOSE_SERVER_ERROR, Connection, unbroken
from signalling.hub import Envelope, Hub, appointment_channel, team_channel
from signalling.official import OfficialAccess, appointment_of_team, close_when_mandate_ends, end_access
from signalling.protocol import Chat

log = logging.getLogger(__name__)


@dataclass
class DeskSocket:
    conn: Connection
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    access: OfficialAccess
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    budget: chat.ChatBudget = field(default_factory=chat.ChatBudget)
    recheck_after: float | None = None
    """Seconds until the queue is read again without an event (someone's presence may run out)."""

    async def run(self) -> None:
        channels = [team_channel(team_id) for team_id in self.access.team_ids]
        async with self.hub.listen(channels, self.deliver, origin=self.conn.id):
            await self.conn.send(
                protocol.welcome(
                    you=self.access.peer,
                    state="desk",
                    appointment=None,
                    peers=[],
                    ice_servers=self.settings.signalling.ice_servers,
                    heartbeat_seconds=self.settings.signalling.heartbeat_seconds,
                )
            )
            await self.send_queue()
            refresher = asyncio.create_task(self.refresh())
            expiry = asyncio.create_task(close_when_mandate_ends(self.conn, self.access))
            try:
                async for message in self.conn.messages():
                    if isinstance(message, Chat):
                        await self.chat(message)
                    else:
                        await self.conn.error("not_allowed", "the desk only listens and sends chat")
            finally:
                refresher.cancel()
                expiry.cancel()

    async def chat(self, message: Chat) -> None:
        """A line from the desk to the people of one appointment who are not in the call yet."""
        if message.appointment_id is None:
            await self.conn.error("not_allowed", "say which appointment the message is for")
            return
        async with self.sessionmaker() as db:
            appointment = await appointment_of_team(
                self.conn, db, self.access, message.appointment_id, "ws/desk"
            )
            if appointment is None:
                await self.conn.error("not_found", "no such appointment")
                return
            active = appointment.is_active
        if not active:
            await self.conn.error("not_allowed", "this appointment is over")
        elif not self.budget.take():
            await self.conn.error("rate_limited", "too many chat messages; wait a moment")
        else:
            event = chat.line(
                self.access.peer,
                message.text,
                "desk",
                str(message.appointment_id),
                sent_at=self.conn.clock(),
            )
            await self.hub.emit(appointment_channel(message.appointment_id), event, origin=self.conn.id)
            await self.conn.send(event)

    async def deliver(self, envelope: Envelope) -> None:
        kind = envelope.event.get("type")
        if kind == "refresh":
            self.dirty.set()
        elif self.access.ended_by(envelope.event):
            await end_access(self.conn, self.access, envelope.event)

    async def refresh(self) -> None:
        # Changes come in bursts (admit = state + refresh per participant): one queue per burst.
        while True:
            # A page on a node that died gives its presence up by running out (backend/presence.py):
            # no event says so, so while someone is there the queue is read again now and then.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.dirty.wait(), self.recheck_after)
            self.dirty.clear()
            try:
                await self.send_queue()
            except Exception:
                # The database failed: close, so the page reconnects and gets a fresh queue,
                # rather than showing a list that silently stopped changing.
                log.warning("desk queue refresh failed; closing socket %s", self.conn.id, exc_info=True)
                self.conn.finish(CLOSE_SERVER_ERROR)
                return

    async def send_queue(self) -> None:
        queue = await unbroken(self.read_queue())
        someone_there = any(p["present"] for a in queue for p in a["participants"])
        self.recheck_after = presence.renew_every(self.settings.signalling) if someone_there else None
        await self.conn.send(protocol.queue(queue))

    async def read_queue(self) -> list[dict[str, Any]]:
        today = local_today(self.conn.clock)
        async with self.sessionmaker() as db:
            return await calls.desk_queue(
                db, self.access.team_ids, today, identity_keyring(self.settings), now=self.conn.clock()
            )
