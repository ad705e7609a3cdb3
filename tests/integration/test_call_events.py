"""What the domain tells the live pages, through the port alone (a recording fake, no hub).

Each test records every event in order and asserts the exact sequence, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import calls, participants
from backend.db.models import Appointment, Participant
from tests.integration.signalling_support import World, seed_world
from tests.recording import RecordingPages


async def scene(db: AsyncSession) -> tuple[World, Appointment, Participant]:
    world = await seed_world(db)
    appointment = await db.get(Appointment, world.appointment_id)
    citizen = await db.get(Participant, world.citizen_id)
    assert appointment is not None and citizen is not None
    return world, appointment, citizen


async def test_a_call_from_the_waiting_room_to_the_end(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    pages = RecordingPages()
    async with sessionmaker() as db:
        world, appointment, citizen = await scene(db)
        me, desk = citizen.id, appointment.id
        await calls.enter_waiting_room(db, pages, citizen, origin="page-a")
        await calls.enter_waiting_room(db, pages, citizen, origin="page-a")  # again: nothing to tell
        await calls.admit(db, pages, appointment, world.official_id, origin=None)
        await calls.join_call(db, pages, citizen, origin="page-a", session_id="s-1")
        await calls.join_call(db, pages, citizen, origin="page-b", session_id="s-2")  # a reloaded page
        await calls.leave(db, pages, citizen, origin="page-b")
        await calls.end_call(db, pages, appointment, world.official_id, "completed")
    peer = {"id": str(me), "role": "citizen", "name": "Fatima de Vries"}
    assert pages.events == [
        ("participant_state", {"participant_id": me, "state": "waiting", "origin": "page-a"}),
        ("desks_changed", {"appointment_id": desk, "origin": "page-a"}),
        ("participant_state", {"participant_id": me, "state": "admitted", "origin": None}),
        ("desks_changed", {"appointment_id": desk, "origin": None}),
        ("participant_state", {"participant_id": me, "state": "in_call", "origin": "page-a"}),
        ("desks_changed", {"appointment_id": desk, "origin": "page-a"}),
        ("peer_joined", {"peer": peer, "session_id": "s-1", "origin": "page-a"}),
        ("peer_joined", {"peer": peer, "session_id": "s-2", "origin": "page-b"}),
        ("participant_state", {"participant_id": me, "state": "left", "origin": "page-b"}),
        ("peer_left", {"participant_id": me, "origin": "page-b"}),
        ("desks_changed", {"appointment_id": desk, "origin": "page-b"}),
        ("call_ended", {"outcome": "completed", "origin": None}),
        ("desks_changed", {"appointment_id": desk, "origin": None}),
    ]


async def test_a_refusal_tells_no_page(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    pages = RecordingPages()
    async with sessionmaker() as db:
        world, appointment, _ = await scene(db)
        with pytest.raises(calls.NotAllowed, match="nobody is waiting"):
            await calls.admit(db, pages, appointment, world.official_id)
        with pytest.raises(ValueError, match="outcome"):
            await calls.end_call(db, pages, appointment, world.official_id, "maybe")
    assert pages.events == []


async def test_taking_over_tells_the_call_only_when_someone_else_led_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    pages = RecordingPages()
    async with sessionmaker() as db:
        world, appointment, citizen = await scene(db)
        await calls.enter_waiting_room(db, pages, citizen)
        await calls.admit(db, pages, appointment, world.official_id)
        pages.events.clear()
        await calls.take_over(db, pages, appointment, world.official_id)  # already theirs
        assert pages.events == []
        colleague = world.stranger_id  # any other official row will do: the port is what is tested
        await calls.take_over(db, pages, appointment, colleague, origin="desk-2")
    assert pages.events == [("taken_over", {"official_id": colleague, "origin": "desk-2"})]


async def test_withdrawing_an_invitation_closes_the_guests_pages(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    pages = RecordingPages()
    async with sessionmaker() as db:
        world, appointment, _ = await scene(db)
        await participants.revoke(db, pages, appointment, world.partner_id, world.official_id)
    guest = world.partner_id
    assert pages.events == [
        ("revoked", {"participant_id": guest}),
        ("desks_changed", {"appointment_id": appointment.id, "origin": None}),
    ]
