"""Signing in and identifying, the way it should go: officials through an OpenID provider (the
development one, and one the project did not write), citizens through DigiD, sessions that rotate and
expire, the identity badge for the official, DigiD asked for in the call, and the audit log page."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import httpx
import pytest
import websockets
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.cli import refusals
from backend.db.models import AppointmentStatus, AuditEvent, Membership, Official, Participant, StoredSession
from backend.identity import binding
from backend.settings import IdentitySettings, OidcClientSettings, Secret, Settings
from tests.live import (
    CSRF_FIELD,
    follow_link,
    identify_citizen,
    post_form,
    sign_in_official,
    through_dev_provider,
)
from tests.oidc import TestProvider, appointment_with_link, served_balie, start_official_sign_in
from tests.support import seed_agenda

GROUPS = ["balie:0599:burgerzaken:admin", "other-app:users"]


@pytest.fixture
async def service(session: AsyncSession) -> Any:
    return await seed_agenda(session)


async def rows(sessionmaker: async_sessionmaker[AsyncSession], statement: Any) -> list[Any]:
    async with sessionmaker() as db:
        found = list(await db.scalars(statement))
        await db.commit()
    return found


def set_cookie(response: httpx.Response) -> str:
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "balie_session" in v)


async def test_official_sign_in_rotates_the_session_and_sign_out_ends_it(
    settings: Settings, sessionmaker: Any, service: Any
) -> None:
    async with served_balie(settings) as (_, client):
        started = await start_official_sign_in(client)
        before = client.cookies["balie_session"]  # the sign-in under way has a session of its own
        page = await client.get(started.headers["location"])
        token = CSRF_FIELD.search(page.text)
        assert token and "Medewerker Testgemeente" in page.text
        back = await client.post(
            started.headers["location"], data={"_csrf_token": token.group(1), "sub": "official-testgemeente"}
        )
        done = await client.get(back.headers["location"])
        assert done.status_code == 303 and done.headers["location"] == "/balie"
        cookie = set_cookie(done)
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
        assert "Max-Age" not in cookie  # gone when the browser closes; the server keeps the timeouts
        after = client.cookies["balie_session"]
        assert after != before
        async with httpx.AsyncClient(
            base_url=str(client.base_url), cookies={"balie_session": before}
        ) as planted:
            assert (await planted.get("/balie/")).status_code == 303  # the pre-sign-in id is worth nothing
        assert (await client.get("/balie/")).status_code == 200

        signed_in = await rows(sessionmaker, select(AuditEvent).where(AuditEvent.action == "session.sign_in"))
        assert [(e.result, e.municipality_id) for e in signed_in] == [
            ("success", service.team.municipality_id)
        ]

        out = await post_form(client, "/balie/", "/balie/uitloggen")
        assert out.status_code == 303 and out.headers["location"] == "/balie/inloggen?uitgelogd=1"
        async with httpx.AsyncClient(
            base_url=str(client.base_url), cookies={"balie_session": after}
        ) as replay:
            assert (await replay.get("/balie/")).status_code == 303
        assert await rows(sessionmaker, select(StoredSession)) == []
        assert await rows(
            sessionmaker, select(AuditEvent.action).where(AuditEvent.action == "session.sign_out")
        )


@pytest.mark.parametrize("expired", ["_seen", "_born"])
async def test_idle_and_absolute_timeouts(
    settings: Settings, sessionmaker: Any, service: Any, expired: str
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        assert (await client.get("/balie/")).status_code == 200
        (stored,) = await rows(sessionmaker, select(StoredSession))
        data = json.loads(stored.value)
        limit = (
            settings.sessions.idle_minutes * 60
            if expired == "_seen"
            else settings.sessions.absolute_hours * 3600
        )
        data[expired] = int(time.time()) - limit - 1
        async with sessionmaker() as db:
            await db.execute(update(StoredSession).values(value=json.dumps(data).encode()))
            await db.commit()
        desk = await client.get("/balie/")
        assert desk.status_code == 303 and desk.headers["location"] == "/balie/inloggen"
        assert await rows(sessionmaker, select(StoredSession)) == []


async def test_an_outside_provider_with_key_rotation_and_group_roles(
    settings: Settings, sessionmaker: Any, service: Any
) -> None:
    async with TestProvider(iss_parameter=True).running() as provider:
        registration = OidcClientSettings(
            issuer=provider.issuer, client_id="balie", client_secret=Secret("s")
        )
        identity = dataclasses.replace(IdentitySettings(), official=registration, citizen=registration)
        provider.answer = lambda form, a: {
            "access_token": "at",
            "token_type": "Bearer",
            "id_token": provider.sign(
                provider.claims(
                    a, "balie", sub="e.jansen", given_name="Eva", family_name="Jansen", groups=GROUPS
                )
            ),
        }
        async with served_balie(dataclasses.replace(settings, identity=identity)) as (_, client):
            for rotate in (False, True):
                if rotate:
                    provider.new_key()  # the provider rolls its signing key between two sign-ins
                client.cookies.clear()
                authorization = provider.remember((await start_official_sign_in(client)).headers["location"])
                assert (
                    authorization["code_challenge_method"] == "S256"
                    and len(authorization["code_challenge"]) == 43
                )
                params = {"code": "c", "state": authorization["state"], "iss": provider.issuer}
                done = await client.get("/balie/inloggen/terug", params=params)
                assert done.status_code == 303 and done.headers["location"] == "/balie", done.text[:300]
            assert provider.jwks_fetches == 2
            assert provider.token_requests[-1]["code_verifier"]
            (official,) = await rows(sessionmaker, select(Official).where(Official.issuer == provider.issuer))
            assert (official.subject, official.name) == ("e.jansen", "Eva Jansen")
            roles = await rows(
                sessionmaker, select(Membership.role).where(Membership.official_id == official.id)
            )
            assert roles == ["admin"]
            assert (await client.get("/balie/logboek")).status_code == 200


async def test_citizen_identifies_with_digid_and_the_official_sees_it_masked(
    settings: Settings, session: AsyncSession, sessionmaker: Any, service: Any
) -> None:
    appointment, participant, token = await appointment_with_link(session, service, required_loa="midden")
    async with served_balie(settings) as (_, client):
        landing = await client.get(f"/j/{token}")
        assert "data-digid-needed" in landing.text and 'data-action="start"' not in landing.text
        assert (await client.get(f"/j/{token}/wachtkamer")).headers["location"] == f"/j/{token}"
        done = await identify_citizen(client, token, bsn="999993653", level="substantieel")
        assert done.status_code == 303 and done.headers["location"] == f"/j/{token}"
        landing = await client.get(f"/j/{token}")
        assert "DigiD Substantieel" in landing.text and 'data-action="start"' in landing.text
        assert (await client.get(f"/j/{token}/wachtkamer")).status_code == 200

        (row,) = await rows(sessionmaker, select(Participant).where(Participant.id == participant.id))
        assert row.identity_level == "substantieel" and row.identity_verified_at is not None
        assert (
            row.bsn_sealed is not None
            and b"999993653" not in row.bsn_sealed
            and b"3653" not in row.bsn_sealed
        )
        assert binding.bsn_of(binding.identity_keyring(settings), row) == "999993653"
        events = await rows(sessionmaker, select(AuditEvent).where(AuditEvent.action == "identity.verify"))
        assert [(e.result, e.details["level"]) for e in events] == [("success", "substantieel")]
        everything = await rows(sessionmaker, select(AuditEvent))
        assert not any("999993653" in json.dumps(e.details) + e.object_id for e in everything)

        async with httpx.AsyncClient(base_url=str(client.base_url)) as desk:
            await sign_in_official(desk, "official-testgemeente")
            call = await desk.get(f"/balie/afspraken/{appointment.id}/gesprek")
            assert "*****3653" in call.text and "DigiD Substantieel" in call.text
            assert "999993653" not in call.text


async def test_a_different_bsn_than_the_booking_is_refused(
    settings: Settings, session: AsyncSession, sessionmaker: Any, service: Any
) -> None:
    appointment, participant, token = await appointment_with_link(session, service, required_loa="midden")
    binding.seal_for_appointment(binding.identity_keyring(settings), appointment, "999990019")
    await session.commit()
    async with served_balie(settings) as (_, client):
        refused = await identify_citizen(client, token, bsn="999993653")
        assert refused.status_code == 403 and "niet de persoon van de afspraak" in refused.text
        (row,) = await rows(sessionmaker, select(Participant).where(Participant.id == participant.id))
        assert row.identity_level is None and row.bsn_sealed is None
        events = await rows(sessionmaker, select(AuditEvent).where(AuditEvent.action == "identity.verify"))
        assert [(e.result, e.details["reason"]) for e in events] == [("refused", "bsn_mismatch")]
        accepted = await identify_citizen(client, token, bsn="999990019")
        assert accepted.status_code == 303


async def next_message(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] == kind:
            return dict(message)


async def test_the_official_asks_for_digid_during_the_call(
    settings: Settings, session: AsyncSession, sessionmaker: Any, service: Any
) -> None:
    appointment, participant, token = await appointment_with_link(session, service, required_loa="none")
    participant.state, appointment.status = "in_call", AppointmentStatus.IN_CALL
    await session.commit()
    async with served_balie(settings) as (_, citizen_http):
        ws_base = str(citizen_http.base_url).replace("http://", "ws://").rstrip("/")
        async with httpx.AsyncClient(base_url=str(citizen_http.base_url)) as desk:
            await sign_in_official(desk, "official-testgemeente")
            cookie = f"balie_session={desk.cookies['balie_session']}"
            async with (
                websockets.connect(
                    f"{ws_base}/ws/call/{appointment.id}", additional_headers={"cookie": cookie}
                ) as call,
                websockets.connect(f"{ws_base}/ws/citizen") as citizen,
            ):
                await call.send(json.dumps({"type": "hello", "session": "call-1"}))
                await next_message(call, "welcome")
                await citizen.send(json.dumps({"type": "hello", "session": "page-1", "token": token}))
                await next_message(citizen, "welcome")

                page = await desk.get(f"/balie/afspraken/{appointment.id}/gesprek")
                assert "Vraag om DigiD" in page.text and "Niet geïdentificeerd" in page.text
                csrf = CSRF_FIELD.search(page.text)
                assert csrf
                asked = await desk.post(
                    f"/balie/afspraken/{appointment.id}/deelnemers/{participant.id}/digid",
                    data={"_csrf_token": csrf.group(1)},
                    headers={"accept": "application/json"},
                )
                assert asked.status_code == 204
                assert await next_message(citizen, "identify") == {"type": "identify", "level": "basis"}

                room = await citizen_http.get(f"/j/{token}/wachtkamer")
                assert "data-identify-request" in room.text and 'identify-heading" hidden>' not in room.text
                async with websockets.connect(f"{ws_base}/ws/citizen") as again:  # a reload asks again
                    await again.send(json.dumps({"type": "hello", "session": "page-2", "token": token}))
                    await next_message(again, "welcome")
                    assert (await next_message(again, "identify"))["level"] == "basis"

                started = await follow_link(citizen_http, f"/j/{token}/wachtkamer", "identify")

                callback = await through_dev_provider(
                    citizen_http, started, {"bsn": "999991772", "level": "basis"}
                )
                back = await citizen_http.get(callback)
                assert back.status_code == 303 and back.headers["location"] == f"/j/{token}/wachtkamer"
                told = await next_message(call, "identity")
                assert told == {"type": "identity", "peer_id": str(participant.id), "level": "basis"}
                panel = await desk.get(f"/balie/afspraken/{appointment.id}/identiteit")
                assert "*****1772" in panel.text and "DigiD Basis" in panel.text
    (row,) = await rows(sessionmaker, select(Participant).where(Participant.id == participant.id))
    assert row.identity_requested_at is None and row.identity_level == "basis"
    actions = await rows(sessionmaker, select(AuditEvent.action).order_by(AuditEvent.created_at))
    assert "identity.request" in actions and "identity.verify" in actions


async def test_the_audit_log_is_for_team_admins_and_their_municipality(
    settings: Settings, session: AsyncSession, sessionmaker: Any, service: Any
) -> None:
    elsewhere = await seed_agenda(session, cbs_code="0363", slug="elders")
    for i in range(60):
        session.add(AuditEvent(actor="system", action="test.event", object_type="x", object_id=str(i),
                               municipality_id=service.team.municipality_id))  # fmt: skip
    session.add(AuditEvent(actor="system", action="test.secret", object_type="x", object_id="other",
                           municipality_id=elsewhere.team.municipality_id))  # fmt: skip
    await session.commit()
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        refused = await client.get("/balie/logboek")
        assert refused.status_code == 403
        denied = await rows(sessionmaker, select(AuditEvent).where(AuditEvent.action == "access.denied"))
        assert [d.object_type for d in denied] == ["audit_log"]

        async with sessionmaker() as db:
            await db.execute(update(Membership).values(role="admin"))
            await db.commit()
        client.cookies.clear()
        await sign_in_official(client, "official-testgemeente")
        first = await client.get("/balie/logboek")
        assert first.status_code == 200 and 'rel="next"' in first.text
        assert first.headers["content-type"].startswith("text/html")  # a page, not JSON source
        second = await client.get("/balie/logboek", params={"pagina": 2})
        assert second.status_code == 200 and 'rel="prev"' in second.text
        shown = first.text + second.text
        assert shown.count('data-action="test.event"') == 60
        assert "test.secret" not in shown
        assert "session.sign_in" in shown and "Medewerker Testgemeente" in shown


async def test_the_audit_trail_refuses_changes(session: AsyncSession) -> None:
    event = AuditEvent(actor="system", action="test.event", object_type="x", object_id="1")
    session.add(event)
    await session.commit()
    event_id = event.id
    for statement in (
        text("UPDATE audit_event SET result = 'changed'"),
        text("DELETE FROM audit_event"),
    ):
        with pytest.raises((DBAPIError, IntegrityError)):
            await session.execute(statement)
        await session.rollback()
    assert await session.scalar(select(AuditEvent.result).where(AuditEvent.id == event_id)) == "success"
    await session.commit()


async def test_no_development_provider_in_production(settings: Settings, service: Any) -> None:
    production = dataclasses.replace(settings, env="production")
    async with AsyncTestClient(app=create_app(production), base_url="https://balie.example") as client:
        response = await client.get("/dev/idp/.well-known/openid-configuration")
        assert response.status_code == 404
    assert any("BALIE_DEV_IDP" in problem for problem in refusals(production))
    assert any("BALIE_DEV_PSP" in problem for problem in refusals(production))
    configured = dataclasses.replace(
        production,
        payments=dataclasses.replace(production.payments, dev_psp=False),
        identity=dataclasses.replace(
            production.identity,
            dev_provider=False,
            citizen=OidcClientSettings(
                issuer="https://broker.example", client_id="c", client_secret=Secret("s")
            ),
            official=OidcClientSettings(
                issuer="https://sso.example", client_id="o", client_secret=Secret("s")
            ),
        ),
    )
    assert refusals(configured) == []
    assert refusals(dataclasses.replace(configured, identity=production.identity)) != []


@pytest.mark.redis
async def test_sessions_and_codes_in_redis(tmp_path: Any) -> None:
    """``BALIE_SESSION_STORE=redis``: sign-in, desk and sign-out with nothing of it in the database."""
    from backend.db.engine import create_engine, create_sessionmaker
    from backend.db.migrate import upgrade
    from backend.settings import SessionSettings
    from tests.support import make_settings

    settings = make_settings(tmp_path, sessions=SessionSettings(store="redis"))
    engine = create_engine(settings.database)
    await upgrade(engine)
    try:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as db:
            await seed_agenda(db)
        async with served_balie(settings) as (_, client):
            await sign_in_official(client, "official-testgemeente")
            assert (await client.get("/balie/")).status_code == 200
            assert await rows(sessionmaker, select(StoredSession)) == []
            await post_form(client, "/balie/", "/balie/uitloggen")
            assert (await client.get("/balie/")).status_code == 303
    finally:
        await engine.dispose()
