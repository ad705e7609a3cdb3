"""The signalling WebSocket routes (docs/signalling.md); register ``websocket_handlers`` on the app.

They get ``settings`` (:class:`backend.settings.Settings`), ``sessionmaker``, ``hub``
(:class:`signalling.hub.Hub`), ``clock`` and ``echo`` injected (the app's dependencies, backend/app.py); the
official's id comes from the cookie session (``official_id``). SDP, candidates and chat are never
logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import WebSocket, websocket
from litestar.handlers import WebsocketRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import Clock
from backend.settings import Settings
from signalling import citizen, official
from signalling.check import CheckSocket
from signalling.connection import CLOSE_SERVER_ERROR, Connection
from signalling.desk import DeskSocket
from signalling.hub import Hub
from signalling.peers.echo import EchoRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _AppParts:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    clock: Clock
    echo: EchoRegistry | None = None


async def _serve(
    socket: WebSocket[Any, Any, Any],
    parts: _AppParts,
    run: Callable[[Connection, _AppParts], Awaitable[None]],
) -> None:
    conn = Connection(socket, parts.settings.signalling, clock=parts.clock)
    await conn.accept()
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
) -> None:
    await _serve(socket, _AppParts(settings, sessionmaker, hub, clock), _citizen)


@websocket("/ws/desk")
async def desk_socket(
    socket: WebSocket[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: Hub,
    clock: Clock,
) -> None:
    await _serve(socket, _AppParts(settings, sessionmaker, hub, clock), _desk)


@websocket("/ws/call/{appointment_id:uuid}")
async def call_socket(
    socket: WebSocket[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: Hub,
    clock: Clock,
    appointment_id: uuid.UUID,
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

    await _serve(socket, _AppParts(settings, sessionmaker, hub, clock), run)


@websocket("/ws/check")
async def check_socket(
    socket: WebSocket[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    hub: Hub,
    clock: Clock,
    echo: EchoRegistry | None,
) -> None:
    await _serve(socket, _AppParts(settings, sessionmaker, hub, clock, echo), _check)


websocket_handlers: list[WebsocketRouteHandler] = [citizen_socket, desk_socket, call_socket, check_socket]
