"""Claims where npm's ``oidc-provider`` puts them by default: only in the userinfo response (OIDC
Core 5.4), scripted over HTTP. The app reads the BSN, the level and the official's groups from
there; told to read the ID token only, it says which claim is missing instead of "invalid BSN" or
"no access", and audits that reason."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import AuditEvent, Participant
from backend.settings import Secret, Settings
from backend.settings.identity import ClaimsFrom
from tests.interop.op import (
    CITIZEN_CLIENT,
    OFFICIAL_CLIENT,
    InteropProvider,
    app_clients,
    interop_provider,
    through_provider,
)
from tests.live import follow_link
from tests.oidc import appointment_with_link, served_balie
from tests.support import free_port, make_settings, seed_agenda

SECRET = "userinfo-secret"
MIDDEN = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"


@dataclasses.dataclass
class World:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    token: str
    participant_id: Any


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(tmp_path)
    engine = create_engine(settings.database)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        service = await seed_agenda(session)
        _, participant, token = await appointment_with_link(session, service, required_loa="midden")
    yield World(settings, sessionmaker, token, participant.id)
    await engine.dispose()


def against(settings: Settings, op: InteropProvider, claims_from: ClaimsFrom) -> Settings:
    identity = settings.identity
    citizen = dataclasses.replace(
        identity.citizen,
        issuer=op.issuer,
        client_id=CITIZEN_CLIENT,
        client_secret=Secret(SECRET),
        scope="openid bsn",
        claims_from=claims_from,
    )
    official = dataclasses.replace(
        identity.official,
        issuer=op.issuer,
        client_id=OFFICIAL_CLIENT,
        client_secret=Secret(SECRET),
        scope="openid profile email groups",
        claims_from=claims_from,
    )
    return dataclasses.replace(
        settings, identity=dataclasses.replace(identity, citizen=citizen, official=official)
    )


async def events(world: World, action: str) -> list[AuditEvent]:
    async with world.sessionmaker() as db:
        found = list(await db.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        await db.commit()
    return found


@pytest.mark.parametrize("claims_from", ["both", "userinfo"])
async def test_bsn_level_and_groups_are_read_from_userinfo(
    tmp_path: Path, world: World, claims_from: ClaimsFrom
) -> None:
    port = free_port()
    with interop_provider(
        tmp_path, app_clients(f"http://127.0.0.1:{port}", secret=SECRET), id_token_claims=False
    ) as op:
        async with served_balie(against(world.settings, op, claims_from), port) as (_, client):
            started = await follow_link(client, f"/j/{world.token}", "digid")
            back = await through_provider(client, op, started, {"login": "999993653", "acr": MIDDEN})
            assert back.status_code == 303 and back.headers["location"] == f"/j/{world.token}", back.text[
                :300
            ]
            async with world.sessionmaker() as db:
                participant = await db.get_one(Participant, world.participant_id)
                assert participant.identity_level == "midden" and participant.bsn_sealed is not None
                await db.commit()

            client.cookies.clear()  # the official on another browser, not signed in at the provider
            started = await follow_link(client, "/balie/inloggen", "sign-in")
            desk = await through_provider(client, op, started, {"login": "official-testgemeente"})
            assert desk.status_code == 303 and desk.headers["location"] == "/balie", desk.text[:300]


async def test_a_claim_that_never_came_is_named_not_taken_for_a_wrong_one(
    tmp_path: Path, world: World
) -> None:
    port = free_port()
    with interop_provider(
        tmp_path, app_clients(f"http://127.0.0.1:{port}", secret=SECRET), id_token_claims=False
    ) as op:
        async with served_balie(against(world.settings, op, "id_token"), port) as (_, client):
            started = await follow_link(client, f"/j/{world.token}", "digid")
            back = await through_provider(client, op, started, {"login": "999993653", "acr": MIDDEN})
            assert back.status_code == 400 and "burgerservicenummer niet door" in back.text
            (event,) = await events(world, "identity.verify")
            assert event.details == {"reason": "missing_bsn", "claim": "bsn"}

            client.cookies.clear()
            started = await follow_link(client, "/balie/inloggen", "sign-in")
            refused = await through_provider(client, op, started, {"login": "official-testgemeente"})
            assert refused.status_code == 403 and "teams niet door" in refused.text
            (event,) = await events(world, "session.sign_in")
            assert event.details == {"reason": "missing_groups"} and event.result == "failure"


async def test_a_bsn_failing_the_elfproef_is_refused_as_such(tmp_path: Path, world: World) -> None:
    port = free_port()
    clients = app_clients(f"http://127.0.0.1:{port}", secret=SECRET)
    with interop_provider(tmp_path, clients, id_token_claims=False) as op:
        async with served_balie(against(world.settings, op, "both"), port) as (_, client):
            started = await follow_link(client, f"/j/{world.token}", "digid")
            back = await through_provider(client, op, started, {"login": "123456789", "acr": MIDDEN})
            assert back.status_code == 400 and "geen geldig burgerservicenummer" in back.text
            (event,) = await events(world, "identity.verify")
            assert event.details == {"reason": "invalid_bsn"} and event.result == "failure"


async def test_a_signed_userinfo_answer_is_checked_and_read(tmp_path: Path, world: World) -> None:
    """``userinfo_signed_response_alg``: the provider answers userinfo as a JWT, checked with its keys."""
    port = free_port()
    clients = app_clients(f"http://127.0.0.1:{port}", secret=SECRET)
    for client in clients:
        client["userinfo_signed_response_alg"] = "RS256"
    with interop_provider(tmp_path, clients, id_token_claims=False) as op:
        async with served_balie(against(world.settings, op, "userinfo"), port) as (_, client):
            started = await follow_link(client, f"/j/{world.token}", "digid")
            back = await through_provider(client, op, started, {"login": "999993653", "acr": MIDDEN})
            assert back.status_code == 303 and back.headers["location"] == f"/j/{world.token}", back.text[
                :300
            ]
            async with world.sessionmaker() as db:
                participant = await db.get_one(Participant, world.participant_id)
                assert participant.identity_level == "midden" and participant.bsn_sealed is not None
                await db.commit()
