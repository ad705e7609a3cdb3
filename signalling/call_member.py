"""One page in a call, as the citizen's (signalling.citizen) and the official's (signalling.official)
call sockets both see it: its state, its ICE servers and their refresh, and the welcome.

Each socket composes one :class:`CallMember` and keeps what only it does (the citizen's waiting
room, the official's participants list and take-over); where both accept a message with their own
wording, the socket checks it and this module does what follows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import rooms
from backend.db.models import Appointment
from backend.settings import SignallingSettings
from signalling import ice, protocol
from signalling.connection import Connection
from signalling.hub import Hub, appointment_channel
from signalling.snapshot import appointment_info

MEDIA_STATES: Final = frozenset({rooms.ADMITTED, rooms.IN_CALL})
"""States in which a page sends media, and so gets TURN credentials (signalling/ice.py)."""


@dataclass
class CallMember:
    conn: Connection
    settings: SignallingSettings
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    appointment_id: uuid.UUID
    peer_id: str
    session_id: str
    state: str
    """A participant's state; the official's call page is ``in_call`` or ``ended``."""
    participant_ids: set[str] = field(default_factory=set)
    """The appointment's participants as of the welcome (re-read when a page names another)."""
    lifetime: dt.timedelta = ice.MIN_LIFETIME
    """How long TURN credentials last for this call: the appointment's length."""
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

    def welcome(
        self, appointment: Appointment, *, you: Mapping[str, Any], peers: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The ``welcome`` for this page (set ``state`` first); learns the participants and how long
        the call's credentials last."""
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
        return ice.ice_servers(self.settings, purpose=purpose, lifetime=self.lifetime)

    async def send_ice_servers(self) -> None:
        await self.conn.send(protocol.ice_servers(self.ice_servers()))

    async def refresh_credentials(self) -> None:
        """Fresh TURN credentials halfway through their lifetime, again and again, while the page
        sends media (an ICE restart late in a long call still finds valid ones)."""
        while True:
            await self.sleep(ice.refresh_after(self.lifetime))
            if self.sends_media and self.settings.turn_urls:
                await self.send_ice_servers()
