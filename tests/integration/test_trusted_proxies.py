"""Behind a reverse proxy the rate limit keys on the real client: the proxy's ``X-Forwarded-For``
is believed from ``BALIE_TRUSTED_PROXIES`` only, never from anyone else (uvicorn's proxy headers,
configured by ``balie run``'s own options)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app import create_app
from backend.cli import server_options
from backend.db.models import Membership, Official, Service
from backend.settings import Settings
from tests.live import CSRF_FIELD, sign_in_official
from tests.oidc import served_balie
from tests.support import free_port, make_settings

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _starts(client: httpx.AsyncClient, forwarded_for: str) -> int:
    """One throttled request (the officials' sign-in start) as coming through the proxy."""
    answer = await client.get("/balie/inloggen/start", headers={"X-Forwarded-For": forwarded_for})
    if answer.status_code == 429:  # says when to come back, with the usual security headers
        assert int(answer.headers["retry-after"]) > 0
        assert answer.headers["x-content-type-options"] == "nosniff"
    return answer.status_code


@pytest.mark.parametrize(("trusted", "separate"), [(("127.0.0.1",), True), (("10.9.9.9/32",), False)])
async def test_the_rate_limit_sees_the_client_the_trusted_proxy_names(
    tmp_path: Path, database_url: str, engine: object, trusted: tuple[str, ...], separate: bool
) -> None:
    base: Settings = make_settings(tmp_path, database_url, rate_limit_per_minute=2)
    settings = dataclasses.replace(base, env="production", trusted_proxies=trusted)
    port = free_port()
    options = {**server_options(settings), "log_level": "warning"}
    assert options["proxy_headers"] is True  # production: behind a proxy
    app = create_app(
        dataclasses.replace(base, trusted_proxies=trusted, public_url=f"http://127.0.0.1:{port}")
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            first = [await _starts(client, "203.0.113.1") for _ in range(3)]
            assert first[-1] == 429  # one citizen over the limit
            other = await _starts(client, "203.0.113.2")
            # From the trusted proxy another client has its own budget; from anyone else the header
            # is ignored and it is all the same address.
            assert (other != 429) is separate
    finally:
        server.should_exit = True
        await task


async def _switch(client: httpx.AsyncClient, token: str) -> int:
    """A throttled form post an official makes all day (here: "work for my own municipality")."""
    answer = await client.post("/balie/namens", data={"_csrf_token": token, "mandate": ""})
    return answer.status_code


async def test_officials_behind_one_address_have_a_budget_each(
    tmp_path: Path, database_url: str, engine: object, session: AsyncSession, seeded_service: Service
) -> None:
    """A town hall's officials share one NAT address: one of them using up a budget does not lock
    the others out; a visitor who is not signed in still counts by the address."""
    colleague = Official(issuer="urn:balie:dev", subject="collega", name="Collega")
    session.add(Membership(official=colleague, team_id=seeded_service.team_id, role="official"))
    await session.commit()
    settings = make_settings(tmp_path, database_url, rate_limit_per_minute=4)
    async with (
        served_balie(settings) as (_, first),
        httpx.AsyncClient(base_url=str(first.base_url), timeout=20) as second,
    ):
        await sign_in_official(first, "official-testgemeente")  # the address: 1 sign-in start
        await sign_in_official(second, "collega")  # 2
        tokens = []
        for client in (first, second):
            found = CSRF_FIELD.search((await client.get("/balie/")).text)
            assert found
            tokens.append(found.group(1))
        answers = [await _switch(first, tokens[0]) for _ in range(5)]
        assert answers[:4] == [303] * 4 and answers[4] == 429  # the first official's own budget
        assert await _switch(second, tokens[1]) == 303  # the colleague is not locked out
        async with httpx.AsyncClient(base_url=str(first.base_url), timeout=20) as visitor:
            starts = [(await visitor.get("/balie/inloggen/start")).status_code for _ in range(3)]
        assert starts[-1] == 429  # signed out: the address's budget (2 used by the sign-ins)
