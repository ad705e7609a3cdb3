"""OpenID Connect Back-Channel Logout with npm's ``oidc-provider``: the official signs out at the
provider (another application, another tab), the provider posts a logout token to the app, and the
official's session here ends and their open desk socket closes with 4401. A replayed or forged
token changes nothing."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import websockets
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import AuditEvent
from backend.settings import Settings
from tests.interop.op import InteropProvider, interop_provider
from tests.interop.test_token_endpoint import SECRET, official_client, sign_in_at, with_provider
from tests.live import cookie_header
from tests.oidc import served_balie
from tests.support import free_port


async def sign_out_at_provider(client: httpx.AsyncClient, op: InteropProvider) -> None:
    """The official ends their session at the provider itself (its own "sign out" page)."""
    confirm = await client.get(f"{op.issuer}/session/end")
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text)
    action = re.search(r'<form[^>]*action="([^"]+)"', confirm.text)
    assert confirm.status_code == 200 and xsrf and action, confirm.text[:500]
    done = await client.post(
        str(confirm.url.join(action.group(1))), data={"xsrf": xsrf.group(1), "logout": "yes"}
    )
    assert done.status_code in (200, 302, 303), done.text[:300]


async def test_the_provider_ends_the_officials_session_and_closes_their_desk(
    tmp_path: Path, seeded: Settings
) -> None:
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    registration = official_client(app_url, "client_secret_basic", SECRET)
    registration["backchannel_logout_uri"] = f"{app_url}/balie/uitloggen/backchannel"
    registration["backchannel_logout_session_required"] = True
    with interop_provider(tmp_path, [registration]) as op:
        settings = with_provider(seeded, op, "client_secret_basic", SECRET, None)
        async with served_balie(settings, port) as (_, client):
            assert (await sign_in_at(client, op, "official-testgemeente")).headers["location"] == "/balie"
            assert (await client.get("/balie")).status_code == 200
            desk = await websockets.connect(
                f"ws://127.0.0.1:{port}/ws/desk",
                additional_headers={"cookie": cookie_header(client), "origin": app_url},
            )
            try:
                await desk.send(json.dumps({"type": "hello", "session": "desk-page-1"}))
                assert json.loads(await asyncio.wait_for(desk.recv(), 10))["type"] == "welcome"
                await sign_out_at_provider(client, op)  # the provider calls the app, server to server
                messages = []
                try:
                    while True:
                        messages.append(json.loads(await asyncio.wait_for(desk.recv(), 10)))
                except websockets.ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 4401, messages
                assert any(m.get("code") == "unauthorized" for m in messages), messages
            finally:
                await desk.close()
            after = await client.get("/balie")
            assert after.status_code in (302, 303) and after.headers["location"] == "/balie/inloggen"

            # The same token again, or one nobody signed, changes nothing and is refused.
            forged = await client.post(
                "/balie/uitloggen/backchannel", data={"logout_token": "eyJhbGciOiJub25lIn0.e30."}
            )
            assert forged.status_code == 400 and forged.json()["error"] == "invalid_request"

    engine = create_engine(settings.database)
    async with create_sessionmaker(engine)() as db:
        events = list(
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "session.sign_out", AuditEvent.actor == "provider"
                )
            )
        )
    await engine.dispose()
    assert [e.details["by"] for e in events] == ["sub"]
