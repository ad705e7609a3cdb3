"""Chat, TURN credentials, the call page's list of people and withdrawn links, through real WebSockets.

Uses the small signalling app of signalling_support (uvicorn on a free loopback port). The last test
runs a call with chat on SQLite and PostgreSQL and then searches every column of every table for the
chat text: it must be nowhere.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import participants
from backend.db.models import Appointment, AuditEvent
from backend.settings import Secret, SignallingSettings
from tests.integration.signalling_support import Balie, Peer, seed, start_balie, tiny_app
from tests.support import make_settings

TURN = {"turn_urls": ("turn:127.0.0.1:3478?transport=udp",), "turn_secret": Secret("coturn-secret")}


@pytest.fixture
async def balie(tmp_path: Path) -> AsyncIterator[Balie]:
    node, _ = await start_balie(tmp_path)
    async with node.serving():
        yield node


async def in_call(balie: Balie, *, with_partner_waiting: bool = True) -> tuple[Peer, Peer, Peer | None]:
    """The official's call page, the citizen in the call and (optionally) the partner waiting."""
    call = await balie.call()
    await call.receive("welcome")
    citizen = await balie.citizen()
    await citizen.enter()
    await balie.admit()
    await citizen.receive("state")
    await citizen.join()
    await call.receive("peer-joined")
    partner = None
    if with_partner_waiting:
        partner = await balie.citizen("partner")
        await partner.enter()
    return call, citizen, partner


async def hears_nothing(peer: Peer) -> None:
    """Nothing is queued for ``peer``: a ping comes back as the very next message."""
    await peer.send({"type": "ping"})
    assert await peer.receive() == {"type": "pong"}


async def test_chat_reaches_everyone_in_the_call_and_nobody_waiting(balie: Balie) -> None:
    call, citizen, partner = await in_call(balie)
    assert partner is not None
    me = {"id": str(balie.world.citizen_id), "role": "citizen", "name": "Fatima de Vries"}

    await citizen.send({"type": "chat", "text": "  Goedemiddag, hoort u mij?  "})
    echoed = await citizen.receive("chat")  # the sender sees its own line as the others do
    line = await call.receive("chat")
    assert echoed == line
    assert line["from"] == me and line["text"] == "Goedemiddag, hoort u mij?" and line["scope"] == "call"
    assert line["sent_at"][-6:] in ("+01:00", "+02:00") and line["appointment_id"] is None
    await hears_nothing(partner)  # waiting: the call's chat is none of its business

    await call.send({"type": "chat", "text": "Ja, heel goed."})
    assert (await citizen.receive("chat"))["from"]["role"] == "official"
    assert (await call.receive("chat"))["text"] == "Ja, heel goed."

    await partner.send({"type": "chat", "text": "Mag ik ook?"})
    assert (await partner.receive("error"))["code"] == "not_allowed"
    await citizen.send({"type": "chat", "text": "x", "appointment_id": str(balie.world.appointment_id)})
    assert (await citizen.receive("error"))["code"] == "not_allowed"
    await citizen.send({"type": "chat", "text": "x" * 1001})
    assert (await citizen.receive("error"))["code"] == "bad_message"
    await hears_nothing(call)


async def test_desk_messages_reach_only_the_waiting_room(balie: Balie) -> None:
    call, citizen, partner = await in_call(balie)
    assert partner is not None
    desk = await balie.official("/ws/desk")
    await desk.receive("welcome")
    await desk.receive("queue")

    appointment = str(balie.world.appointment_id)
    await desk.send({"type": "chat", "text": "Ik ben 5 minuten later.", "appointment_id": appointment})
    line = await partner.receive("chat")
    assert line["scope"] == "desk" and line["text"] == "Ik ben 5 minuten later."
    assert line["from"]["role"] == "official" and line["appointment_id"] == appointment
    assert await desk.receive_until("chat") == line
    await hears_nothing(citizen)  # in the call: the desk's waiting-room messages are not for it
    await hears_nothing(call)

    await desk.send({"type": "chat", "text": "Hallo"})
    assert (await desk.receive_until("error"))["code"] == "not_allowed"
    await desk.send({"type": "chat", "text": "Hallo", "appointment_id": str(uuid.uuid4())})
    assert (await desk.receive_until("error"))["code"] == "not_found"

    stranger = await balie.official("/ws/desk", balie.world.stranger_id)  # another municipality
    await stranger.receive("welcome")
    await stranger.receive("queue")
    await stranger.send({"type": "chat", "text": "Hallo", "appointment_id": appointment})
    assert (await stranger.receive_until("error"))["code"] == "not_found"
    await hears_nothing(partner)
    denied = await balie.rows(
        select(AuditEvent.actor, AuditEvent.details).where(AuditEvent.action == "access.denied")
    )
    assert (f"official:{balie.world.stranger_id}", {"via": "ws/desk"}) in [tuple(row) for row in denied]


async def test_a_flood_of_chat_is_cut_off(balie: Balie) -> None:
    call, citizen, _ = await in_call(balie, with_partner_waiting=False)
    for number in range(12):
        await citizen.send({"type": "chat", "text": f"regel {number}"})
    received = [await citizen.receive() for _ in range(12)]
    kinds = [m["type"] for m in received]
    assert kinds.count("chat") == 10 and kinds.count("error") == 2
    assert {m["code"] for m in received if m["type"] == "error"} == {"rate_limited"}
    assert [(await call.receive("chat"))["text"] for _ in range(10)] == [f"regel {n}" for n in range(10)]
    await hears_nothing(call)


