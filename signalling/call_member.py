"""One page in a call, as the citizen's (signalling.citizen) and the official's (signalling.official)
call sockets both see it: listening to the appointment and serving the page, its state, its ICE
servers and their refresh, the welcome, and the call's own traffic: ``signal`` between peers, peers
coming and going, and chat lines to the call.

Each socket composes one :class:`CallMember` and keeps what only it does (the citizen's waiting
room, the official's participants list and take-over); where both accept a message with their own
wording, the socket checks it and this module does what follows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import rooms
from backend.db.models import Appointment, Participant
from backend.settings import SignallingSettings
from signalling import chat, ice, protocol
from signalling.connection import Connection
from signalling.hub import Deliver, Envelope, Hub, appointment_channel
from signalling.presence import PeerBook
from signalling.protocol import ClientMessage, Signal
from signalling.snapshot import appointment_info, is_official_peer

MEDIA_STATES: Final = frozenset({rooms.ADMITTED, rooms.IN_CALL})
"""States in which a page sends media, and so gets TURN credentials (signalling/ice.py)."""
CALL_TRAFFIC: Final = frozenset({"peer-joined", "peer-left", "signal"})
"""The events of the call itself, which :meth:`CallMember.traffic` turns into what a page hears."""


def relayed_signal(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``signal`` a page gets for one relayed on the appointment's channel: ``from``, ``data`` and
    ``page`` only (a ``page`` that is not a string is left out)."""
    page = event.get("page") if isinstance(event.get("page"), str) else None
    return protocol.signal(str(event.get("from")), event.get("data") or {}, page)


