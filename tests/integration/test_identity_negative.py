"""Every way a sign-in must fail: no session comes of it, and the audit trail says why.

The token checks run against :class:`tests.oidc.TestProvider`, a provider on a loopback port whose
token endpoint answers with what each test forges; the code-level attacks (reused code, wrong PKCE
verifier, other redirect addresses) and the level check run against the development provider, which
implements those rules itself, over real HTTP.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import AuditEvent, Participant, StoredSession
from backend.identity.binding import badge, identity_keyring
from backend.settings import IdentitySettings, OidcClientSettings, Secret, Settings
from tests.live import CSRF_FIELD, through_dev_provider
from tests.oidc import (
    TestProvider,
    appointment_with_link,
    hs256_with,
    query_of,
    served_balie,
    start_digid,
    start_official_sign_in,
    unsigned,
)
from tests.support import seed_agenda

CLIENT_ID = "balie-test"
GROUPS = ["balie:0599:burgerzaken:official"]


@pytest.fixture
async def provider() -> AsyncIterator[TestProvider]:
    async with TestProvider().running() as running:
        yield running


def against(settings: Settings, provider: TestProvider) -> Settings:
    client = OidcClientSettings(issuer=provider.issuer, client_id=CLIENT_ID, client_secret=Secret("geheim"))
    identity = dataclasses.replace(
        IdentitySettings(), citizen=client, official=dataclasses.replace(client, scope="openid profile")
    )
    return dataclasses.replace(settings, identity=identity)


@pytest.fixture
async def service(session: AsyncSession) -> Any:
    return await seed_agenda(session)


async def failures(sessionmaker: async_sessionmaker[AsyncSession], action: str) -> list[AuditEvent]:
    async with sessionmaker() as db:
        rows = list(
            await db.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.result != "success")
                .order_by(AuditEvent.created_at)
            )
        )
        await db.commit()
    return rows


async def assert_no_session(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], *, alone: bool = True
) -> None:
    """No session cookie on ``client``, the desk sends it to sign in, and (``alone``) no stored session."""
    if alone:
        async with sessionmaker() as db:
            stored = list(await db.scalars(select(StoredSession)))
            await db.commit()
        assert stored == [], f"a failed sign-in left a session behind: {[s.value for s in stored]}"
    assert client.cookies.get("balie_session") in (None, "null")
    desk = await client.get("/balie/")
    assert desk.status_code == 303 and desk.headers["location"] == "/balie/inloggen"


async def official_refused(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    reason: str,
    response: httpx.Response,
    *,
    alone: bool = True,
) -> None:
    assert response.status_code in (400, 403, 503), response.text[:300]
    assert "Inloggen" in response.text or "toegang" in response.text
    await assert_no_session(client, sessionmaker, alone=alone)
    events = await failures(sessionmaker, "session.sign_in")
    assert events and events[-1].details["reason"] == reason, [e.details for e in events]
    assert events[-1].origin == "127.0.0.1"


async def begin(client: httpx.AsyncClient, provider: TestProvider) -> dict[str, str]:
    started = await start_official_sign_in(client)
    assert started.status_code == 303, started.text[:300]
    return provider.remember(started.headers["location"])


def answering(provider: TestProvider, make_token: Any) -> None:
    provider.answer = lambda form, authorization: {
        "access_token": "at",
        "token_type": "Bearer",
        "id_token": make_token(authorization),
    }


def valid(provider: TestProvider, **overrides: Any) -> Any:
    return lambda a: provider.sign(provider.claims(a, CLIENT_ID, groups=GROUPS, **overrides))


async def test_missing_state(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        await begin(client, provider)
        response = await client.get("/balie/inloggen/terug", params={"code": "abc"})
        await official_refused(client, sessionmaker, "missing_state", response)
        assert provider.token_requests == []


async def test_wrong_state(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        answering(provider, valid(provider))
        response = await client.get(
            "/balie/inloggen/terug", params={"code": authorization["state"], "state": "not-the-state"}
        )
        await official_refused(client, sessionmaker, "wrong_state", response)
        # The real state was used up by the failed attempt: it does not work afterwards either.
        again = await client.get(
            "/balie/inloggen/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        await official_refused(client, sessionmaker, "wrong_state", again)
        assert provider.token_requests == []


async def test_replayed_nonce(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    """An ID token from an earlier, genuine sign-in, replayed into a new one."""
    async with served_balie(against(settings, provider)) as (_, first):
        earlier = await begin(first, provider)
        old_token = provider.sign(provider.claims(earlier, CLIENT_ID, groups=GROUPS))
        answering(provider, lambda a: old_token)
        ok = await first.get(
            "/balie/inloggen/terug", params={"code": earlier["state"], "state": earlier["state"]}
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/balie"
        async with httpx.AsyncClient(base_url=str(first.base_url)) as second:
            authorization = await begin(second, provider)
            response = await second.get(
                "/balie/inloggen/terug",
                params={"code": authorization["state"], "state": authorization["state"]},
            )
            await official_refused(second, sessionmaker, "wrong_nonce", response, alone=False)


@pytest.mark.parametrize(
    ("reason", "forge"),
    [
        (
            "wrong_iss",
            lambda p, a: p.sign(p.claims(a, CLIENT_ID, groups=GROUPS, iss="http://127.0.0.1:1/other")),
        ),
        ("wrong_aud", lambda p, a: p.sign(p.claims(a, "another-client", groups=GROUPS))),
        (
            "wrong_azp",
            lambda p, a: p.sign(p.claims(a, CLIENT_ID, groups=GROUPS, aud=[CLIENT_ID, "x"], azp="x")),
        ),
        (
            "expired",
            lambda p, a: p.sign(
                p.claims(a, CLIENT_ID, groups=GROUPS, iat=int(time.time()) - 400, exp=int(time.time()) - 200)
            ),
        ),
        (
            "iat_in_future",
            lambda p, a: p.sign(p.claims(a, CLIENT_ID, groups=GROUPS, iat=int(time.time()) + 3600)),
        ),
        ("alg_not_allowed", lambda p, a: unsigned(p.claims(a, CLIENT_ID, groups=GROUPS))),
        (
            "alg_not_allowed",  # HS256 "signed" with the provider's public key as the HMAC secret
            lambda p, a: hs256_with(
                p.signing_key.as_pem(private=False),
                p.claims(a, CLIENT_ID, groups=GROUPS),
                str(p.signing_key.kid),
            ),
        ),
        ("bad_signature", lambda p, a: p.sign(p.claims(a, CLIENT_ID, groups=GROUPS))[:-6] + "AAAAAA"),
        ("wrong_nonce", lambda p, a: p.sign(p.claims(a, CLIENT_ID, groups=GROUPS, nonce="other"))),
        ("no_id_token", lambda p, a: None),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_forged_id_tokens(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any, reason: str, forge: Any
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        answering(provider, lambda a: forge(provider, a))
        response = await client.get(
            "/balie/inloggen/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        await official_refused(client, sessionmaker, reason, response)


async def test_unknown_kid_fetches_the_keys_again_once_in_a_while_then_refuses(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    from joserfc.jwk import RSAKey

    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"}, private=True)
    async with served_balie(against(settings, provider)) as (_, client):
        async with httpx.AsyncClient(base_url=str(client.base_url)) as earlier:  # the keys get cached
            authorization = await begin(earlier, provider)
            answering(provider, valid(provider))
            params = {"code": authorization["state"], "state": authorization["state"]}
            assert (await earlier.get("/balie/inloggen/terug", params=params)).status_code == 303
        assert provider.jwks_fetches == 1
        for attempt in range(2):
            authorization = await begin(client, provider)
            answering(
                provider, lambda a: provider.sign(provider.claims(a, CLIENT_ID, groups=GROUPS), key=stranger)
            )
            response = await client.get(
                "/balie/inloggen/terug",
                params={"code": authorization["state"], "state": authorization["state"]},
            )
            await official_refused(client, sessionmaker, "unknown_key", response, alone=False)
            assert provider.jwks_fetches == 2, f"attempt {attempt}: fetched {provider.jwks_fetches} times"


async def test_wrong_iss_in_the_authorization_response(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    provider.iss_parameter = True
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        answering(provider, valid(provider))
        params = {
            "code": authorization["state"],
            "state": authorization["state"],
            "iss": "http://127.0.0.1:2",
        }
        await official_refused(
            client,
            sessionmaker,
            "wrong_iss_parameter",
            await client.get("/balie/inloggen/terug", params=params),
        )
        authorization = await begin(client, provider)
        params = {"code": authorization["state"], "state": authorization["state"]}  # and none at all
        await official_refused(
            client,
            sessionmaker,
            "missing_iss_parameter",
            await client.get("/balie/inloggen/terug", params=params),
        )
        assert provider.token_requests == []


async def test_provider_error_and_unreachable_token_endpoint(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        params = {"error": "access_denied", "state": authorization["state"]}
        await official_refused(
            client, sessionmaker, "provider_error", await client.get("/balie/inloggen/terug", params=params)
        )
        events = await failures(sessionmaker, "session.sign_in")
        assert events[-1].details == {"reason": "provider_error", "provider_error": "access_denied"}
        params = {"error": "<script>x</script>", "state": (await begin(client, provider))["state"]}
        await client.get("/balie/inloggen/terug", params=params)
        events = await failures(sessionmaker, "session.sign_in")
        assert events[-1].details == {"reason": "provider_error", "provider_error": "other"}

        def refuse(form: dict[str, str], authorization: dict[str, str]) -> dict[str, Any]:
            raise RuntimeError("boom")  # the provider answers 500 with no JSON

        provider.answer = refuse
        authorization = await begin(client, provider)
        params = {"code": "x", "state": authorization["state"]}
        await official_refused(
            client,
            sessionmaker,
            "token_endpoint_failed",
            await client.get("/balie/inloggen/terug", params=params),
        )


async def test_starting_a_sign_in_counts_against_the_rate_limit(settings: Settings, service: Any) -> None:
    """The start is a link (GET), so the limit on form posts must cover it too."""
    async with served_balie(dataclasses.replace(settings, rate_limit_per_minute=3)) as (_, client):
        answers = [await client.get("/balie/inloggen/start") for _ in range(4)]
        assert [a.status_code for a in answers] == [303, 303, 303, 429]
        # How long to wait, and the same security headers as every other answer.
        limited = answers[-1]
        assert 0 < int(limited.headers["retry-after"]) <= 60
        assert "frame-ancestors 'none'" in limited.headers["content-security-policy"]
        assert "Even wachten" in limited.text
        assert (await client.get("/balie/inloggen")).status_code == 200  # the page itself is not limited


async def test_user_without_groups_gets_no_access(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        answering(
            provider, lambda a: provider.sign(provider.claims(a, CLIENT_ID, groups=["other-app:users"]))
        )
        response = await client.get(
            "/balie/inloggen/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        assert response.status_code == 403 and "Geen toegang" in response.text
        await official_refused(client, sessionmaker, "no_access", response)


# -- against the development provider: the rules it enforces on codes and redirect addresses --------


async def dev_code(client: httpx.AsyncClient, subject: str = "official-testgemeente") -> dict[str, str]:
    """Start a sign-in and pick ``subject`` at the provider: the callback's query (code, state, iss)."""
    return query_of(
        await through_dev_provider(client, await start_official_sign_in(client), {"sub": subject})
    )


