"""One deployment, two municipalities, two staff identity providers (npm's ``oidc-provider`` twice):
Testgemeente signs in through the settings' provider, Schiedam through its own (a row, added
with the same function ``balie identity-provider add`` uses). The sign-in page finds Schiedam's
provider by e-mail domain or by choice, and a provider only ever grants teams of its own
municipality, whatever groups it claims."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import IdentityProvider, Membership, Municipality, Official, Participant, Service, Team
from backend.identity.binding import identity_keyring
from backend.identity.provider_admin import Registration, put_provider
from backend.settings import Secret, Settings
from tests.interop.op import (
    CITIZEN_CLIENT,
    OFFICIAL_CLIENT,
    InteropProvider,
    app_clients,
    back_to_the_app,
    interop_provider,
    through_provider,
)
from tests.interop.test_back_channel_logout import sign_out_at_provider
from tests.interop.test_claims_from_userinfo import MIDDEN
from tests.interop.test_token_endpoint import SECRET, official_client, with_provider
from tests.live import CSRF_FIELD, follow_link
from tests.oidc import appointment_with_link, served_balie
from tests.support import free_port, seed_agenda

BOTH_TEAMS = ["balie:0599:burgerzaken:official", "balie:0606:burgerzaken:official"]
ACCOUNTS = {"eva": {"name": "Eva Jansen", "email": "eva@schiedam.nl", "groups": BOTH_TEAMS}}


async def add_schiedam(settings: Settings, schiedam: InteropProvider, secret: str = SECRET) -> None:
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as db:
            await seed_agenda(db, cbs_code="0606", slug="schiedam")
            registration = Registration(
                issuer=schiedam.issuer,
                client_id=OFFICIAL_CLIENT,
                client_secret=secret,
                scope="openid profile email groups",
                email_domains=("schiedam.nl",),
            )
            await put_provider(db, identity_keyring(settings), "0606", "official", registration)
    finally:
        await engine.dispose()


async def teams_of(settings: Settings, issuer: str) -> list[str]:
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as db:
            rows = await db.execute(
                select(Team.municipality_id, Team.slug)
                .join(Membership, Membership.team_id == Team.id)
                .join(Official, Official.id == Membership.official_id)
                .where(Official.issuer == issuer)
            )
            codes = {m.id: m.cbs_code for m in await db.scalars(select(Municipality))}
            return sorted(f"{codes[municipality]}/{slug}" for municipality, slug in rows)
    finally:
        await engine.dispose()


@dataclass
class Two:
    port: int
    settings: Settings
    default_op: InteropProvider
    schiedam_op: InteropProvider


@pytest.fixture
async def two(tmp_path: Path, seeded: Settings) -> AsyncIterator[Two]:
    """Testgemeente on the settings' provider, Schiedam on its own; the same account on both,
    with groups naming a team of each municipality."""
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    registration = official_client(app_url, "client_secret_basic", SECRET)
    registration["backchannel_logout_uri"] = f"{app_url}/balie/uitloggen/backchannel"
    registration["backchannel_logout_session_required"] = True
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        interop_provider(tmp_path / "a", [registration], accounts=ACCOUNTS) as default_op,
        interop_provider(tmp_path / "b", [registration], accounts=ACCOUNTS) as schiedam_op,
    ):
        settings = with_provider(seeded, default_op, "client_secret_basic", SECRET, None)
        await add_schiedam(settings, schiedam_op)
        yield Two(port, settings, default_op, schiedam_op)


def meta_refresh(page: httpx.Response) -> str:
    found = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', page.text)
    assert found, page.text[:500]
    return html.unescape(found.group(1))


async def test_each_municipality_signs_in_through_its_own_provider(two: Two) -> None:
    async with served_balie(two.settings, two.port) as (_, client):
        sign_in = await client.get("/balie/inloggen")
        assert 'data-provider="schiedam"' in sign_in.text and "Inloggen bij Gemeente Schiedam" in sign_in.text

        # By e-mail domain: a page that goes on by itself to Schiedam's provider.
        chosen = await client.get("/balie/inloggen/kies", params={"email": "Eva@Schiedam.nl "})
        assert chosen.status_code == 200 and "U logt in bij Gemeente Schiedam." in chosen.text
        started = await client.get(meta_refresh(chosen))
        assert started.headers["location"].startswith(two.schiedam_op.issuer)
        done = await through_provider(client, two.schiedam_op, started, {"login": "eva"})
        assert done.status_code == 303 and done.headers["location"] == "/balie", done.text[:300]
        # Schiedam's provider claimed Testgemeente's team too: only Schiedam's counts.
        assert await teams_of(two.settings, two.schiedam_op.issuer) == ["0606/burgerzaken"]

    async with served_balie(two.settings, two.port) as (_, client):
        # The settings' provider with the same groups: Schiedam has its own, so only 0599.
        started = await follow_link(client, "/balie/inloggen", "sign-in")
        assert started.headers["location"].startswith(two.default_op.issuer)
        done = await through_provider(client, two.default_op, started, {"login": "eva"})
        assert done.status_code == 303 and done.headers["location"] == "/balie"
        assert await teams_of(two.settings, two.default_op.issuer) == ["0599/burgerzaken"]

        unknown = await client.get("/balie/inloggen/kies", params={"email": "piet@elders.nl"})
        assert unknown.status_code == 400 and "kennen wij geen organisatie" in unknown.text
        assert 'value="piet@elders.nl"' in unknown.text  # the input is kept
        mangled = await client.get("/balie/inloggen/start", params={"aanbieder": "not-a-provider"})
        assert mangled.status_code == 303 and mangled.headers["location"] == "/balie/inloggen"


async def test_an_answer_from_another_municipalitys_provider_is_refused(two: Two) -> None:
    async with served_balie(two.settings, two.port) as (_, client):
        # A sign-in begun at Testgemeente's provider; Schiedam's provider answers its callback
        # (a code for the same client id, replayed or mixed up): its state is not one we began
        # for Schiedam, and the code is not Testgemeente's.
        ours = await follow_link(client, "/balie/inloggen", "sign-in")
        state = dict(httpx.URL(ours.headers["location"]).params)["state"]
        theirs = await client.get(
            "/balie/inloggen/start", params={"aanbieder": await schiedam_id(two.settings)}
        )
        async with httpx.AsyncClient() as other_browser:
            back = await _callback_url(other_browser, two.schiedam_op, theirs)
        mixed = httpx.URL(back).copy_merge_params({"state": state})
        answer = await client.get(str(mixed))
        assert answer.status_code == 400, answer.text[:300]
        assert await teams_of(two.settings, two.schiedam_op.issuer) == []
        assert await teams_of(two.settings, two.default_op.issuer) == []


async def schiedam_id(settings: Settings) -> str:
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as db:
            return str(await db.scalar(select(IdentityProvider.id)))
    finally:
        await engine.dispose()


async def _callback_url(client: httpx.AsyncClient, op: InteropProvider, started: httpx.Response) -> str:
    return await back_to_the_app(client, op, started, {"login": "eva"})


async def test_a_citizen_identifies_through_the_broker_of_the_appointments_municipality(
    tmp_path: Path, seeded: Settings
) -> None:
    port = free_port()
    clients = [
        c for c in app_clients(f"http://127.0.0.1:{port}", secret=SECRET) if c["client_id"] == CITIZEN_CLIENT
    ]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        interop_provider(tmp_path / "a", clients) as default_broker,
        interop_provider(tmp_path / "b", clients) as schiedam_broker,
    ):
        citizen = dataclasses.replace(
            seeded.identity.citizen,
            issuer=default_broker.issuer,
            client_id=CITIZEN_CLIENT,
            client_secret=Secret(SECRET),
            scope="openid bsn",
        )
        settings = dataclasses.replace(seeded, identity=dataclasses.replace(seeded.identity, citizen=citizen))
        engine = create_engine(settings.database)
        async with create_sessionmaker(engine)() as db:
            schiedam = await seed_agenda(db, cbs_code="0606", slug="schiedam")
            registration = Registration(
                issuer=schiedam_broker.issuer,
                client_id=CITIZEN_CLIENT,
                client_secret=SECRET,
                scope="openid bsn",
            )
            await put_provider(db, identity_keyring(settings), "0606", "citizen", registration)
            testgemeente = await db.scalar(select(Service).where(Service.id != schiedam.id))
            assert testgemeente is not None
            _, in_schiedam, schiedam_token = await appointment_with_link(db, schiedam, required_loa="midden")
            _, at_home, home_token = await appointment_with_link(db, testgemeente, required_loa="midden")
        async with served_balie(settings, port) as (_, client):
            for token, broker in ((schiedam_token, schiedam_broker), (home_token, default_broker)):
                started = await follow_link(client, f"/j/{token}", "digid")
                assert started.headers["location"].startswith(broker.issuer), started.headers["location"]
                back = await through_provider(client, broker, started, {"login": "999993653", "acr": MIDDEN})
                assert back.status_code == 303 and back.headers["location"] == f"/j/{token}", back.text[:300]
        async with create_sessionmaker(engine)() as db:
            for participant in (in_schiedam, at_home):
                found = await db.get_one(Participant, participant.id)
                assert found.identity_level == "midden" and found.bsn_sealed is not None
        await engine.dispose()


async def schiedam_sign_in(client: httpx.AsyncClient, two: Two) -> None:
    chosen = await client.get("/balie/inloggen/kies", params={"email": "eva@schiedam.nl"})
    started = await client.get(meta_refresh(chosen))
    done = await through_provider(client, two.schiedam_op, started, {"login": "eva"})
    assert done.status_code == 303 and done.headers["location"] == "/balie", done.text[:300]


async def test_signing_out_goes_to_the_provider_the_official_signed_in_at(two: Two) -> None:
    async with served_balie(two.settings, two.port) as (_, client):
        await schiedam_sign_in(client, two)
        desk = await client.get("/balie")
        csrf = CSRF_FIELD.search(desk.text)
        assert desk.status_code == 200 and csrf
        out = await client.post("/balie/uitloggen", data={"_csrf_token": csrf.group(1)})
        assert out.status_code == 200 and meta_refresh(out).startswith(two.schiedam_op.issuer)

        # Back-channel: Schiedam's provider ends her session there; its logout token (its iss)
        # is checked against Schiedam's provider, and her session here ends.
        await schiedam_sign_in(client, two)
        assert (await client.get("/balie")).status_code == 200
        await sign_out_at_provider(client, two.schiedam_op)
        after = await client.get("/balie")
        assert after.status_code in (302, 303) and after.headers["location"] == "/balie/inloggen"