@dataclass
class CallMember:
    """One page of one peer in the call: the socket ``conn`` on the appointment's channel."""

    conn: Connection
    settings: SignallingSettings
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    appointment_id: uuid.UUID
    peer_id: str
    session_id: str
    state: str
    """A participant's state; the official's call page is ``in_call`` or ``ended``."""
    signals_official: bool = False
    """Whether the page may signal the call's official: a citizen's may, the official's signals citizens."""
    you: dict[str, Any] = field(default_factory=dict)
    """How the others see this page's peer (``welcome``'s ``you``)."""
    participant_ids: set[str] = field(default_factory=set)
    """The appointment's participants as of the welcome (re-read when a page names another)."""
    book: PeerBook = field(default_factory=PeerBook)
    budget: chat.ChatBudget = field(default_factory=chat.ChatBudget)
    lifetime: dt.timedelta = ice.MIN_LIFETIME
    """How long TURN credentials last for this call: the appointment's length."""
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when :meth:`serve` begins: the page has its welcome, events may follow."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @property
    def page(self) -> str:
        return protocol.page_id(self.session_id)

    @property
    def channel(self) -> str:
        return appointment_channel(self.appointment_id)

    @property
    def sends_media(self) -> bool:
        return self.state in MEDIA_STATES

    def listen(self, deliver: Deliver, *also: str) -> AbstractAsyncContextManager[None]:
        """Subscribe to the appointment's channel (and ``also``): ``deliver`` gets, in order, what is
        meant for this page, but only once :meth:`serve` begins. Read the welcome's state after
        subscribing and no change falls between the two."""

        async def after_welcome(envelope: Envelope) -> None:
            await self.ready.wait()
            await deliver(envelope)

        channels = [self.channel, *also]
        return self.hub.listen(channels, after_welcome, origin=self.conn.id, peer_id=self.peer_id)

    async def serve(
        self, handle: Callable[[ClientMessage], Awaitable[None]], *background: Coroutine[Any, Any, None]
    ) -> None:
        """After the welcome: hand the page's messages to ``handle`` until the socket closes, while
        its credentials are refreshed and ``background`` runs (both cancelled at the end)."""
        self.ready.set()
        tasks = [asyncio.create_task(self.refresh_credentials())]
        tasks += [asyncio.create_task(work) for work in background]
        try:
            async for message in self.conn.messages():
                await handle(message)
        finally:
            for task in tasks:
                task.cancel()

    async def leave(self, reason: str) -> None:
        """Tell the others this page is gone: ``hangup`` (for good) or ``disconnected`` (it may return)."""
        await self.hub.emit(self.channel, protocol.peer_left(self.peer_id, reason), origin=self.conn.id)

    def welcome(
        self, appointment: Appointment, *, you: Mapping[str, Any], peers: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The ``welcome`` for this page (set ``state`` first); learns who the page is, the
        participants, and how long the call's credentials last."""
        self.you = dict(you)
        self.participant_ids = {str(p.id) for p in appointment.participants}
        self.lifetime = ice.call_lifetime(appointment.start_at, appointment.end_at)
        return protocol.welcome(
            you=you,
            state=self.state,
            appointment=appointment_info(appointment),
            peers=peers,
            ice_servers=self.ice_servers(),
            heartbeat_seconds=self.settings.heartbeat_seconds,
        )

    def ice_servers(self) -> list[dict[str, Any]]:
        """TURN credentials only while the page sends media: a waiting page sends none yet."""
        purpose: ice.Purpose | None = "call" if self.sends_media else None
        return ice.ice_servers(self.settings, purpose=purpose, lifetime=self.lifetime, now=self.conn.clock())

    async def send_ice_servers(self) -> None:
        await self.conn.send(protocol.ice_servers(self.ice_servers()))

    async def refresh_credentials(self) -> None:
        """Fresh TURN credentials halfway through their lifetime, again and again, while the page
        sends media (an ICE restart late in a long call still finds valid ones)."""
        while True:
            await self.sleep(ice.refresh_after(self.lifetime))
            if self.sends_media and self.settings.turn_urls:
                await self.send_ice_servers()

    async def relay(self, message: Signal) -> None:
        """Pass the page's ``signal`` on to another peer of the call, saying who sent it from which page
        (the sender's state is checked by its socket)."""
        if not await self.may_signal(message.to):
            await self.conn.error("not_allowed", "unknown peer")
            return
        event = protocol.signal(self.peer_id, message.data, self.page)
        await self.hub.emit(self.channel, event, to=message.to, origin=self.conn.id)

    async def may_signal(self, peer_id: str) -> bool:
        """Another participant of the appointment, or the official when ``signals_official``."""
        if peer_id == self.peer_id:
            return False
        if peer_id in self.participant_ids or (self.signals_official and is_official_peer(peer_id)):
            return True
        await self.reread_participants()  # a partner or interpreter may have been invited since
        return peer_id in self.participant_ids

    async def reread_participants(self) -> None:
        async with self.sessionmaker() as db:
            rows = await db.scalars(
                select(Participant.id).where(Participant.appointment_id == self.appointment_id)
            )
            self.participant_ids = {str(pid) for pid in rows}

    async def say(self, text: str) -> None:
        """A ``call`` chat line to everyone in the call, and back to the page as its acknowledgement;
        a flood goes nowhere (the socket checks first that the page may chat at all)."""
        if not self.budget.take():
            await self.conn.error("rate_limited", "too many chat messages; wait a moment")
            return
        event = chat.line(self.you, text, "call", sent_at=self.conn.clock())
        await self.hub.emit(self.channel, event, origin=self.conn.id)
        await self.conn.send(event)  # the sender sees its line as the others do

    def traffic(self, envelope: Envelope) -> dict[str, Any] | None:
        """What the page hears of the call's own traffic (``peer-joined`` as joined or reconnected,
        ``peer-left`` unless stale, ``signal``); None for any other event, or one to leave out."""
        kind = envelope.event.get("type")
        if kind == "peer-joined":
            return self.book.joined(envelope)
        if kind == "peer-left":
            return self.book.left(envelope)
        if kind == "signal":
            return relayed_signal(envelope.event)
        return None
