"""``/ws/citizen``: a citizen, partner or interpreter in the waiting room and in the call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import calls, presence, rooms
from backend.booking.tokens import join_window, participant_for_join_token
from backend.db.models import Appointment, Participant
from backend.identity.binding import requested_level
from backend.settings import Settings
from signalling import chat, protocol
from signalling.call_member import MEDIA_STATES, CallMember
from signalling.connection import CLOSE_NORMAL, CLOSE_UNAUTHORIZED, Connection
from signalling.hub import Envelope, Hub
from signalling.live import HubPages
from signalling.protocol import Chat, ClientMessage, Enter, Hello, JoinCall, Leave, Signal
from signalling.snapshot import room_peers

log = logging.getLogger(__name__)
Operation = Callable[..., Awaitable[None]]


@dataclass
class CitizenSocket:
    conn: Connection
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    session_id: str
    participant_id: uuid.UUID
    appointment_id: uuid.UUID
    announced: bool = False
    joining: bool = False
    identify_level: str | None = None
    team_id: uuid.UUID | None = None
    call: CallMember = field(init=False)

    def __post_init__(self) -> None:
        self.call = CallMember(
            self.conn,
            self.settings.signalling,
            self.sessionmaker,
            self.hub,
            self.appointment_id,
            peer_id=self.peer_id,
            session_id=self.session_id,
            state=rooms.INVITED,
            signals_official=True,
        )

    @property
    def peer_id(self) -> str:
        return str(self.participant_id)

    async def run(self) -> None:
        async with self.call.listen(self.deliver):
            await self.conn.send(await self.welcome())  # after subscribing: no change goes unseen
            if self.identify_level is not None:  # asked before this socket came: ask again
                await self.conn.send(protocol.identify(self.identify_level))
            present = asyncio.create_task(self.be_present())
            try:
                await self.call.serve(self.handle)
            finally:
                present.cancel()
                if self.announced:
                    await self.call.leave("disconnected")
                await self.gone()

    async def be_present(self) -> None:
        """Hold this participant's presence lease while the socket lives (backend/presence.py)."""
        lease = presence.lease_for(self.settings.signalling)
        while True:
            try:
                now = self.conn.clock()
                async with self.sessionmaker() as db:
                    arrived = await presence.hold(db, self.participant_id, self.conn.id, now, lease)
                if arrived:
                    await self.tell_desks()
            except Exception:  # the database is away: the lease runs out, the desk says "weg"
                log.warning("could not renew the presence of %s", self.participant_id, exc_info=True)
            await asyncio.sleep(presence.renew_every(self.settings.signalling))

    async def gone(self) -> None:
        with contextlib.suppress(Exception):  # the lease runs out by itself if this fails
            async with self.sessionmaker() as db:
                if await presence.give_up(db, self.participant_id, self.conn.id, self.conn.clock()):
                    await self.tell_desks()

    async def tell_desks(self) -> None:
        if self.team_id is not None:
            await HubPages(self.hub).desks_changed(self.team_id, self.appointment_id, origin=self.conn.id)

    async def welcome(self) -> dict[str, Any]:
        async with self.sessionmaker() as db:
            appointment = await db.get(Appointment, self.appointment_id, populate_existing=True)
            if appointment is None:  # appointments are never deleted while they run
                raise RuntimeError(f"appointment {self.appointment_id} is gone")
            participant = next(p for p in appointment.participants if p.id == self.participant_id)
            self.team_id = appointment.team_id
            self.call.state = participant.state
            if participant.identity_requested_at is not None:
                self.identify_level = requested_level(participant)
            peers = room_peers(appointment, exclude=participant.id)
            return self.call.welcome(appointment, you=calls.peer_of(participant), peers=peers)

    async def handle(self, message: ClientMessage) -> None:
        if isinstance(message, Enter):
            await self.operate(calls.enter_waiting_room, clock=self.conn.clock)
        elif isinstance(message, JoinCall):
            self.joining = True  # the others may answer before this call returns
            try:
                joined = await self.operate(calls.join_call, session_id=self.session_id)
                self.announced = self.announced or joined
            finally:
                self.joining = False
        elif isinstance(message, Leave):
            if await self.operate(calls.leave):
                self.announced = False
        elif isinstance(message, Signal):
            await self.relay(message)
        elif isinstance(message, Chat):
            await self.chat(message)
        elif isinstance(message, Hello):
            await self.conn.error("not_allowed", "hello was already received")

    async def operate(self, operation: Operation, **options: Any) -> bool:
        """Run one lifecycle step in its own short database session and report the new state."""
        async with self.sessionmaker() as db:
            participant = await db.get(Participant, self.participant_id)
            if participant is None:
                await self.conn.error("not_allowed", "this participant no longer exists")
                return False
            try:
                await operation(db, HubPages(self.hub), participant, origin=self.conn.id, **options)
            except rooms.NotAllowed as exc:
                await self.conn.error("not_allowed", str(exc))
                return False
            state = await db.scalar(select(Participant.state).where(Participant.id == self.participant_id))
        await self.change_state(state or self.call.state)
        return True

    async def change_state(self, state: str) -> None:
        """Tell the page its new state; credentials first when it may now send media."""
        if state in MEDIA_STATES and not self.call.sends_media and self.settings.signalling.turn_urls:
            self.call.state = state
            await self.call.send_ice_servers()
        self.call.state = state
        await self.conn.send(protocol.state(state))

    async def chat(self, message: Chat) -> None:
        if message.appointment_id is not None:
            await self.conn.error("not_allowed", "appointment_id is for the desk")
        elif self.call.state != rooms.IN_CALL:
            await self.conn.error(
                "not_allowed", f"chat is only possible in the call, not while {self.call.state}"
            )
        else:
            await self.call.say(message.text)

    async def relay(self, message: Signal) -> None:
        if self.call.state != rooms.IN_CALL:
            await self.conn.error(
                "not_allowed", f"signal is only allowed in the call, not while {self.call.state}"
            )
            return
        await self.call.relay(message)

    async def deliver(self, envelope: Envelope) -> None:
        event, kind = envelope.event, envelope.event.get("type")
        if kind == "state" and isinstance(event.get("state"), str):
            await self.change_state(event["state"])
        elif kind == "revoked":
            self.call.state, self.announced = rooms.ENDED, False  # the official's revoke said peer-left
            await self.conn.error("unauthorized", "this link was withdrawn")
            self.conn.finish(CLOSE_UNAUTHORIZED)
        elif kind == "chat":
            if chat.citizen_reads(event, self.call.state):
                await self.conn.send(event)
        elif kind == "ended":
            self.call.state = rooms.ENDED
            await self.conn.send(protocol.ended(str(event.get("outcome", ""))))
            self.conn.finish(CLOSE_NORMAL)
        elif kind == "identify":  # addressed to this participant: the official asks for DigiD
            await self.conn.send(protocol.identify(str(event.get("level", ""))))
        elif kind in ("document", "payment"):
            await self.conn.send(event)  # documents are shared from the waiting room on; a payment
            # asked in the call may be paid after the citizen went back to waiting
        elif self.call.state == rooms.IN_CALL or self.joining:  # the waiting room hears none of it
            message = self.call.traffic(envelope)
            if message is not None:
                await self.conn.send(message)


async def authenticate(
    conn: Connection, hello: Hello, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(participant id, appointment id) for a join token that works now; refuses the socket otherwise."""
    reason = "a join token is required"
    if hello.token:
        async with sessionmaker() as db:
            participant = await participant_for_join_token(db, hello.token)
            now = conn.clock()
            if participant is None:
                reason = "unknown or revoked join link"
            elif not participant.appointment.is_active or participant.state == rooms.ENDED:
                reason = "this appointment is over"
            elif not join_window(participant.appointment, settings.join).contains(now):
                reason = "this join link does not work at this time"
            else:
                return participant.id, participant.appointment_id
    await conn.refuse("unauthorized", reason, CLOSE_UNAUTHORIZED)
    return None