async def test_turn_credentials_only_for_pages_that_send_media(tmp_path: Path) -> None:
    node, _ = await start_balie(tmp_path, **TURN)
    async with node.serving():

        def turn_in(servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [s for s in servers if "username" in s]

        desk = await node.official("/ws/desk")
        assert turn_in((await desk.receive("welcome"))["ice_servers"]) == []
        citizen = await node.citizen(session="page-1")
        assert turn_in((await citizen.enter())["ice_servers"]) == []  # waiting: no media yet

        call = await node.call()
        (official_turn,) = turn_in((await call.receive("welcome"))["ice_servers"])
        assert official_turn["urls"] == ["turn:127.0.0.1:3478?transport=udp"]

        await node.admit()
        granted = await citizen.receive()
        assert granted["type"] == "ice-servers"  # before the page hears it may start the call
        (citizen_turn,) = turn_in(granted["ice_servers"])
        assert citizen_turn["username"] != official_turn["username"]
        assert await citizen.receive() == {"type": "state", "state": "admitted"}

        await citizen.ws.close()
        again = await node.citizen(session="page-1")
        assert len(turn_in((await again.receive("welcome"))["ice_servers"])) == 1


async def test_the_call_page_hears_who_waits_and_a_withdrawn_link_closes(balie: Balie) -> None:
    call = await balie.call()
    await call.receive("welcome")
    first = await call.receive("participants")
    assert first["capacity"] == 4
    assert {(p["role"], p["state"]) for p in first["participants"]} == {
        ("citizen", "invited"),
        ("partner", "invited"),
    }

    partner = await balie.citizen("partner")
    await partner.enter()
    listed = await call.receive("participants")
    assert ("partner", "waiting") in {(p["role"], p["state"]) for p in listed["participants"]}

    async with balie.app.state.sessionmaker() as db:
        appointment = await db.get(Appointment, balie.world.appointment_id)
        assert appointment is not None
        await participants.revoke(
            db, balie.app.state.live, appointment, balie.world.partner_id, balie.world.official_id
        )
    error = await partner.receive("error")
    assert error["code"] == "unauthorized" and "withdrawn" in error["message"]
    assert await partner.closed_with() == 4401
    after = await call.receive("participants")
    assert [p["role"] for p in after["participants"]] == ["citizen"]
    again = await balie.citizen("partner")  # the link itself no longer works
    assert (await again.receive("error"))["code"] == "unauthorized"


async def test_no_chat_text_is_stored_anywhere(
    tmp_path: Path, database_url: str, engine: AsyncEngine
) -> None:
    """After a call with chat both ways and a desk message, no column of any table holds the text."""
    world = await seed(database_url)
    settings = make_settings(tmp_path, database_url, signalling=SignallingSettings(hello_timeout_seconds=2.0))
    node = Balie(tiny_app(settings), world)
    marker = f"geheim-{secrets.token_hex(6)}"
    async with node.serving():
        call, citizen, partner = await in_call(node)
        assert partner is not None
        desk = await node.official("/ws/desk")
        await desk.receive("welcome")
        await desk.send(
            {"type": "chat", "text": f"desk {marker}", "appointment_id": str(world.appointment_id)}
        )
        await partner.receive("chat")
        await citizen.send({"type": "chat", "text": f"burger {marker}"})
        await call.receive("chat")
        await call.send({"type": "chat", "text": f"medewerker {marker}"})
        await citizen.receive("chat")
        await node.end("completed")
        await asyncio.sleep(0.2)

    found = await rows_containing(engine, marker)
    assert found == [], f"chat text stored in {found}"
    control = f"control-{secrets.token_hex(4)}"  # the search itself finds what is there
    async with node.app.state.sessionmaker() as db:
        db.add(
            AuditEvent(actor="test", action="test", object_type="x", object_id="1", details={"t": control})
        )
        await db.commit()
    assert await rows_containing(engine, control) == ["audit_event.details"]
    if database_url.startswith("sqlite"):
        database_file = Path(database_url.removeprefix("sqlite+aiosqlite:///"))
        for path in database_file.parent.glob(database_file.name + "*"):  # the file, -wal and -shm
            assert marker.encode() not in path.read_bytes(), path


async def rows_containing(engine: AsyncEngine, marker: str) -> list[str]:
    """``table.column`` of every value that contains ``marker`` (text, JSON or bytes), every table."""
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(metadata.reflect)  # the tables the database has, not what models say
        hits: list[str] = []
        for table in metadata.sorted_tables:
            # The driver's own values, without SQLAlchemy's type processing (reflected types differ).
            result = await connection.exec_driver_sql(f'SELECT * FROM "{table.name}"')
            columns = list(result.keys())
            for row in result.all():
                for column, value in zip(columns, row, strict=True):
                    raw = value if isinstance(value, bytes | bytearray | memoryview) else str(value).encode()
                    if marker.encode() in bytes(raw):
                        hits.append(f"{table.name}.{column}")
        assert metadata.tables, "no tables reflected"
    return hits
