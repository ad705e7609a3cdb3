"""The signalling WebSocket routes (docs/signalling.md); register ``websocket_handlers`` on the app.

They get ``settings`` (:class:`backend.settings.Settings`), ``sessionmaker``, ``hub``
(:class:`signalling.hub.Hub`), ``clock``, ``echo`` and ``open_sockets`` injected (the app's dependencies,
backend/app.py); the official's id comes from the cookie session (``official_id``). SDP, candidates and
chat are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import WebSocket, websocket
from litestar.handlers import WebsocketRouteHandler
from litestar.params import Dependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import Clock
from backend.metrics import SocketKind, socket_open
from backend.settings import Settings
from signalling import citizen, official
from signalling.check import CheckSocket
from signalling.connection import CLOSE_RESTARTING, CLOSE_SERVER_ERROR, Connection
from signalling.desk import DeskSocket
from signalling.hub import Hub
from signalling.peers.echo import EchoRegistry

log = logging.getLogger(__name__)


class OpenSockets:
    """The sockets this app node serves, so that a node that shuts down can tell every page to come
    back at once (close 4503, docs/signalling.md) instead of leaving it to find out."""

    def __init__(self) -> None:
        self._open: set[Connection] = set()
        self.closing = False
        """This node is going away: a socket that opens now is closed at once, with 4503 too."""

    def __len__(self) -> int:
        return len(self._open)

    @contextlib.contextmanager
    def holding(self, conn: Connection) -> Iterator[None]:
        self._open.add(conn)
        if self.closing:
            conn.finish(CLOSE_RESTARTING)
        try:
            yield
        finally:
            self._open.discard(conn)

    async def close_all(self, grace_seconds: float = 3.0) -> int:
        """Close every open socket with 4503 ("server restarting"), so that its page reconnects after
        a short random wait with its backoff reset, rather than after the backoff it would grow while
        this node shuts down. A socket whose close does not go out within ``grace_seconds`` (a send stuck
        on a client that reads nothing) is left to the server's own shutdown. Returns how many."""
        self.closing = True
        sockets = list(self._open)
        closes = [asyncio.ensure_future(conn.close(CLOSE_RESTARTING, "restarting")) for conn in sockets]
        for conn in sockets:
            conn.finish(CLOSE_RESTARTING)  # its handler stops and ends its work (presence, peer-left)
        if closes:
            _, late = await asyncio.wait(closes, timeout=grace_seconds)
            for close in late:
                close.cancel()
        return len(sockets)


MaybeOpenSockets = Annotated[OpenSockets | None, Dependency(default=None, skip_validation=True)]
"""The app's :class:`OpenSockets`; apps that do not provide one (tests' small apps) get None."""


@dataclass(frozen=True)
class _AppParts:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    clock: Clock
    echo: EchoRegistry | None = None
    sockets: OpenSockets | None = None


async def _serve(
    socket: WebSocket[Any, Any, Any],
    parts: _AppParts,
    run: Callable[[Connection, _AppParts], Awaitable[None]],
    kind: SocketKind,
) -> None:
    conn = Connection(socket, parts.settings.signalling, clock=parts.clock)
    await conn.accept()
    held = parts.sockets.holding(conn) if parts.sockets is not None else contextlib.nullcontext()
    with socket_open(kind), held:  # balie_websockets_open{kind}
        try:
            await run(conn, parts)
        except Exception:
            # The database or the channels backend failed: this socket closes, the page reconnects.
            log.exception("signalling socket %s failed", conn.id)
            conn.close_code = CLOSE_SERVER_ERROR
        finally:
            await conn.close(conn.close_code)


async def _citizen(conn: Connection, parts: _AppParts) -> None:
    hello = await conn.hello()
    if hello is None:
        return
    ids = await citizen.authenticate(conn, hello, parts.settings, parts.sessionmaker)
    if ids is None:
        return
    participant_id, appointment_id = ids
    await citizen.CitizenSocket(
        conn=conn,
        settings=parts.settings,
        sessionmaker=parts.sessionmaker,
        hub=parts.hub,
        session_id=hello.session,
        participant_id=participant_id,
        appointment_id=appointment_id,
    ).run()


async def _desk(conn: Connection, parts: _AppParts) -> None:
    access = await official.authenticate(conn, parts.sessionmaker, parts.settings)
    if access is None or await conn.hello() is None:
        return
    await DeskSocket(conn, parts.settings, parts.sessionmaker, parts.hub, access).run()


async def _check(conn: Connection, parts: _AppParts) -> None:
    if await conn.hello() is None:
        return
    if parts.echo is None:  # an app without echo_lifespan
        await conn.refuse("busy", "the device check is not available here", 4429)
        return
    await CheckSocket(conn, parts.settings, parts.echo).run()


@websocket("/ws/citizen")
async def citizen_socket(
    socket: WebSocket[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: Hub,
    clock: Clock,
    open_sockets: MaybeOpenSockets,
) -> None:
    await _serve(
        socket, _AppParts(settings, sessionmaker, hub, clock, sockets=open_sockets), _citizen, "citizen"
    )


@websocket("/ws/desk")
async def desk_socket(
    socket: WebSocket[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: Hub,
    clock: Clock,
    open_sockets: MaybeOpenSockets,
) -> None:
    await _serve(socket, _AppParts(settings, sessionmaker, hub, clock, sockets=open_sockets), _desk, "desk")


@websocket("/ws/call/{appointment_id:uuid}")
async def call_socket(
    socket: WebSocket[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: Hub,
    clock: Clock,
    appointment_id: uuid.UUID,
    open_sockets: MaybeOpenSockets,
) -> None:
    async def run(conn: Connection, parts: _AppParts) -> None:
        access = await official.authenticate(conn, parts.sessionmaker, parts.settings)
        if access is None or not await official.check_appointment(
            conn, parts.sessionmaker, access, appointment_id
        ):
            return
        hello = await conn.hello()
        if hello is None:
            return
        await official.CallSocket(
            conn, parts.settings, parts.sessionmaker, parts.hub, access, appointment_id, hello.session
        ).run()

    await _serve(socket, _AppParts(settings, sessionmaker, hub, clock, sockets=open_sockets), run, "call")


@websocket("/ws/check")
async def check_socket(
    socket: WebSocket[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: Hub,
    clock: Clock,
    echo: EchoRegistry | None,
    open_sockets: MaybeOpenSockets,
) -> None:
    await _serve(socket, _AppParts(settings, sessionmaker, hub, clock, echo, open_sockets), _check, "check")


websocket_handlers: list[WebsocketRouteHandler] = [citizen_socket, desk_socket, call_socket, check_socket]
