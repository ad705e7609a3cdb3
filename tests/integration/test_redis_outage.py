"""A Redis outage (channels and sessions in Redis) answers 503 with Retry-After, never a 500, and
the app recovers by itself when Redis is back. The Redis server is the test's own, on its own port
(the shared one at 6379 must not suffer)."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.db.models import Appointment
from backend.settings import ChannelsSettings, SessionSettings
from tests.live import sign_in_official
from tests.oidc import served_balie
from tests.support import free_port

pytestmark = [pytest.mark.redis, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


class OwnRedis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if (
                subprocess.run(
                    ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def test_a_redis_outage_answers_503_and_recovers(
    settings: Any, engine: Any, sessionmaker: Any, seeded_service: Any, own_redis: OwnRedis
) -> None:
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    on_redis = dataclasses.replace(
        settings,
        channels=ChannelsSettings(backend="redis", redis_url=url),
        sessions=SessionSettings(store="redis"),
    )
    async with served_balie(on_redis) as (_, client):
        await sign_in_official(client, "official-testgemeente")  # its session is in Redis
        assert (await client.get("/balie/")).status_code == 200
        slots = (await client.get(f"/api/v1/services/{seeded_service.id}/slots")).json()
        own_redis.kill()
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=20) as citizen:
            public = await citizen.get("/testgemeente")  # no session, no live event: still served
            own = await citizen.post(
                "/api/v1/appointments",
                json={
                    "service_id": str(seeded_service.id),
                    "start": slots[1]["start"],
                    "citizen": {"name": "Anna Jansen", "email": "anna@example.nl"},
                },
            )
            assert own.status_code == 201  # a citizen's booking needs no Redis (the desks hear later)
        desk = await client.get("/balie/", headers={"Accept": "text/html"})
        booked = await client.post(
            "/api/v1/appointments",
            json={
                "service_id": str(seeded_service.id),
                "start": slots[0]["start"],
                "citizen": {"name": "Sanne de Boer", "email": "sanne@example.nl"},
            },
        )
        ready = await client.get("/readyz")
        own_redis.start()
        assert public.status_code == 200
        # Whoever has a session in Redis: 503 with Retry-After, in Dutch, nothing half done.
        assert "Het lukt nu even niet" in desk.text
        assert booked.headers["content-type"] == "application/problem+json"
        for answer in (desk, booked, ready):
            assert answer.status_code == 503, (answer.request.url, answer.status_code, answer.text[:300])
            assert int(answer.headers["retry-after"]) > 0
        back = None
        for _ in range(50):
            back = await client.get("/readyz")
            if back.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert back is not None and back.status_code == 200
        assert (await client.get("/balie/")).status_code in (200, 303)  # by itself, no restart
    async with sessionmaker() as db:
        emails = set(await db.scalars(select(Appointment.citizen_email)))
    assert emails == {"anna@example.nl"}  # the refused booking left nothing behind
