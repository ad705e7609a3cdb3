"""backend.calls without sockets: the call's lifecycle in the database and the desk's list."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import calls
from backend.db.models import Appointment, AuditEvent, Participant
from backend.timefmt import AMSTERDAM
from signalling.hub import Envelope, Hub, appointment_channel, team_channel
from signalling.live import HubPages
from tests.integration.signalling_support import WAIT, seed_world


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
            queue = await calls.desk_queue(
                db, [appointment.team_id], dt.datetime.now(AMSTERDAM).date(), now=dt.datetime.now(dt.UTC)
            )
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
