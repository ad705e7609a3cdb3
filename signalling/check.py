"""``/ws/check``: the device and network check talks to an echo peer (signalling/peers/echo.py).

Anyone may run the check (the email's "Test uw camera en microfoon" has no token), so the limits
live here and in the registry: a few sessions per node and per visitor, each closed after
``BALIE_CHECK_MAX_SECONDS``, with TURN credentials that expire shortly after that.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Final

from backend.settings import Settings
from signalling import ice, protocol
from signalling.connection import CLOSE_BAD_MESSAGE, CLOSE_NORMAL, Connection
from signalling.peers.echo import EchoBusy, EchoError, EchoRegistry, EchoSession
from signalling.protocol import ClientMessage, Signal

log = logging.getLogger(__name__)

CLOSE_BUSY: Final = 4429
ECHO_PEER: Final = {"id": "echo", "role": "echo", "name": ""}
CREDENTIAL_MARGIN: Final = dt.timedelta(seconds=30)
"""TURN credentials outlive the session a little: gathering starts before the offer is sent."""


@dataclass
class CheckSocket:
    conn: Connection
    settings: Settings
    registry: EchoRegistry
    session: EchoSession | None = None

    async def run(self) -> None:
        client = self.conn.socket.client.host if self.conn.socket.client else "unknown"
        lifetime = dt.timedelta(seconds=self.settings.check.max_seconds) + CREDENTIAL_MARGIN
        servers = ice.ice_servers(
            self.settings.signalling, purpose="check", lifetime=lifetime, now=self.conn.clock()
        )
        try:
            # The echo peer needs no relay of its own; STUN at most (a server behind NAT).
            self.session = self.registry.open(client, ice.stun_only(servers), self.reached())
        except EchoBusy as exc:
            await self.conn.refuse("busy", str(exc), CLOSE_BUSY)
            return
        watch = asyncio.create_task(self.watch(self.session))
        try:
            await self.conn.send(
                protocol.welcome(
                    you={"id": f"check:{self.session.id}", "role": "check", "name": ""},
                    state="check",
                    appointment=None,
                    peers=[ECHO_PEER],
                    ice_servers=servers,
                    heartbeat_seconds=self.settings.signalling.heartbeat_seconds,
                )
            )
            async for message in self.conn.messages():
                await self.handle(self.session, message)
        finally:
            watch.cancel()
            await self.registry.close(self.session)

    def reached(self) -> str | None:
        """The local address this visitor's connection arrived at (ASGI ``server``)."""
        server = self.conn.socket.scope.get("server")
        return str(server[0]) if server else None

    async def watch(self, session: EchoSession) -> None:
        """End the session at its time limit, or when the registry closes it (app shutdown)."""
        try:
            await asyncio.wait_for(session.ended.wait(), self.settings.check.max_seconds)
            reason = session.reason or "shutdown"
        except TimeoutError:
            reason = "time_limit"
        await self.conn.send(protocol.check_ended(reason))
        self.conn.finish(CLOSE_NORMAL)

    async def handle(self, session: EchoSession, message: ClientMessage) -> None:
        if not isinstance(message, Signal):
            await self.conn.error("not_allowed", "the check only takes signal messages")
            return
        if message.to != ECHO_PEER["id"]:
            await self.conn.error("not_allowed", "unknown peer: signal the echo peer")
            return
        data: dict[str, Any] = message.data
        if "candidate" in data:
            await session.peer.add_candidate(data["candidate"])
            return
        description = data["description"]
        if description.get("type") != "offer":
            await self.conn.error("not_allowed", "send an offer to the echo peer")
            return
        try:
            sdp = await session.peer.answer(str(description.get("sdp") or ""))
        except EchoError as exc:
            await self.conn.refuse("bad_message", str(exc), CLOSE_BAD_MESSAGE)
            return
        answer = {"description": {"type": "answer", "sdp": sdp}}
        await self.conn.send(protocol.signal(ECHO_PEER["id"], answer))
