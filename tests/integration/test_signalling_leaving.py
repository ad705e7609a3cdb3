"""Leaving a call, coming back (the same page or a new one) and the end of the call."""

from __future__ import annotations

from sqlalchemy import select

from backend.db.models import Appointment, Participant
from signalling import protocol
from tests.integration.signalling_support import OFFER, Balie


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
