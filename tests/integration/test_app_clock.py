"""One app, one clock: ``create_app(settings, clock=...)`` sets the time that pages, the API, the
sockets' windows and the stores read (backend/clock.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.booking.tokens import new_token
from backend.clock import ManualClock
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Service
from backend.identity.store import DatabaseStore
from tests.support import citizen_appointment, make_settings, seed_agenda

STARTS = dt.datetime(2027, 3, 2, 9, 0, tzinfo=dt.UTC)
"""Tuesday 2 March 2027, 10:00 in Amsterdam: months away from the real date of any test run."""


@dataclass
class Scene:
    client: Any
    clock: ManualClock
    service: Service
    sessionmaker: async_sessionmaker[AsyncSession]


@pytest.fixture
async def scene(tmp_path: Path, database_url: str) -> AsyncIterator[Scene]:
    settings = make_settings(tmp_path, database_url)
    engine = create_engine(settings.database)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as db:
        service = await seed_agenda(db)
    clock = ManualClock(STARTS - dt.timedelta(days=1))
    async with AsyncTestClient(
        app=create_app(settings, clock=clock), base_url="http://127.0.0.1:8000"
    ) as client:
        client.follow_redirects = False
        yield Scene(client, clock, service, sessionmaker)
    await engine.dispose()


async def booked_at(scene: Scene, start: dt.datetime) -> str:
    """An appointment at ``start``; returns the citizen's join token."""
    token = new_token()
    async with scene.sessionmaker() as db:
        db.add(citizen_appointment(scene.service, start, join_token=token, manage_token=new_token()))
        await db.commit()
    return token


async def test_the_join_link_opens_and_closes_by_the_app_clock(scene: Scene) -> None:
    token = await booked_at(scene, STARTS)

    scene.clock.set(STARTS - dt.timedelta(hours=2))
    early = await scene.client.get(f"/j/{token}")
    assert early.status_code == 200 and "te vroeg" in early.text
    assert "vanaf 09:00" in early.text  # an hour before 10:00 (tests.support: opens 60 min before)
    assert (await scene.client.get(f"/j/{token}/wachtkamer")).status_code == 303  # back to the landing page

    scene.clock.set(STARTS - dt.timedelta(minutes=10))
    now_open = await scene.client.get(f"/j/{token}")
    assert now_open.status_code == 200 and "te vroeg" not in now_open.text
    assert (await scene.client.get(f"/j/{token}/wachtkamer")).status_code == 200

    scene.clock.advance(dt.timedelta(hours=2))  # past the end and the grace after it
    closed = await scene.client.get(f"/j/{token}")
    assert closed.status_code == 404
    assert "Bel dan Gemeente Testgemeente: 14 010" in closed.text  # its own number, not "14 + netnummer"


async def test_free_times_start_from_the_app_clocks_today(scene: Scene) -> None:
    scene.clock.set(dt.datetime(2027, 3, 2, 22, 30, tzinfo=dt.UTC))  # 23:30 in Amsterdam
    slots = (await scene.client.get(f"/api/v1/services/{scene.service.id}/slots")).json()
    assert slots, "the seeded team is open every day"
    first = dt.datetime.fromisoformat(slots[0]["start"])
    assert first > scene.clock() and first.date() in (dt.date(2027, 3, 2), dt.date(2027, 3, 3))
    assert first - scene.clock() < dt.timedelta(hours=2)


async def test_stored_sessions_expire_by_the_clock(scene: Scene) -> None:
    store = DatabaseStore(scene.sessionmaker, clock=scene.clock)
    await store.set("visitor", b"data", expires_in=60)
    scene.clock.advance(dt.timedelta(seconds=59))
    assert await store.get("visitor") == b"data" and await store.expires_in("visitor") == 1
    scene.clock.advance(dt.timedelta(seconds=2))
    assert await store.get("visitor") is None


async def test_the_manage_token_stops_working_on_the_api_when_it_does_on_the_pages(scene: Scene) -> None:
    manage = new_token()
    async with scene.sessionmaker() as db:
        appointment = citizen_appointment(scene.service, STARTS, join_token=new_token(), manage_token=manage)
        db.add(appointment)
        await db.commit()
        reference = appointment.reference
    bearer = {"Authorization": f"Bearer {manage}"}
    assert (await scene.client.get(f"/api/v1/appointments/{reference}", headers=bearer)).status_code == 200
    assert (await scene.client.get(f"/afspraak/{manage}")).status_code == 200

    scene.clock.set(STARTS + dt.timedelta(days=2))  # long after the end and the grace window
    gone = await scene.client.get(f"/api/v1/appointments/{reference}", headers=bearer)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")
    moved = await scene.client.post(
        f"/api/v1/appointments/{reference}/cancel", headers=bearer, json={"reason": "te laat"}
    )
    assert moved.status_code == 404
    assert (await scene.client.get(f"/afspraak/{manage}")).status_code == 404  # the same moment
