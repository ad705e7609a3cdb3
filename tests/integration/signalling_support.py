"""Helpers for the signalling tests (docs/signalling.md) through real WebSockets.

In-process tests serve a small Litestar app with only the signalling routes under uvicorn, in the
test's own event loop, and talk to it with the ``websockets`` client (Litestar's async test client
deadlocks on WebSockets here, and its sync one spins the loop). The ``balie`` fixture (conftest.py)
serves one such app for a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.middleware.session.client_side import CookieBackendConfig
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection

from backend import calls
from backend.booking.tokens import hash_token, new_token
from backend.clock import system_clock
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Appointment, Membership, Official, Participant
from backend.dependencies import provide
from backend.settings import Settings, SignallingSettings
from signalling import protocol
from signalling.handlers import websocket_handlers
from signalling.hub import channels_plugin, hub_for
from signalling.live import HubPages
from tests.support import free_port, make_settings, seed_agenda

WAIT = 5.0
OFFER = {"description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}}
ANSWER = {"description": {"type": "answer", "sdp": "v=0\r\n"}}


@dataclasses.dataclass
class World:
    """One appointment happening now, with a citizen and a partner, and the officials around it."""

    appointment_id: uuid.UUID
    official_id: uuid.UUID
    stranger_id: uuid.UUID  # an official of another municipality
    citizen_id: uuid.UUID
    partner_id: uuid.UUID
    tokens: dict[str, str]


def new_appointment(service: Any, start: dt.datetime) -> tuple[Appointment, dict[str, str]]:
    tokens = {"citizen": new_token(), "partner": new_token()}
    appointment = Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name="Fatima de Vries",
        citizen_email="fatima@example.org",
        manage_token_hash=hash_token(new_token()),
        participants=[
            Participant(
                role="citizen", name="Fatima de Vries", email="f@example.org", join_token_hash=hash_token(t)
            )
            if role == "citizen"
            else Participant(
                role="partner", name="Sem de Vries", email="s@example.org", join_token_hash=hash_token(t)
            )
            for role, t in tokens.items()
        ],
    )
    return appointment, tokens


async def seed_world(db: AsyncSession) -> World:
    service = await seed_agenda(db)
    foreign = await seed_agenda(db, cbs_code="0363", slug="elders")
    now = dt.datetime.now(dt.UTC)
    appointment, tokens = new_appointment(service, now)
    past, past_tokens = new_appointment(service, now - dt.timedelta(days=2))  # not in today's queue
    db.add_all([appointment, past])
    await db.commit()
    official = await db.scalar(select(Official).join(Membership).where(Membership.team_id == service.team_id))
    stranger = await db.scalar(select(Official).join(Membership).where(Membership.team_id == foreign.team_id))
    assert official is not None and stranger is not None
    citizen, partner = sorted(appointment.participants, key=lambda p: p.role)
    return World(
        appointment_id=appointment.id,
        official_id=official.id,
        stranger_id=stranger.id,
        citizen_id=citizen.id,
        partner_id=partner.id,
        tokens={**tokens, "expired": past_tokens["citizen"]},
    )


async def seed(database_url: str) -> World:
    engine = create_engine(make_settings(Path("."), database_url).database)
    await upgrade(engine)
    try:
        async with create_sessionmaker(engine)() as db:
            return await seed_world(db)
    finally:
        await engine.dispose()


class Peer:
    """A page's signalling socket (the ``websockets`` client).

    ``participants`` (the call socket's list of who has a link) comes after every change; tests
    that do not ask for it skip it, so they can assert the exact order of everything else.
    """

    def __init__(self, ws: ClientConnection, session: str = "") -> None:
        self.ws = ws
        self.session = session

    @property
    def page(self) -> str:
        return protocol.page_id(self.session)

    @classmethod
    async def open(
        cls,
        base: str,
        path: str,
        hello: dict[str, Any] | None,
        cookie: str | None = None,
        origin: str | None = None,
    ) -> Peer:
        headers = {"Cookie": cookie} if cookie else {}
        if origin is not None:
            headers["Origin"] = origin
        peer = cls(
            await websockets.connect(f"ws://{base}{path}", additional_headers=headers, compression=None),
            str((hello or {}).get("session", "")),
        )
        if hello is not None:
            with contextlib.suppress(websockets.ConnectionClosed):  # official sockets may refuse first
                await peer.send({"type": "hello", **hello})
        return peer

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, kind: str | None = None) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if message["type"] != "participants" or kind == "participants":
                break
        if kind is not None:
            assert message["type"] == kind, message
        return message

    async def receive_until(
        self, kind: str, check: Callable[[dict[str, Any]], bool] = bool
    ) -> dict[str, Any]:
        """Skip messages until one of ``kind`` that passes ``check`` (desk queues come in bursts)."""
        for _ in range(20):
            message = await self.receive()
            if message["type"] == kind and check(message):
                return message
        raise AssertionError(f"no matching {kind}")

    async def closed_with(self) -> int:
        """The close code, once the server closed the socket (after any messages still queued)."""
        with pytest.raises(websockets.ConnectionClosed) as info:
            for _ in range(10):
                await asyncio.wait_for(self.ws.recv(), WAIT)
        assert info.value.rcvd is not None, "closed without a close frame"
        return info.value.rcvd.code

    async def enter(self) -> dict[str, Any]:
        welcome = await self.receive("welcome")
        await self.send({"type": "enter"})
        assert await self.receive() == {"type": "state", "state": "waiting"}
        return welcome

    async def join(self) -> None:
        await self.send({"type": "join-call"})
        assert await self.receive() == {"type": "state", "state": "in_call"}


# -- one node in the test's event loop -----------------------------------------------------------------------


SESSION = CookieBackendConfig(secret=b"0123456789abcdef0123456789abcdef", key="balie_session")


@get("/test/sign-in/{official_id:uuid}")
async def sign_in(request: Request[Any, Any, Any], official_id: uuid.UUID) -> str:
    request.set_session({"official_id": str(official_id)})
    return "ok"


def tiny_app(settings: Settings) -> Litestar:
    """Only the signalling routes (and a sign-in), with the dependencies create_app provides them."""
    plugin = channels_plugin(settings)
    engine = create_engine(settings.database)
    hub = hub_for(settings, plugin)
    sessionmaker = create_sessionmaker(engine)
    return Litestar(
        route_handlers=[*websocket_handlers, sign_in],
        plugins=[plugin],
        middleware=[SESSION.middleware],
        dependencies={
            "settings": provide(settings),
            "hub": provide(hub),
            "sessionmaker": provide(sessionmaker),
            "echo": provide(None),
            "clock": provide(system_clock),
        },
        state=State({"live": HubPages(hub), "sessionmaker": sessionmaker}),  # for the tests' own moves
        on_shutdown=[lambda: engine.dispose()],
    )


class Balie:
    """A tiny app served by uvicorn on a free loopback port, and helpers to open pages on it."""

    def __init__(self, app: Litestar, world: World) -> None:
        self.app, self.world = app, world
        self.base = f"127.0.0.1:{free_port()}"

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Balie]:
        host, port = self.base.split(":")
        config = uvicorn.Config(
            self.app, host=host, port=int(port), log_level="warning", ws_per_message_deflate=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            await task

    async def cookie(self, official_id: uuid.UUID) -> str:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://{self.base}/test/sign-in/{official_id}")
            return f"balie_session={response.cookies['balie_session']}"

    async def citizen(self, who: str = "citizen", session: str | None = None) -> Peer:
        hello = {"token": self.world.tokens[who], "session": session or secrets.token_hex(8)}
        return await Peer.open(self.base, "/ws/citizen", hello)

    async def official(
        self, path: str, official_id: uuid.UUID | None = None, origin: str | None = None
    ) -> Peer:
        cookie = await self.cookie(official_id or self.world.official_id)
        return await Peer.open(self.base, path, {"session": secrets.token_hex(8)}, cookie, origin)

    async def call(self) -> Peer:
        return await self.official(f"/ws/call/{self.world.appointment_id}")

    async def admit(self) -> list[Participant]:
        """What the desk's admit button does (backend.calls.admit), on this node."""
        async with self.app.state.sessionmaker() as db:
            appointment = await db.get(Appointment, self.world.appointment_id)
            return await calls.admit(db, self.app.state.live, appointment, self.world.official_id)

    async def end(self, outcome: str) -> None:
        async with self.app.state.sessionmaker() as db:
            appointment = await db.get(Appointment, self.world.appointment_id)
            await calls.end_call(db, self.app.state.live, appointment, self.world.official_id, outcome)

    async def rows(self, statement: Any) -> list[Any]:
        async with self.app.state.sessionmaker() as db:
            return list((await db.execute(statement)).all())


async def start_balie(tmp_path: Path, **signalling: Any) -> tuple[Balie, Settings]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'signalling.db'}"
    world = await seed(url)
    options = {
        "hello_timeout_seconds": 1.0,
        "idle_timeout_seconds": 30.0,
        "max_message_bytes": 4096,
        **signalling,
    }
    settings = make_settings(tmp_path, url, signalling=SignallingSettings(**options))
    return Balie(tiny_app(settings), world), settings