async def fresh_state(client: httpx.AsyncClient) -> str:
    return query_of((await start_official_sign_in(client)).headers["location"])["state"]


async def test_reused_authorization_code(settings: Settings, sessionmaker: Any, service: Any) -> None:
    async with served_balie(settings) as (_, client):
        answer = await dev_code(client)
        ok = await client.get("/balie/inloggen/terug", params=answer)
        assert ok.status_code == 303 and ok.headers["location"] == "/balie", ok.text[:300]
        async with httpx.AsyncClient(base_url=str(client.base_url)) as attacker:
            replay = {**answer, "state": await fresh_state(attacker)}
            response = await attacker.get("/balie/inloggen/terug", params=replay)
            await official_refused(attacker, sessionmaker, "token_refused", response, alone=False)


async def test_wrong_pkce_verifier(settings: Settings, sessionmaker: Any, service: Any) -> None:
    """A code stolen from one browser and pushed into another's sign-in: the verifier does not match."""
    async with served_balie(settings) as (_, client):
        victim = await dev_code(client)  # never delivered to the app by the victim
        async with httpx.AsyncClient(base_url=str(client.base_url)) as attacker:
            injected = {**victim, "state": await fresh_state(attacker)}
            response = await attacker.get("/balie/inloggen/terug", params=injected)
            await official_refused(attacker, sessionmaker, "token_refused", response, alone=False)
        events = await failures(sessionmaker, "session.sign_in")
        assert events[-1].details["reason"] == "token_refused"


