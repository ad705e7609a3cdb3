"""Client authentication at the token endpoint of npm's ``oidc-provider``, scripted over HTTP.

Each method the app offers (``client_secret_basic`` with a secret that needs form-urlencoding,
``client_secret_post``, ``private_key_jwt`` with the app's own key, which the provider fetches
from the app's ``/oidc/jwks.json``) signs an official in; a secret the provider does not know is
refused and audited with the provider's own error code.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import AuditEvent
from backend.identity.client_auth import ClientKeys
from backend.settings import Secret, Settings
from backend.settings.identity import TokenAuth
from tests.interop.op import (
    OFFICIAL_CLIENT,
    InteropProvider,
    app_clients,
    back_to_the_app,
    encryption_key,
    interop_provider,
    signing_key,
    through_provider,
)
from tests.live import CSRF_FIELD, follow_link
from tests.oidc import served_balie
from tests.support import free_port

SECRET = "s3cret+with/those=chars"


def official_client(app_url: str, method: TokenAuth, secret: str) -> dict[str, Any]:
    client = next(c for c in app_clients(app_url, secret=secret) if c["client_id"] == OFFICIAL_CLIENT)
    client["token_endpoint_auth_method"] = method
    if method == "private_key_jwt":
        del client["client_secret"]
        client["jwks_uri"] = f"{app_url}/oidc/jwks.json"  # the provider fetches the app's public key
    return client


def with_provider(
    settings: Settings, op: InteropProvider, method: TokenAuth, secret: str, keys: ClientKeys | None
) -> Settings:
    official = dataclasses.replace(
        settings.identity.official,
        issuer=op.issuer,
        client_id=OFFICIAL_CLIENT,
        client_secret=Secret(secret),
        scope="openid profile email groups",
        token_auth=method,
    )
    identity = dataclasses.replace(settings.identity, official=official, client_keys=keys)
    return dataclasses.replace(settings, identity=identity)


async def sign_in_at(client: httpx.AsyncClient, op: InteropProvider, account: str) -> httpx.Response:
    """Follow "Inloggen" to the provider, sign in there as ``account``, and return the app's answer."""
    started = await follow_link(client, "/balie/inloggen", "sign-in")
    return await through_provider(client, op, started, {"login": account})


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt"])
async def test_each_client_authentication_signs_an_official_in(
    tmp_path: Path, seeded: Settings, method: TokenAuth
) -> None:
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    keys = ClientKeys.parse(json.dumps({"keys": [signing_key("PS256"), signing_key("ES256")]}))
    with interop_provider(tmp_path, [official_client(app_url, method, SECRET)]) as op:
        settings = with_provider(seeded, op, method, SECRET, keys)
        async with served_balie(settings, port) as (_, client):
            published = (await client.get("/oidc/jwks.json")).json()
            assert [k["kid"] for k in published["keys"]] == [k.kid for k in keys.keys]
            assert all("d" not in k for k in published["keys"])  # public halves only
            done = await sign_in_at(client, op, "official-testgemeente")
            assert done.status_code == 303 and done.headers["location"] == "/balie", op.log_tail()
            desk = await client.get("/balie")
            assert desk.status_code == 200 and "data-desk" in desk.text


async def test_a_secret_the_provider_refuses_is_audited_with_its_error_code(
    tmp_path: Path, seeded: Settings
) -> None:
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with interop_provider(tmp_path, [official_client(app_url, "client_secret_basic", SECRET)]) as op:
        settings = with_provider(seeded, op, "client_secret_basic", "not-the-secret", None)
        async with served_balie(settings, port) as (_, client):
            done = await sign_in_at(client, op, "official-testgemeente")
            assert done.status_code == 400 and "Inloggen is niet gelukt" in done.text
    engine = create_engine(settings.database)
    async with create_sessionmaker(engine)() as db:
        event = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "session.sign_in"))).one()
    await engine.dispose()
    assert event.result == "failure"
    assert event.details == {"reason": "token_refused", "provider_error": "invalid_client"}


async def test_an_issuer_with_a_trailing_slash_is_taken_exactly(tmp_path: Path, seeded: Settings) -> None:
    """Discovery names ``http://host:port/``: the app compares it, ``iss`` and the RFC 9207
    parameter exactly as written, and finds the discovery document beside it."""
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with interop_provider(
        tmp_path, [official_client(app_url, "client_secret_basic", SECRET)], issuer_suffix="/"
    ) as op:
        assert op.issuer.endswith("/")
        settings = with_provider(seeded, op, "client_secret_basic", SECRET, None)
        async with served_balie(settings, port) as (_, client):
            done = await sign_in_at(client, op, "official-testgemeente")
            assert done.status_code == 303 and done.headers["location"] == "/balie", op.log_tail()


