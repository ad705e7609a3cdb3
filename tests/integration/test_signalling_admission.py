"""The waiting room, the desk's admission and the call, with one official per call."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from backend import calls
from backend.db.models import Appointment, AuditEvent, Membership, Official
from tests.integration.signalling_support import ANSWER, OFFER, Balie


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

    entry = (await desk.receive_until("queue", lambda q: q["appointments"][0]["status"] == "waiting"))[
        "appointments"
    ][0]
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
    await desk.receive_until("queue", lambda q: q["appointments"][0]["status"] == "in_call")

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


async def test_admit_refuses_when_nobody_waits(balie: Balie) -> None:
    with pytest.raises(calls.NotAllowed, match="nobody is waiting"):
        await balie.admit()
    ((result, details),) = await balie.rows(
        select(AuditEvent.result, AuditEvent.details).where(AuditEvent.action == "call.admit")
    )
    assert (result, details) == ("refused", {"reason": "nobody_waiting"})