@pytest.mark.parametrize(
    "variant",
    [
        "{base}/balie/inloggen/terug/",
        "{base}/balie/inloggen/terug?next=/elders",
        "{base}/balie/inloggen/terug/../../dev/mailbox",
        "{base}/BALIE/inloggen/terug",
        "http://127.0.0.1:1/balie/inloggen/terug",
        "https://evil.example/balie/inloggen/terug",
        "{base}.evil.example/balie/inloggen/terug",
    ],
)
async def test_redirect_uri_variants(
    settings: Settings, sessionmaker: Any, service: Any, variant: str
) -> None:
    """The provider sends codes only to the registered address; a code for any other is worthless."""
    async with served_balie(settings) as (_, client):
        started = await start_official_sign_in(client)
        authorize = started.headers["location"]
        query = query_of(authorize)
        query["redirect_uri"] = variant.format(base=str(client.base_url).rstrip("/"))
        page = await client.get(authorize.split("?")[0], params=query)
        assert page.status_code == 400 and "location" not in page.headers
        assert "Ongeldig inlogverzoek" in page.text
        token = CSRF_FIELD.search(page.text)
        chosen = await client.post(
            authorize.split("?")[0],
            params=query,
            data={"_csrf_token": token.group(1) if token else "", "sub": "official-testgemeente"},
        )
        assert chosen.status_code in (400, 403) and "location" not in chosen.headers
        # Whatever code an attacker got elsewhere, the app's pending sign-in cannot be finished with it.
        forged = {
            "code": "code-for-another-address",
            "state": query["state"],
            "iss": str(client.base_url).rstrip("/") + "/dev/idp",
        }
        response = await client.get("/balie/inloggen/terug", params=forged)
        await official_refused(client, sessionmaker, "token_refused", response)


