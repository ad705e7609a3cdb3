"""The signalling protocol (docs/signalling.md) through real WebSockets.

In-process tests serve a small Litestar app with only the signalling routes under uvicorn, in the
test's own event loop, and talk to it with the ``websockets`` client (Litestar's async test client
deadlocks on WebSockets here, and its sync one spins the loop). The multi-node tests at the end run
two ``create_app`` processes that share a database and Redis or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import json
import os
import random
import secrets
import subprocess
import sys
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
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.datastructures import State
from litestar.middleware.session.client_side import CookieBackendConfig
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection

from backend import calls
from backend.booking.tokens import hash_token, new_token
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Appointment, AuditEvent, Membership, Official, Participant
from backend.dependencies import provide
from backend.settings import ROOT, Settings, SignallingSettings
from backend.timefmt import AMSTERDAM
from signalling import protocol
from signalling.handlers import websocket_handlers
from signalling.hub import Envelope, Hub, appointment_channel, channels_plugin, hub_for, team_channel
from signalling.live import HubPages
from tests.support import free_port, make_settings, postgres_database, seed_agenda

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


# -- one node in the test's event loop ------------------------------------------------------------------


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


@pytest.fixture
async def balie(tmp_path: Path) -> AsyncIterator[Balie]:
    node, _ = await start_balie(tmp_path)
    async with node.serving():
        yield node


# -- authentication --------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "short", "x" * 43, "expired"])
async def test_citizen_hello_with_a_bad_token_is_refused(balie: Balie, token: str | None) -> None:
    hello: dict[str, Any] = {"session": "s1"}
    if token is not None:
        hello["token"] = balie.world.tokens.get(token, token)
    ws = await Peer.open(balie.base, "/ws/citizen", hello)
    assert (await ws.receive("error"))["code"] == "unauthorized"
    assert await ws.closed_with() == 4401


async def test_first_message_must_be_hello_and_come_in_time(balie: Balie) -> None:
    ws = await Peer.open(balie.base, "/ws/citizen", None)
    await ws.send({"type": "enter"})
    assert (await ws.receive("error"))["code"] == "unauthorized"
    assert await ws.closed_with() == 4401

    ws = await Peer.open(balie.base, "/ws/citizen", None)
    await ws.send({"type": "ping"})
    assert await ws.receive() == {"type": "pong"}
    assert (await ws.receive("error"))["code"] == "timeout"  # hello_timeout_seconds = 1
    assert await ws.closed_with() == 4408


async def test_official_sockets_need_a_desk_session(balie: Balie) -> None:
    for path in ("/ws/desk", f"/ws/call/{balie.world.appointment_id}"):
        ws = await Peer.open(balie.base, path, {"session": "s1"})
        assert (await ws.receive("error"))["code"] == "unauthorized"
        assert await ws.closed_with() == 4401


async def test_official_sockets_opened_from_another_site_are_forbidden(balie: Balie) -> None:
    for path in ("/ws/desk", f"/ws/call/{balie.world.appointment_id}"):
        hijacked = await balie.official(path, origin="https://evil.example")
        assert (await hijacked.receive("error"))["code"] == "forbidden"
        assert await hijacked.closed_with() == 4403
        own_page = await balie.official(path, origin=f"http://{balie.base}")
        assert (await own_page.receive("welcome"))["you"]["role"] == "official"


async def test_call_socket_of_another_municipality_is_not_found_and_audited(balie: Balie) -> None:
    ws = await balie.official(f"/ws/call/{balie.world.appointment_id}", balie.world.stranger_id)
    assert (await ws.receive("error"))["code"] == "not_found"
    assert await ws.closed_with() == 4404
    rows = await balie.rows(
        select(AuditEvent.actor, AuditEvent.object_id, AuditEvent.result).where(
            AuditEvent.action == "access.denied"
        )
    )
    assert rows == [(f"official:{balie.world.stranger_id}", str(balie.world.appointment_id), "denied")]


# -- bad input hurts only its own socket --------------------------------------------------------------


async def test_garbage_closes_only_that_socket(balie: Balie) -> None:
    good, bad = await balie.citizen("partner"), await balie.citizen()
    await good.receive("welcome")
    await bad.receive("welcome")
    await bad.ws.send(b"\x00\x01")
    for frame in ("not json", '{"type": "dance"}', '{"type": "signal", "to": "x"}'):
        await bad.ws.send(frame)
    assert [(await bad.receive("error"))["code"] for _ in range(4)] == ["bad_message"] * 4
    await good.send({"type": "ping"})
    assert await good.receive() == {"type": "pong"}
    await bad.ws.send("[]")  # the fifth in a row
    assert (await bad.receive("error"))["code"] == "bad_message"
    assert await bad.closed_with() == 4400
    await good.send({"type": "enter"})
    assert await good.receive() == {"type": "state", "state": "waiting"}


async def test_a_valid_message_resets_the_bad_message_count(balie: Balie) -> None:
    ws = await balie.citizen()
    await ws.receive("welcome")
    for _ in range(3):
        for _ in range(4):
            await ws.ws.send("nope")
            assert (await ws.receive("error"))["code"] == "bad_message"
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


async def test_oversized_frame_closes_only_that_socket(balie: Balie) -> None:
    good, big = await balie.citizen("partner"), await balie.citizen()
    await good.receive("welcome")
    await big.receive("welcome")
    await big.send(
        {"type": "signal", "to": "x", "data": {"description": {"type": "offer", "sdp": "a" * 5000}}}
    )
    assert (await big.receive("error"))["code"] == "too_large"
    assert await big.closed_with() == 1009
    await good.send({"type": "ping"})
    assert await good.receive() == {"type": "pong"}


async def test_idle_socket_is_closed(tmp_path: Path) -> None:
    node, _ = await start_balie(tmp_path, idle_timeout_seconds=0.5)
    async with node.serving():
        ws = await node.citizen()
        await ws.receive("welcome")
        for _ in range(3):  # pings keep it open
            await asyncio.sleep(0.3)
            await ws.send({"type": "ping"})
            assert await ws.receive() == {"type": "pong"}
        assert (await ws.receive("error"))["code"] == "timeout"
        assert await ws.closed_with() == 4408


# -- the waiting room and the call --------------------------------------------------------------------


async def test_waiting_room_desk_admission_and_call(balie: Balie) -> None:
    world = balie.world
    official = f"official:{world.official_id}"
    desk = await balie.official("/ws/desk")
    assert (await desk.receive("welcome"))["you"] == {
        "id": official,
        "role": "official",
        "name": "Medewerker Testgemeente",
    }
    (entry,) = (await desk.receive("queue"))["appointments"]
    assert entry["status"] == "booked" and {p["state"] for p in entry["participants"]} == {"invited"}

    citizen = await balie.citizen()
    welcome = await citizen.enter()
    assert welcome["state"] == "invited" and welcome["peers"] == []
    assert welcome["you"] == {"id": str(world.citizen_id), "role": "citizen", "name": "Fatima de Vries"}
    assert welcome["appointment"]["id"] == str(world.appointment_id)
    assert welcome["appointment"]["start"][-6:] in ("+01:00", "+02:00")
    assert welcome["ice_servers"] == [] and welcome["heartbeat_seconds"] == 20

    entry = (await desk.receive_until("queue"))["appointments"][0]
    assert entry["status"] == "waiting"
    waiting = next(p for p in entry["participants"] if p["id"] == str(world.citizen_id))
    assert waiting["state"] == "waiting" and waiting["waiting_since"][-6:] in ("+01:00", "+02:00")

    await citizen.send({"type": "signal", "to": official, "data": OFFER})
    assert (await citizen.receive("error"))["code"] == "not_allowed"  # not while waiting
    await citizen.send({"type": "join-call"})
    assert (await citizen.receive("error"))["code"] == "not_allowed"  # not before admission

    call = await balie.call()
    assert (await call.receive("welcome"))["peers"] == []
    assert [p.id for p in await balie.admit()] == [world.citizen_id]
    assert await citizen.receive() == {"type": "state", "state": "admitted"}
    assert (await desk.receive_until("queue"))["appointments"][0]["status"] == "in_call"

    await citizen.join()
    citizen_page = citizen.page
    assert await call.receive() == {"type": "peer-joined", "peer": welcome["you"], "page": citizen_page}
    await call.send({"type": "signal", "to": str(world.citizen_id), "data": OFFER})
    assert await citizen.receive() == {"type": "signal", "from": official, "data": OFFER, "page": call.page}
    await citizen.send({"type": "signal", "to": official, "data": ANSWER})
    assert await call.receive() == {
        "type": "signal",
        "from": str(world.citizen_id),
        "data": ANSWER,
        "page": citizen_page,
    }
    await citizen.send({"type": "signal", "to": str(uuid.uuid4()), "data": ANSWER})
    assert (await citizen.receive("error"))["code"] == "not_allowed"

    actions = await balie.rows(
        select(AuditEvent.action, AuditEvent.actor, AuditEvent.details).order_by(AuditEvent.created_at)
    )
    assert [a for a, _, _ in actions] == ["call.enter", "call.admit", "call.join"]
    assert actions[1][1] == official
    assert "Fatima" not in repr(actions) and "example.org" not in repr(actions)


async def test_a_call_has_one_official_and_a_colleague_can_take_it_over(balie: Balie) -> None:
    world = balie.world
    async with balie.app.state.sessionmaker() as db:
        appointment = await db.get(Appointment, world.appointment_id)
        assert appointment is not None
        colleague = Official(issuer="test", subject="colleague", name="Collega Testgemeente")
        db.add(Membership(official=colleague, team_id=appointment.team_id))
        await db.commit()
        colleague_id = colleague.id
    citizen, call = await balie.citizen(), await balie.call()
    await call.receive("welcome")
    await citizen.enter()
    await balie.admit()
    assert await citizen.receive() == {"type": "state", "state": "admitted"}
    await citizen.join()
    await call.receive("peer-joined")

    # Before anyone takes over, a colleague's call page is refused: the mesh has one official.
    second = await balie.official(f"/ws/call/{world.appointment_id}", colleague_id)
    assert (await second.receive("error"))["code"] == "taken"
    assert await second.closed_with() == 4409

    async with balie.app.state.sessionmaker() as db:
        appointment = await db.get(Appointment, world.appointment_id)
        await calls.take_over(db, balie.app.state.live, appointment, colleague_id)
    assert (await call.receive("error"))["code"] == "taken"
    assert await call.closed_with() == 4409
    assert await citizen.receive("peer-left") == {
        "type": "peer-left",
        "peer_id": f"official:{world.official_id}",
        "reason": "hangup",
    }

    taker = await balie.official(f"/ws/call/{world.appointment_id}", colleague_id)
    assert [p["id"] for p in (await taker.receive("welcome"))["peers"]] == [str(world.citizen_id)]
    assert (await citizen.receive("peer-joined"))["peer"]["id"] == f"official:{colleague_id}"
    first_again = await balie.official(f"/ws/call/{world.appointment_id}")
    assert await first_again.closed_with() == 4409
    (taken,) = await balie.rows(select(AuditEvent.actor).where(AuditEvent.action == "call.take_over"))
    assert taken.actor == f"official:{colleague_id}"


async def test_partner_still_admitted_gets_no_call_traffic(balie: Balie) -> None:
    world = balie.world
    citizen, partner, call = await balie.citizen(), await balie.citizen("partner"), await balie.call()
    await call.receive("welcome")
    await citizen.enter()
    await partner.enter()
    await balie.admit()  # admits both
    assert await citizen.receive() == {"type": "state", "state": "admitted"}
    assert await partner.receive() == {"type": "state", "state": "admitted"}
    await citizen.join()
    assert (await call.receive("peer-joined"))["peer"]["id"] == str(world.citizen_id)
    await call.send({"type": "signal", "to": str(world.partner_id), "data": OFFER})  # not in the call yet
    await call.send({"type": "signal", "to": str(world.citizen_id), "data": OFFER})
    await citizen.receive("signal")
    await partner.send({"type": "ping"})
    assert await partner.receive() == {"type": "pong"}  # nothing of the call reached the partner
    await partner.join()
    assert (await call.receive("peer-joined"))["peer"]["id"] == str(world.partner_id)
    assert (await citizen.receive("peer-joined"))["peer"]["id"] == str(world.partner_id)


async def test_reconnects_keep_state_and_tell_joined_from_reconnected(balie: Balie) -> None:
    world = balie.world
    call = await balie.call()
    await call.receive("welcome")
    citizen = await balie.citizen(session="page-1")
    await citizen.enter()
    await balie.admit()
    await citizen.receive("state")
    await citizen.join()
    assert (await call.receive("peer-joined"))["peer"]["id"] == str(world.citizen_id)
    await citizen.ws.close()  # the network dropped
    assert await call.receive() == {
        "type": "peer-left",
        "peer_id": str(world.citizen_id),
        "reason": "disconnected",
    }

    citizen = await balie.citizen(session="page-1")  # the same page came back
    welcome = await citizen.receive("welcome")
    assert welcome["state"] == "in_call"
    await citizen.join()
    page_1 = protocol.page_id("page-1")
    assert await call.receive() == {"type": "peer-reconnected", "peer": welcome["you"], "page": page_1}
    await citizen.ws.close()
    await call.receive("peer-left")

    citizen = await balie.citizen(session="page-2")  # a reload: a new page
    assert (await citizen.receive("welcome"))["state"] == "in_call"
    await citizen.join()
    page_2 = protocol.page_id("page-2")
    assert await call.receive() == {"type": "peer-joined", "peer": welcome["you"], "page": page_2}

    second = await balie.call()  # the official reloads the call page
    assert (await second.receive("welcome"))["peers"] == [welcome["you"]]
    assert (await citizen.receive())["type"] == "peer-joined"


async def test_leave_and_enter_again(balie: Balie) -> None:
    world = balie.world
    call, citizen = await balie.call(), await balie.citizen()
    await call.receive("welcome")
    await citizen.enter()
    await balie.admit()
    await citizen.receive("state")
    await citizen.join()
    await call.receive("peer-joined")
    await citizen.send({"type": "leave"})
    assert await citizen.receive() == {"type": "state", "state": "left"}
    assert await call.receive() == {"type": "peer-left", "peer_id": str(world.citizen_id), "reason": "hangup"}
    await citizen.send({"type": "enter"})
    assert await citizen.receive() == {"type": "state", "state": "waiting"}
    await citizen.send({"type": "join-call"})
    assert (await citizen.receive("error"))["code"] == "not_allowed"


async def test_end_call_tells_everyone_and_closes_citizen_sockets(balie: Balie) -> None:
    world = balie.world
    call, citizen = await balie.call(), await balie.citizen()
    await call.receive("welcome")
    await citizen.enter()
    await balie.end("no_show")
    assert await citizen.receive() == {"type": "ended", "outcome": "no_show"}
    assert await citizen.closed_with() == 1000
    assert await call.receive() == {"type": "ended", "outcome": "no_show"}
    await call.send({"type": "signal", "to": str(world.citizen_id), "data": OFFER})
    assert (await call.receive("error"))["code"] == "not_allowed"
    states = await balie.rows(
        select(Participant.state).where(Participant.appointment_id == world.appointment_id)
    )
    assert {s for (s,) in states} == {"ended"}
    assert await balie.rows(select(Appointment.status).where(Appointment.id == world.appointment_id)) == [
        ("no_show",)
    ]
    citizen = await balie.citizen()  # the link no longer works
    assert (await citizen.receive("error"))["code"] == "unauthorized"
    assert await citizen.closed_with() == 4401


async def test_admit_refuses_when_nobody_waits(balie: Balie) -> None:
    with pytest.raises(calls.NotAllowed, match="nobody is waiting"):
        await balie.admit()
    ((result, details),) = await balie.rows(
        select(AuditEvent.result, AuditEvent.details).where(AuditEvent.action == "call.admit")
    )
    assert (result, details) == ("refused", {"reason": "nobody_waiting"})


async def test_lifecycle_in_the_database(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """backend.calls on SQLite and PostgreSQL: states, timestamps, audit trail and published events."""
    async with sessionmaker() as db:
        world = await seed_world(db)
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    async with plugin, sessionmaker() as db:
        hub = HubPages(Hub(plugin))
        appointment = await db.get(Appointment, world.appointment_id)
        citizen = await db.get(Participant, world.citizen_id)
        assert appointment is not None and citizen is not None
        channels = [appointment_channel(appointment.id), team_channel(appointment.team_id)]
        async with plugin.start_subscription(channels) as subscriber:
            await calls.enter_waiting_room(db, hub, citizen)
            assert (appointment.status, citizen.state) == ("waiting", "waiting")
            assert appointment.waiting_since is not None and citizen.waiting_since is not None
            await calls.enter_waiting_room(db, hub, citizen)  # idempotent: nothing new
            admitted = await calls.admit(db, hub, appointment, world.official_id, world.citizen_id)
            assert admitted == [citizen] and citizen.admitted_at is not None
            assert (appointment.status, appointment.assigned_official_id) == ("in_call", world.official_id)
            await calls.join_call(db, hub, citizen, session_id="page-1")
            await calls.leave(db, hub, citizen)
            with pytest.raises(calls.NotAllowed):
                await calls.join_call(db, hub, citizen)
            await calls.enter_waiting_room(db, hub, citizen)
            queue = await calls.desk_queue(db, [appointment.team_id], dt.datetime.now(AMSTERDAM).date())
            await calls.end_call(db, hub, appointment, world.official_id, "completed")
            with pytest.raises(calls.NotAllowed):
                await calls.end_call(db, hub, appointment, world.official_id, "completed")
            frames = subscriber.iter_events()
            envelopes = [
                Envelope.load((await asyncio.wait_for(anext(frames), WAIT)).decode()) for _ in range(14)
            ]
            assert subscriber.qsize == 0
        trail = await db.execute(select(AuditEvent.action, AuditEvent.actor).order_by(AuditEvent.created_at))
        audit = [tuple(row) for row in trail.all()]
    assert {p.state for p in appointment.participants} == {"ended"} and appointment.status == "completed"
    assert appointment.call_started_at is not None and appointment.ended_at is not None
    (entry,) = queue
    assert entry["status"] == "in_call" and entry["citizen_name"] == "Fatima de Vries"
    assert sorted((p["role"], p["state"]) for p in entry["participants"]) == [
        ("citizen", "waiting"),
        ("partner", "invited"),
    ]
    me, official, refresh = str(world.citizen_id), f"official:{world.official_id}", {"type": "refresh"}
    peer = {"id": me, "role": "citizen", "name": "Fatima de Vries"}
    assert {e.origin for e in envelopes} == {"server"}
    published = [(e.to, {k: v for k, v in e.event.items() if k != "appointment_id"}) for e in envelopes]
    assert published == [
        (me, {"type": "state", "state": "waiting"}),
        (None, refresh),
        (me, {"type": "state", "state": "admitted"}),
        (None, refresh),
        (me, {"type": "state", "state": "in_call"}),
        (None, refresh),
        (None, {"type": "peer-joined", "peer": peer, "session": "page-1"}),
        (me, {"type": "state", "state": "left"}),
        (None, {"type": "peer-left", "peer_id": me, "reason": "hangup"}),
        (None, refresh),
        (me, {"type": "state", "state": "waiting"}),
        (None, refresh),
        (None, {"type": "ended", "outcome": "completed"}),
        (None, refresh),
    ]
    participant = f"participant:{me}"
    assert audit == [
        ("call.enter", participant),
        ("call.admit", official),
        ("call.join", participant),
        ("call.leave", participant),
        ("call.enter", participant),
        ("call.end", official),
    ]


# -- two app nodes ------------------------------------------------------------------------------------------


class Node:
    """``create_app`` under uvicorn in its own process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        env = {**env, "BALIE_PUBLIC_URL": f"http://{self.url}"}  # its own development identity provider
        self.log = log
        command = [
            sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(self.port), "--ws-per-message-deflate", "false", "--log-level", "warning",
        ]  # fmt: skip
        with log.open("w") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(150):
                if self.process.poll() is not None:
                    raise AssertionError(f"node on {self.port} exited:\n{self.log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://{self.url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"node on {self.port} did not start:\n{self.log.read_text()[-3000:]}")

    async def desk_cookie(self, subject: str = "official-testgemeente") -> str:
        """Sign in through the development identity provider, as a browser would."""
        from tests.live import sign_in_official

        async with httpx.AsyncClient(base_url=f"http://{self.url}") as client:
            await sign_in_official(client, subject)
            return f"balie_session={client.cookies['balie_session']}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def node_env(tmp_path: Path, database_url: str, channels: str) -> dict[str, str]:
    return {
        **os.environ,
        "BALIE_ENV": "test",
        "BALIE_SECRET_KEY": "multi-node-test-secret",
        "BALIE_DATA_DIR": str(tmp_path),
        "BALIE_DATABASE_URL": database_url,
        "BALIE_CHANNELS": channels,
        "BALIE_DEMO_DATA": "false",
        "BALIE_WORKER_IN_PROCESS": "false",
        "BALIE_DEV_MAILBOX": "false",
        "BALIE_RATE_LIMIT_PER_MINUTE": "0",
    }


async def two_nodes_one_call(tmp_path: Path, database_url: str, channels: str, extra_sdp: list[str]) -> None:
    """The citizen on node A, the official on node B, the admission from a third process."""
    world = await seed(database_url)
    env = node_env(tmp_path, database_url, channels)
    nodes = [Node(env, tmp_path / f"node-{i}.log") for i in range(2)]
    settings = Settings.from_env(env)
    plugin = channels_plugin(settings)
    try:
        await asyncio.gather(*(n.ready() for n in nodes))
        a, b = nodes
        cookie = await b.desk_cookie()
        async with plugin:
            hub = HubPages(hub_for(settings, plugin))
            desk = await Peer.open(b.url, "/ws/desk", {"session": "desk-1"}, cookie)
            await desk.receive("welcome")
            await desk.receive("queue")
            citizen = await Peer.open(
                a.url, "/ws/citizen", {"session": "page-1", "token": world.tokens["citizen"]}
            )
            assert (await citizen.receive("welcome"))["state"] == "invited"
            await citizen.send({"type": "enter"})
            assert await citizen.receive() == {"type": "state", "state": "waiting"}

            def citizen_waits(message: dict[str, Any]) -> bool:
                return any(p["state"] == "waiting" for p in message["appointments"][0]["participants"])

            await desk.receive_until("queue", citizen_waits)  # node A's change reached node B
            call = await Peer.open(b.url, f"/ws/call/{world.appointment_id}", {"session": "call-1"}, cookie)
            await call.receive("welcome")

            engine = create_engine(settings.database)
            try:
                async with create_sessionmaker(engine)() as db:
                    appointment = await db.get(Appointment, world.appointment_id)
                    assert appointment is not None
                    await calls.admit(db, hub, appointment, world.official_id)
            finally:
                await engine.dispose()
            assert await citizen.receive() == {"type": "state", "state": "admitted"}
            await citizen.send({"type": "join-call"})
            assert await citizen.receive() == {"type": "state", "state": "in_call"}
            assert (await call.receive("peer-joined"))["peer"]["id"] == str(world.citizen_id)

            for sdp in extra_sdp:
                offer = {"description": {"type": "offer", "sdp": sdp}}
                await call.send({"type": "signal", "to": str(world.citizen_id), "data": offer})
                received = await citizen.receive("signal")
                assert received["data"] == offer and received["from"] == f"official:{world.official_id}"
            answer = {"description": {"type": "answer", "sdp": sdp_like(3000)}}
            await citizen.send({"type": "signal", "to": f"official:{world.official_id}", "data": answer})
            assert (await call.receive("signal"))["data"] == answer

            await citizen.ws.close()  # the citizen's network drops; the page comes back on node B
            assert (await call.receive("peer-left"))["reason"] == "disconnected"
            citizen = await Peer.open(
                b.url, "/ws/citizen", {"session": "page-1", "token": world.tokens["citizen"]}
            )
            assert (await citizen.receive("welcome"))["state"] == "in_call"
            await citizen.send({"type": "join-call"})
            assert await citizen.receive() == {"type": "state", "state": "in_call"}
            assert (await call.receive())["type"] == "peer-reconnected"
            for peer in (citizen, call, desk):
                await peer.ws.close()
    finally:
        for node in nodes:
            node.stop()


def sdp_like(size: int, seed: int = 1) -> str:
    """SDP-shaped text of ``size`` bytes with random candidates, fingerprints and ICE credentials."""
    rng = random.Random(seed)
    lines = ["v=0", f"o=- {rng.getrandbits(62)} 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1 2"]
    while sum(len(line) + 2 for line in lines) < size:
        port = rng.randint(1024, 65535)
        lines += [
            f"a=candidate:{rng.getrandbits(32)} 1 udp {rng.getrandbits(31)} 127.0.0.1 {port} typ host",
            f"a=ice-ufrag:{secrets.token_urlsafe(6)}",
            f"a=ice-pwd:{secrets.token_urlsafe(18)}",
            f"a=fingerprint:sha-256 {':'.join(f'{rng.getrandbits(8):02X}' for _ in range(32))}",
        ]
    return ("\r\n".join(lines) + "\r\n")[:size]


@pytest.mark.redis
async def test_two_nodes_share_redis(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    await two_nodes_one_call(tmp_path, database_url, "redis", [sdp_like(6500)])


@pytest.mark.postgres
async def test_two_nodes_share_postgres(tmp_path: Path) -> None:
    incompressible = base64.b64encode(os.urandom(15_000)).decode()  # needs numbered NOTIFY parts
    async with postgres_database() as database_url:
        await two_nodes_one_call(tmp_path, database_url, "postgres", [sdp_like(6500), incompressible])


async def test_the_desk_lists_whoever_waits_whatever_the_day(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A citizen who joins at 23:45 for an appointment at midnight is on the desk before the day
    turns: waiting and running calls are listed whatever their date; other days' bookings are not."""
    async with sessionmaker() as db:
        world = await seed_world(db)
        today = dt.datetime.now(AMSTERDAM).date()
        appointment = await db.get(Appointment, world.appointment_id)
        assert appointment is not None
        listed = await calls.desk_appointments(db, [appointment.team_id], today)
        assert [a.id for a in listed] == [world.appointment_id]  # the one of two days ago is not
        other_day = await calls.desk_appointments(db, [appointment.team_id], today - dt.timedelta(days=1))
        assert other_day == []
        appointment.status = "waiting"
        await db.commit()
        assert [
            a.id
            for a in await calls.desk_appointments(db, [appointment.team_id], today + dt.timedelta(days=1))
        ] == [world.appointment_id]
        assert await calls.desk_appointments(db, [], today) == []
