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

from backend.app import create_app
from backend.cli import server_options
from backend.settings import Settings
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
