"""OpenID Connect test kit: the app served on a loopback port (so its relying party can reach the
development provider over real HTTP), and a small provider the test controls for forged answers."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post

from backend.app import create_app
from backend.settings import Settings
from tests.live import follow_link
from tests.support import free_port


@asynccontextmanager
async def serve(app: Litestar, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_per_message_deflate=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def served_balie(
    settings: Settings, port: int | None = None
) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """``create_app`` under uvicorn on ``port`` (or a free one), its public URL pointing there, and a
    client."""
    port = port or free_port()
    settings = dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings)
    async with serve(app, port), httpx.AsyncClient(base_url=settings.public_url, timeout=20) as client:
        yield app, client


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """``alg: none``: no signature at all."""
    return f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}."


def hs256_with(secret: bytes, claims: dict[str, Any], kid: str | None) -> str:
    """HS256 with ``secret`` (the algorithm-confusion attack uses the provider's public key as secret)."""
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@dataclass
class TestProvider:
    """A provider on a loopback port: discovery and JWKS like a real one; its token endpoint answers
    with whatever ``answer`` makes of the token request and the authorization request it belongs to."""

    port: int = field(default_factory=free_port)
    keys: list[RSAKey] = field(default_factory=list)
    signing_key: RSAKey | None = None
    answer: Callable[[dict[str, str], dict[str, str]], dict[str, Any]] | None = None
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    jwks_fetches: int = 0
    iss_parameter: bool = False
    jwks_cache_control: str | None = None

    __test__ = False  # not a pytest test class

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_key(self) -> RSAKey:
        key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
        key.ensure_kid()
        self.keys.append(key)
        self.signing_key = key
        return key

    def claims(self, authorization: dict[str, str], client_id: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.issuer,
            "sub": "user-1",
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,  # a fresh login, as prompt=login and max_age ask for
            "nonce": authorization.get("nonce"),
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None, kid: str | None = None) -> str:
        key = key or self.signing_key
        assert key is not None
        return jwt.encode({"alg": "RS256", "kid": kid or str(key.kid)}, claims, key)

    def remember(self, authorize_url: str) -> dict[str, str]:
        """What the relying party asked for (the test plays the browser and the provider's login)."""
        query = query_of(authorize_url)
        self.authorizations.append(query)
        return query

    def app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "jwks_uri": f"{provider.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "authorization_response_iss_parameter_supported": provider.iss_parameter,
            }

        @get("/jwks")
        async def jwks() -> Response[dict[str, Any]]:
            provider.jwks_fetches += 1
            headers = {"cache-control": provider.jwks_cache_control} if provider.jwks_cache_control else {}
            return Response({"keys": [k.as_dict(private=False) for k in provider.keys]}, headers=headers)

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> dict[str, Any]:
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            provider.token_requests.append(form)
            authorization = next(
                (
                    a
                    for a in reversed(provider.authorizations)
                    if a.get("state") and form.get("code") == a["state"]
                ),
                provider.authorizations[-1] if provider.authorizations else {},
            )
            assert provider.answer is not None, "the test did not say what the token endpoint answers"
            return provider.answer(form, authorization)

        return Litestar(route_handlers=[discovery, jwks, token])

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TestProvider]:
        if not self.keys:
            self.new_key()
        async with serve(self.app(), self.port):
            yield self


async def start_official_sign_in(client: httpx.AsyncClient) -> httpx.Response:
    return await follow_link(client, "/balie/inloggen", "sign-in")


async def start_digid(
    client: httpx.AsyncClient, join_token: str, data: dict[str, str] | None = None
) -> httpx.Response:
    return await follow_link(client, f"/j/{join_token}", "digid", data)


async def appointment_with_link(
    session: Any, service: Any, *, required_loa: str = "midden", role: str = "citizen"
) -> tuple[Any, Any, str]:
    """An appointment starting now (its link works) for ``service`` set to ``required_loa``:
    (appointment, participant, join token)."""
    import datetime as dt
    import secrets

    from backend.booking.tokens import hash_token, new_token
    from backend.db.models import Appointment, Participant

    service.required_loa = required_loa
    token = new_token()
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    participant = Participant(
        role=role, name="Sanne de Boer", email="sanne@example.nl", join_token_hash=hash_token(token)
    )
    appointment = Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name="Sanne de Boer",
        citizen_email="sanne@example.nl",
        manage_token_hash=hash_token(new_token()),
        participants=[participant],
    )
    session.add(appointment)
    await session.commit()
    return appointment, participant, token