async def test_signing_out_ends_the_session_at_the_provider_too(tmp_path: Path, seeded: Settings) -> None:
    """RP-initiated logout: after "Uitloggen" the next "Inloggen" on the same PC asks again."""
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with interop_provider(tmp_path, [official_client(app_url, "client_secret_basic", SECRET)]) as op:
        settings = with_provider(seeded, op, "client_secret_basic", SECRET, None)
        async with served_balie(settings, port) as (_, client):
            assert (await sign_in_at(client, op, "official-testgemeente")).headers["location"] == "/balie"
            desk = await client.get("/balie")
            csrf = CSRF_FIELD.search(desk.text)
            assert csrf
            out = await client.post("/balie/uitloggen", data={"_csrf_token": csrf.group(1)})
            assert out.status_code == 200 and "data-signing-out" in out.text
            refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', out.text)
            assert refresh, out.text[:500]
            logout = html.unescape(refresh.group(1))
            assert logout.startswith(op.issuer) and "id_token_hint=" in logout
            assert (await client.get("/balie")).status_code in (302, 303)  # signed out here at once

            confirm = await client.get(logout)  # the provider asks "sign out?" with its own form
            xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text)
            assert confirm.status_code == 200 and xsrf, confirm.text[:500]
            action = re.search(r'<form[^>]*action="([^"]+)"', confirm.text)
            assert action
            back = await client.post(
                str(confirm.url.join(action.group(1))), data={"xsrf": xsrf.group(1), "logout": "yes"}
            )
            assert back.status_code in (302, 303)
            assert back.headers["location"] == f"{app_url}/balie/inloggen?uitgelogd=1"

            # Signing in again shows the provider's sign-in screen instead of letting the last one in.
            again = await follow_link(client, "/balie/inloggen", "sign-in")
            at_provider = await client.get(again.headers["location"])
            assert at_provider.status_code in (302, 303)
            assert "/interaction/" in at_provider.headers["location"]


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
async def test_id_tokens_signed_with_each_algorithm_and_a_rotated_key(
    tmp_path: Path, seeded: Settings, alg: str
) -> None:
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    client_registration = official_client(app_url, "client_secret_basic", SECRET)
    client_registration["id_token_signed_response_alg"] = alg
    with interop_provider(tmp_path, [client_registration], keys=[signing_key(alg)]) as op:
        settings = with_provider(seeded, op, "client_secret_basic", SECRET, None)
        async with served_balie(settings, port) as (_, client):
            assert (await sign_in_at(client, op, "official-testgemeente")).headers["location"] == "/balie"
            op.rotate([signing_key(alg)])  # a new key signs; the old one is withdrawn
            client.cookies.clear()
            again = await sign_in_at(client, op, "official-testgemeente")
            assert again.status_code == 303 and again.headers["location"] == "/balie", op.log_tail()


async def test_a_provider_that_is_down_gets_a_clear_page_and_the_app_recovers(
    tmp_path: Path, seeded: Settings
) -> None:
    """Down when the sign-in starts, and down between the authorization and the callback."""
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    registration = [official_client(app_url, "client_secret_basic", SECRET)]
    with interop_provider(tmp_path, registration) as first:
        issuer_port = first.port
    # The provider is gone: "Inloggen" says so, in Dutch, with a way to try again.
    settings = with_provider(seeded, first, "client_secret_basic", SECRET, None)
    async with served_balie(settings, port) as (_, client):
        down = await follow_link(client, "/balie/inloggen", "sign-in")
        assert down.status_code == 503 and "Inloggen lukt nu niet" in down.text
        with interop_provider(tmp_path, registration, port=issuer_port) as op:
            assert (await sign_in_at(client, op, "official-testgemeente")).headers["location"] == "/balie"
            client.cookies.clear()
            started = await follow_link(client, "/balie/inloggen", "sign-in")
            callback = await back_to_the_app(client, op, started, {"login": "official-testgemeente"})
        # The provider went down after it sent the browser back: the code cannot be redeemed.
        late = await client.get(callback)
        assert late.status_code == 503 and "Inloggen lukt nu niet" in late.text


async def test_encrypted_id_tokens_are_opened_with_the_apps_key_or_refused_clearly(
    tmp_path: Path, seeded: Settings
) -> None:
    """The profile's SHOULD for a BSN: the provider encrypts the ID token to the app's published
    ``use=enc`` key (RSA-OAEP-256, A256GCM); without such a key the page says what is wrong."""
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    registration = official_client(app_url, "client_secret_basic", SECRET)
    registration["jwks_uri"] = f"{app_url}/oidc/jwks.json"
    registration["id_token_encrypted_response_alg"] = "RSA-OAEP-256"
    registration["id_token_encrypted_response_enc"] = "A256GCM"
    keys = ClientKeys.parse(json.dumps({"keys": [signing_key("PS256"), encryption_key()]}))
    with interop_provider(tmp_path, [registration]) as op:
        settings = with_provider(seeded, op, "client_secret_basic", SECRET, keys)
        async with served_balie(settings, port) as (_, client):
            published = (await client.get("/oidc/jwks.json")).json()["keys"]
            assert [k["use"] for k in published] == ["sig", "enc"]
            done = await sign_in_at(client, op, "official-testgemeente")
            assert done.status_code == 303 and done.headers["location"] == "/balie", op.log_tail()

    stranger = json.loads(json.dumps(encryption_key()))
    registration = {
        **official_client(app_url, "client_secret_basic", SECRET),
        "jwks": {"keys": [{k: v for k, v in stranger.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}]},
    }
    registration["id_token_encrypted_response_alg"] = "RSA-OAEP-256"
    registration["id_token_encrypted_response_enc"] = "A256GCM"
    with interop_provider(tmp_path, [registration]) as op:
        settings = with_provider(seeded, op, "client_secret_basic", SECRET, None)
        async with served_balie(settings, port) as (_, client):
            refused = await sign_in_at(client, op, "official-testgemeente")
            assert refused.status_code == 400 and "versleuteld" in refused.text
    engine = create_engine(settings.database)
    async with create_sessionmaker(engine)() as db:
        events = list(await db.scalars(select(AuditEvent).where(AuditEvent.action == "session.sign_in")))
    await engine.dispose()
    assert events[-1].details == {"reason": "encrypted_id_token"}