# -- citizens: DigiD level and BSN -----------------------------------------------------------------


async def participant_row(sessionmaker: async_sessionmaker[AsyncSession], participant_id: Any) -> Participant:
    async with sessionmaker() as db:
        row = await db.get(Participant, participant_id)
        await db.commit()
    assert row is not None
    return row


async def test_level_below_the_service_requirement(
    settings: Settings, session: AsyncSession, sessionmaker: Any, service: Any
) -> None:
    _, participant, token = await appointment_with_link(session, service, required_loa="midden")
    async with served_balie(settings) as (_, client):
        started = await start_digid(client, token)
        assert query_of(started.headers["location"])["acr_values"] == (
            "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
        )
        callback = await through_dev_provider(client, started, {"bsn": "999993653", "level": "basis"})
        response = await client.get(callback)
        assert response.status_code == 403
        assert "DigiD Basis" in response.text and "DigiD Midden" in response.text
        assert f'href="/j/{token}/digid?next=room"' in response.text  # sign in again, at the right level
        row = await participant_row(sessionmaker, participant.id)
        assert (row.identity_level, row.bsn_sealed) == (None, None)
        events = await failures(sessionmaker, "identity.verify")
        assert events[-1].details == {"reason": "level_too_low", "level": "basis", "required": "midden"}
        assert events[-1].result == "refused" and events[-1].object_id == str(participant.id)
        await assert_no_session(client, sessionmaker)
        # The waiting room stays closed until the level is right.
        room = await client.get(f"/j/{token}/wachtkamer")
        assert room.status_code == 303 and room.headers["location"] == f"/j/{token}"


