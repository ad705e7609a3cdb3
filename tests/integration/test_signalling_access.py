"""Who may open which signalling socket: tokens, the hello, desk sessions, origins, municipalities."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import AuditEvent
from tests.integration.signalling_support import Balie, Peer


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
