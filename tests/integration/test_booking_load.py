"""500 people at once want the last free slot, through HTTP against a real server.

Exactly one gets it, everyone else a 409 problem, nobody a server error; on SQLite and on
PostgreSQL, where the guarantee is the unique key on the seat claims, not the Python check.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.live import live_server
from tests.support import postgres_database

REQUESTS = 500


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'load.db'}"
    else:
        async with postgres_database() as url:
            yield url


async def test_five_hundred_requests_for_the_last_slot(tmp_path: Path, database: str) -> None:
    async with live_server(tmp_path, database_url=database, desks=1) as server:
        # The slot is read on a connection of its own: a keep-alive connection that sat idle while
        # the burst's 500 connections were being opened may hit uvicorn's keep-alive timeout just as
        # the client sends on it (a client-side race, not the server's answer).
        async with httpx.AsyncClient(base_url=server.base_url) as first:
            last = (await first.get(f"/api/v1/services/{server.service_id}/slots")).json()[0]["start"]
        limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as client:

            async def attempt(n: int) -> tuple[int, str]:
                response = await client.post(
                    "/api/v1/appointments",
                    json={
                        "service_id": server.service_id,
                        "start": last,
                        "citizen": {"name": f"Inwoner {n}", "email": f"inwoner{n}@example.nl"},
                    },
                )
                return response.status_code, response.headers.get("content-type", "")

            try:
                answers = await asyncio.gather(*(attempt(n) for n in range(REQUESTS)))
            except httpx.TransportError as exc:
                raise AssertionError(f"{exc!r}\n{server.log()}") from exc
            statuses = collections.Counter(status for status, _ in answers)
            assert statuses == {201: 1, 409: REQUESTS - 1}, (statuses, server.log())
            assert all(
                kind.startswith("application/problem+json") for status, kind in answers if status == 409
            )
        # A new connection: one that sat idle during the burst may just have hit uvicorn's keep-alive
        # timeout, and httpx would send on it anyway.
        async with httpx.AsyncClient(base_url=server.base_url) as fresh:
            after = (await fresh.get(f"/api/v1/services/{server.service_id}/slots")).json()
        assert last not in [s["start"] for s in after]


SEATS = 20


async def test_as_many_people_as_free_seats_all_get_one(tmp_path: Path, database: str) -> None:
    """N seats and N + 5 people at once for the same time: N bookings and 5 × 409, never a 409
    while a seat is free (every transaction used to pick the lowest free seat, and collide)."""
    async with live_server(tmp_path, database_url=database, desks=SEATS) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as first:
            start = (await first.get(f"/api/v1/services/{server.service_id}/slots")).json()[0]["start"]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:

            async def attempt(n: int) -> int:
                response = await client.post(
                    "/api/v1/appointments",
                    json={
                        "service_id": server.service_id,
                        "start": start,
                        "citizen": {"name": f"Inwoner {n}", "email": f"inwoner{n}@example.nl"},
                    },
                )
                return response.status_code

            statuses = collections.Counter(await asyncio.gather(*(attempt(n) for n in range(SEATS + 5))))
        assert statuses == {201: SEATS, 409: 5}, (statuses, server.log())