async def test_bsn_failing_the_elfproef(
    settings: Settings, session: AsyncSession, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    _, participant, token = await appointment_with_link(session, service, required_loa="midden")
    answering(
        provider,
        lambda a: provider.sign(provider.claims(a, CLIENT_ID, bsn="123456789", acr="midden")),
    )
    async with served_balie(against(settings, provider)) as (_, client):
        started = await start_digid(client, token)
        authorization = provider.remember(started.headers["location"])
        response = await client.get(
            "/digid/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        assert response.status_code == 400 and "burgerservicenummer" in response.text
        row = await participant_row(sessionmaker, participant.id)
        assert (row.identity_level, row.bsn_sealed) == (None, None)
        events = await failures(sessionmaker, "identity.verify")
        assert events[-1].details == {"reason": "invalid_bsn"} and "123456789" not in str(events[-1].details)
        await assert_no_session(client, sessionmaker)


async def test_citizen_token_checks_apply_too(
    settings: Settings, session: AsyncSession, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    _, participant, token = await appointment_with_link(session, service, required_loa="midden")
    answering(
        provider, lambda a: provider.sign(provider.claims(a, "someone-else", bsn="999993653", acr="midden"))
    )
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = provider.remember((await start_digid(client, token)).headers["location"])
        response = await client.get(
            "/digid/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        assert response.status_code == 400
        assert f'href="/j/{token}/digid"' in response.text
        events = await failures(sessionmaker, "identity.verify")
        assert events[-1].details == {"reason": "wrong_aud"} and events[-1].object_id == str(participant.id)
        row = await participant_row(sessionmaker, participant.id)
        assert row.identity_level is None
        await assert_no_session(client, sessionmaker)


async def test_an_error_response_from_a_mixed_up_provider_is_not_believed(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    """RFC 9207 on error responses too: the wrong ``iss`` is the reason, not the error it claims."""
    provider.iss_parameter = True
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        params = {"error": "access_denied", "state": authorization["state"], "iss": "http://127.0.0.1:2"}
        response = await client.get("/balie/inloggen/terug", params=params)
        await official_refused(client, sessionmaker, "wrong_iss_parameter", response)


async def test_a_token_not_valid_yet_is_refused(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        answering(provider, valid(provider, nbf=int(time.time()) + 600))
        params = {"code": authorization["state"], "state": authorization["state"]}
        response = await client.get("/balie/inloggen/terug", params=params)
        await official_refused(client, sessionmaker, "not_yet_valid", response)
        authorization = await begin(client, provider)
        answering(provider, valid(provider, nbf=int(time.time()) + 30))  # within the clock skew
        params = {"code": authorization["state"], "state": authorization["state"]}
        done = await client.get("/balie/inloggen/terug", params=params)
        assert done.status_code == 303 and done.headers["location"] == "/balie"


@pytest.mark.parametrize(("auth_time", "reason"), [(-3600, "stale_auth_time"), (None, "missing_auth_time")])
async def test_digid_must_be_a_new_login_not_an_earlier_session_at_the_provider(
    settings: Settings,
    session: AsyncSession,
    sessionmaker: Any,
    provider: TestProvider,
    service: Any,
    auth_time: int | None,
    reason: str,
) -> None:
    _, participant, token = await appointment_with_link(session, service, required_loa="midden")

    def token_for(a: dict[str, str]) -> str:
        claims = provider.claims(a, CLIENT_ID, bsn="999993653", acr="midden")
        if auth_time is None:
            del claims["auth_time"]
        else:
            claims["auth_time"] = int(time.time()) + auth_time
        return provider.sign(claims)

    answering(provider, token_for)
    async with served_balie(against(settings, provider)) as (_, client):
        started = await start_digid(client, token)
        authorization = provider.remember(started.headers["location"])
        assert (authorization["prompt"], authorization["max_age"]) == ("login", "600")
        response = await client.get(
            "/digid/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        assert response.status_code == 400
        events = await failures(sessionmaker, "identity.verify")
        assert events[-1].details == {"reason": reason} and events[-1].object_id == str(participant.id)
        row = await participant_row(sessionmaker, participant.id)
        assert row.identity_level is None


def logout_token(provider: TestProvider, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "aud": CLIENT_ID,
        "iat": int(time.time()),
        "jti": f"jti-{time.monotonic_ns()}",
        "sub": "user-1",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = provider.signing_key
    assert key is not None
    return jwt.encode({"alg": "RS256", "kid": str(key.kid), "typ": "logout+jwt"}, claims, key)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"nonce": "n"}, "nonce_in_logout_token"),  # an ID token never passes for a logout token
        ({"events": None}, "no_logout_event"),
        ({"aud": "someone-else"}, "wrong_aud"),
        ({"iat": int(time.time()) - 3600}, "stale"),
        ({"sub": None}, "missing_sub_and_sid"),
        ({"jti": None}, "missing_jti"),
    ],
)
async def test_a_bad_logout_token_is_refused_and_signs_nobody_out(
    settings: Settings,
    sessionmaker: Any,
    provider: TestProvider,
    service: Any,
    overrides: dict[str, Any],
    reason: str,
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        answering(provider, valid(provider))
        params = {"code": authorization["state"], "state": authorization["state"]}
        assert (await client.get("/balie/inloggen/terug", params=params)).status_code == 303
        async with httpx.AsyncClient(base_url=str(client.base_url)) as the_provider:
            refused = await the_provider.post(
                "/balie/uitloggen/backchannel", data={"logout_token": logout_token(provider, **overrides)}
            )
        assert refused.status_code == 400
        assert refused.json() == {"error": "invalid_request", "error_description": reason}
        assert (await client.get("/balie")).status_code == 200  # still signed in


async def test_a_logout_token_naming_only_the_session_and_a_replay(
    settings: Settings, sessionmaker: Any, provider: TestProvider, service: Any
) -> None:
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = await begin(client, provider)
        answering(provider, valid(provider, sid="provider-session-1"))
        params = {"code": authorization["state"], "state": authorization["state"]}
        assert (await client.get("/balie/inloggen/terug", params=params)).status_code == 303
        token = logout_token(provider, sub=None, sid="provider-session-1")
        async with httpx.AsyncClient(base_url=str(client.base_url)) as the_provider:
            done = await the_provider.post("/balie/uitloggen/backchannel", data={"logout_token": token})
            assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
            again = await the_provider.post("/balie/uitloggen/backchannel", data={"logout_token": token})
            assert again.status_code == 400 and again.json()["error_description"] == "replayed"
        signed_out = await client.get("/balie")
        assert signed_out.status_code in (302, 303) and signed_out.headers["location"] == "/balie/inloggen"
        async with sessionmaker() as db:
            (event,) = await db.scalars(select(AuditEvent).where(AuditEvent.actor == "provider"))
            await db.commit()
        assert event.details == {"by": "sid", "issuer": provider.issuer}
        # A new sign-in afterwards counts again.
        authorization = await begin(client, provider)
        answering(provider, valid(provider))
        params = {"code": authorization["state"], "state": authorization["state"]}
        assert (await client.get("/balie/inloggen/terug", params=params)).status_code == 303
        assert (await client.get("/balie")).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "details", "page"),
    [
        ({"act": {"sub": "999991772"}}, {"reason": "representation", "claim": "act"}, "voor iemand anders"),
        ({"represents": "999991772"}, {"reason": "representation", "claim": "represents"}, "machtiging"),
        (
            {"acr": "urn:example:loa:9"},
            {"reason": "unknown_level", "claim": "acr", "value": "urn:example:loa:9"},
            "niveau niet",
        ),
        ({"acr": None}, {"reason": "missing_level", "claim": "acr"}, "niet door met welk niveau"),
        ({"bsn": None}, {"reason": "missing_bsn", "claim": "bsn"}, "burgerservicenummer niet door"),
        ({"bsn": "s00000000:999993653"}, None, None),  # a sector-prefixed BSN is the citizen's own
    ],
)
async def test_what_a_broker_sends_besides_a_plain_identity(
    settings: Settings,
    session: AsyncSession,
    sessionmaker: Any,
    provider: TestProvider,
    service: Any,
    overrides: dict[str, Any],
    details: dict[str, str] | None,
    page: str | None,
) -> None:
    """A representation claim is never taken as the citizen's own identity; an unknown or missing
    level or BSN is named for what it is, never "invalid BSN" or "DigiD geen"."""
    _, participant, token = await appointment_with_link(session, service, required_loa="midden")

    def token_for(a: dict[str, str]) -> str:
        claims = provider.claims(a, CLIENT_ID, bsn="999993653", acr="midden")
        claims.update(overrides)
        return provider.sign({k: v for k, v in claims.items() if v is not None})

    answering(provider, token_for)
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = provider.remember((await start_digid(client, token)).headers["location"])
        response = await client.get(
            "/digid/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        row = await participant_row(sessionmaker, participant.id)
        if details is None:
            assert response.status_code == 303 and row.identity_level == "midden"
            return
        assert response.status_code == 400 and page is not None and page in response.text
        assert "geen." not in response.text
        events = await failures(sessionmaker, "identity.verify")
        assert events[-1].details == details
        assert row.identity_level is None and row.bsn_sealed is None


@pytest.mark.parametrize(
    ("act", "accepted"),
    [
        ({"sub": "999991772"}, True),
        ({"bsn": "999991772", "sub": "pseudonym"}, True),
        ({"iss": "https://machtigen.example"}, False),  # it names nobody: refused as before
    ],
)
async def test_a_service_that_allows_representation_records_both_identities(
    settings: Settings,
    session: AsyncSession,
    sessionmaker: Any,
    provider: TestProvider,
    service: Any,
    act: dict[str, str],
    accepted: bool,
) -> None:
    """DigiD Machtigen: the token's BSN is the citizen's, ``act`` (RFC 8693) names who acts for
    them. Where the service allows it, both are recorded and the official's badge says so."""
    service.allows_representation = True
    _, participant, token = await appointment_with_link(session, service, required_loa="midden")

    def token_for(a: dict[str, str]) -> str:
        claims = provider.claims(a, CLIENT_ID, bsn="999993653", acr="midden")
        return provider.sign({**claims, "act": act})

    answering(provider, token_for)
    async with served_balie(against(settings, provider)) as (_, client):
        authorization = provider.remember((await start_digid(client, token)).headers["location"])
        response = await client.get(
            "/digid/terug", params={"code": authorization["state"], "state": authorization["state"]}
        )
        row = await participant_row(sessionmaker, participant.id)
        if not accepted:
            assert response.status_code == 400 and row.bsn_sealed is None
            return
        assert response.status_code == 303 and row.identity_level == "midden"
        keyring = identity_keyring(settings)
        shown = badge(keyring, row)
        assert shown is not None and shown["bsn_masked"] == "*****3653"
        assert shown["representative_masked"] == "*****1772"
        assert b"999991772" not in (row.representative_sealed or b"")
        (verified,) = await events_of(sessionmaker, "identity.verify")
        assert verified.details["represented"] is True and "999991772" not in repr(verified.details)


async def events_of(sessionmaker: async_sessionmaker[AsyncSession], action: str) -> list[AuditEvent]:
    async with sessionmaker() as db:
        found = list(await db.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        await db.commit()
    return found
