"""The platform admin makes a municipality on /balie/gemeenten and invites its first admin, who signs
in through the link and keeps the profile, branding and logo; citizens see them on its pages and in
its e-mails. Switched off, it takes no bookings. Bad input is refused at its field and changes
nothing; another official reaches none of it (404, audited)."""

from __future__ import annotations

import dataclasses
import re
import struct
import zlib
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    AuditEvent,
    Municipality,
    MunicipalityAdmin,
    MunicipalityLogo,
    Official,
    OutboxMessage,
    Service,
)
from backend.settings import Settings
from backend.tenancy.municipality_form import RESERVED_SLUGS
from tests.integration.test_invitations import opened, parts
from tests.integration.test_pages import book_through_pages
from tests.live import CSRF_FIELD, follow_link, post_form, sign_in_official, through_dev_provider
from tests.oidc import served_balie

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PAGE = "/balie/gemeenten/"
NEW_ADMIN = "beheer@vlaardingen.example"
NEW_TOWN = {"cbs_code": "0622", "name": "", "slug": "", "timezone": "Europe/Amsterdam", "phone": "14 010"}


@pytest.fixture
def platform_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, identity=dataclasses.replace(settings.identity, platform_admins=("platformbeheer",))
    )


@pytest.fixture
async def people(session: AsyncSession, seeded_service: Service) -> dict[str, str]:
    """The platform admin, Testgemeente's admin, and an official of Testgemeente's team who manages
    nothing. The new municipality's admin is nobody yet: they sign in as a new colleague."""
    platform = Official(issuer="urn:balie:dev", subject="platformbeheer", name="Pim Platform")
    admin = Official(issuer="urn:balie:dev", subject="beheerder", name="Bea Beheer")
    session.add_all([platform, admin])
    await session.flush()
    session.add(MunicipalityAdmin(official_id=admin.id, municipality_id=seeded_service.team.municipality_id))
    await session.commit()
    return {
        "platform": "platformbeheer",
        "admin": "beheerder",
        "newcomer": f"nieuw:{NEW_ADMIN}",  # the development provider's subject for a new colleague
        "official": "official-testgemeente",
    }


async def _count(session: AsyncSession, model: type, *where: Any) -> int:
    session.expire_all()
    found = await session.scalar(select(func.count()).select_from(model).where(*where))
    await session.commit()
    return int(found or 0)


async def _town(session: AsyncSession, slug: str) -> Municipality | None:
    session.expire_all()
    found = await session.scalar(select(Municipality).where(Municipality.slug == slug))
    await session.commit()
    return found


async def _invitation_link(session: AsyncSession, settings: Settings) -> str:
    session.expire_all()
    row = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "staff_invitation")
        .order_by(OutboxMessage.created_at.desc())
    )
    assert row is not None
    text, html = parts(await opened(row, settings, session))
    await session.commit()
    assert "Pim Platform nodigt u uit als beheerder van Gemeente Vlaardingen" in text
    found = re.search(r"/balie/uitnodiging/([A-Za-z0-9_-]+)", text)
    assert found and found.group(0) in html
    return found.group(1)


async def test_the_platform_admin_makes_a_municipality_whose_admin_signs_in_by_the_link(
    platform_settings: Settings, engine: Any, session: AsyncSession, people: dict[str, str]
) -> None:
    async with served_balie(platform_settings) as (_, platform):
        await sign_in_official(platform, people["platform"])
        desk = await platform.get("/balie/")
        assert 'href="/balie/gemeenten"' in desk.text
        made = await post_form(platform, PAGE, PAGE, {**NEW_TOWN, "admin_email": NEW_ADMIN.upper()})
        assert made.status_code == 303 and "klaar=aangemaakt" in made.headers["location"]
        listed = await platform.get(made.headers["location"])
        assert 'data-municipality="vlaardingen"' in listed.text and "(uitgenodigd)" in listed.text
        town = await _town(session, "vlaardingen")
        assert town is not None and town.name == "Gemeente Vlaardingen" and town.cbs_code == "0622"
        assert town.active and town.timezone == "Europe/Amsterdam"
        town_id = town.id
        token = await _invitation_link(session, platform_settings)
        # The platform admin reaches no municipality's profile, not even the new one.
        assert (await platform.get(f"{PAGE}{town_id}")).status_code == 404

        async with httpx.AsyncClient(base_url=str(platform.base_url), timeout=20) as newcomer:
            shown = await newcomer.get(f"/balie/uitnodiging/{token}")
            assert shown.status_code == 200 and "beheerder van Gemeente Vlaardingen" in shown.text
            onward = await newcomer.get(f"/balie/uitnodiging/{token}/inloggen")
            started = await follow_link(newcomer, onward.headers["location"], "sign-in")
            callback = await through_dev_provider(
                newcomer,
                started,
                {"sub": "nieuwe-medewerker", "new_name": "Vera Vlaar", "new_email": NEW_ADMIN},
            )
            joined = await newcomer.get(callback)
            assert joined.status_code == 303 and joined.headers["location"] == "/balie"
            own = await newcomer.get(PAGE)  # one municipality: straight to its profile
            assert own.status_code == 303 and own.headers["location"] == f"/balie/gemeenten/{town_id}"
            profile = await newcomer.get(own.headers["location"])
            assert profile.status_code == 200 and 'data-municipality-profile="vlaardingen"' in profile.text
            assert (await newcomer.get("/balie/teams/")).status_code == 200  # and so its teams
        assert await _count(session, MunicipalityAdmin, MunicipalityAdmin.source == "app") == 1
        # A later sign-in keeps what the platform admin gave (the provider sends no group for it).
        async with httpx.AsyncClient(base_url=str(platform.base_url), timeout=20) as later:
            await sign_in_official(later, people["newcomer"])
            assert (await later.get(f"{PAGE}{town_id}")).status_code == 200
    actions = {
        (e.action, e.details.get("what"))
        for e in await session.scalars(select(AuditEvent).where(AuditEvent.municipality_id == town_id))
    }
    assert {("municipality.changed", "created"), ("municipality.manager_invited", None)} <= actions
    assert ("staff.invitation_accepted", None) in actions


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cbs_code", "", "Vul de CBS-code"),
        ("cbs_code", "12a4", "4 cijfers"),
        ("cbs_code", "9999", "geen gemeente met CBS-code 9999"),
        ("cbs_code", "0599", "al een gemeente met deze CBS-code"),  # Testgemeente's
        ("slug", "balie", "gebruikt de Digitale Balie zelf"),
        ("slug", "testgemeente", "heeft al een andere gemeente"),
        ("slug", "Den Haag!", "kleine letters"),
        ("phone", "bel ons", "telefoonnummer klopt niet"),
        ("phone", "", "Vul het telefoonnummer"),
        ("name", "x" * 121, "te lang"),
        ("timezone", "America/New_York", "Kies een van de mogelijkheden"),
        ("admin_email", "niet-een-adres", "e-mailadres klopt niet"),
        ("admin_email", "", "Vul het e-mailadres in van wie"),
    ],
)
async def test_a_wrong_new_municipality_is_refused_at_its_field(
    platform_settings: Settings,
    engine: Any,
    session: AsyncSession,
    people: dict[str, str],
    field: str,
    value: str,
    message: str,
) -> None:
    before = await _count(session, Municipality)
    async with served_balie(platform_settings) as (_, platform):
        await sign_in_official(platform, people["platform"])
        typed = {**NEW_TOWN, "admin_email": NEW_ADMIN, "name": "Gemeente Vlaardingen", field: value}
        refused = await post_form(platform, PAGE, PAGE, typed)
        assert refused.status_code == 422
        assert message in refused.text and 'aria-invalid="true"' in refused.text
        assert f'id="municipality-{field}"' in refused.text and f"municipality-{field}-error" in refused.text
        if value and field != "timezone":
            assert f'value="{value}"' in refused.text  # the typed form stays
    assert await _count(session, Municipality) == before
    assert await _count(session, OutboxMessage) == 0


async def test_only_the_platform_admin_makes_and_switches_municipalities(
    platform_settings: Settings,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    people: dict[str, str],
) -> None:
    town_id = seeded_service.team.municipality_id
    async with served_balie(platform_settings) as (_, client):
        await sign_in_official(client, people["official"])
        assert (await client.get(PAGE)).status_code == 404
        page = await client.get("/balie/")
        token = CSRF_FIELD.search(page.text)
        assert token
        for action in ("", f"{town_id}/uitzetten", f"{town_id}/beheerder"):
            answer = await client.post(
                f"{PAGE}{action}", data={"_csrf_token": token.group(1), **NEW_TOWN, "email": "x@y.nl"}
            )
            assert answer.status_code == 404, action
    async with served_balie(platform_settings) as (_, admin):
        await sign_in_official(admin, people["admin"])  # a municipality admin: its own profile only
        assert (await admin.get(PAGE)).headers["location"] == f"/balie/gemeenten/{town_id}"
        assert (await post_form(admin, f"{PAGE}{town_id}", f"{PAGE}{town_id}/uitzetten")).status_code == 404
    assert (await _town(session, "testgemeente")) is not None
    assert await _count(session, Municipality, Municipality.deactivated_at.is_not(None)) == 0
    assert await _count(session, AuditEvent, AuditEvent.action == "access.denied") >= 5


async def test_a_switched_off_municipality_takes_no_bookings_and_comes_back(
    platform_settings: Settings,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    people: dict[str, str],
) -> None:
    town_id = seeded_service.team.municipality_id
    async with served_balie(platform_settings) as (_, platform):
        await sign_in_official(platform, people["platform"])
        assert (await platform.get("/testgemeente")).status_code == 200
        off = await post_form(platform, PAGE, f"{PAGE}{town_id}/uitzetten")
        assert off.status_code == 303
        assert (await platform.get("/testgemeente")).status_code == 404
        assert (await platform.get(f"/diensten/{seeded_service.id}")).status_code == 404
        assert (await platform.get(f"/api/v1/services/{seeded_service.id}/slots")).status_code == 404
        assert str(seeded_service.id) not in (await platform.get("/api/v1/services")).text
        home = await platform.get("/")
        assert home.status_code == 200 and "/testgemeente" not in home.text
        listed = await platform.get(PAGE)
        assert 'data-municipality="testgemeente" data-active="no"' in listed.text
        on = await post_form(platform, PAGE, f"{PAGE}{town_id}/aanzetten")
        assert on.status_code == 303
        assert (await platform.get("/testgemeente")).status_code == 200
        assert (await platform.get(f"/api/v1/services/{seeded_service.id}/slots")).status_code == 200
    whats = [
        e.details["what"]
        for e in await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "municipality.changed")
            .order_by(AuditEvent.created_at)
        )
    ]
    assert whats == ["deactivated", "reactivated"]


PROFILE = {
    "name": "Gemeente Testgemeente",
    "phone": "14 099",
    "website": "https://www.testgemeente.example",
    "privacy_url": "www.testgemeente.example/privacy",
    "email_sender_name": "Burgerzaken Testgemeente",
    "reply_to": "Balie@Testgemeente.example",
}


async def test_the_profile_shows_on_citizen_pages_and_in_emails(
    platform_settings: Settings,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    people: dict[str, str],
) -> None:
    town_id = seeded_service.team.municipality_id
    async with served_balie(platform_settings) as (_, admin):
        await sign_in_official(admin, people["admin"])
        saved = await post_form(admin, f"{PAGE}{town_id}", f"{PAGE}{town_id}", PROFILE)
        assert saved.status_code == 303
        town = await _town(session, "testgemeente")
        assert town is not None and town.privacy_url == "https://www.testgemeente.example/privacy"
        assert town.reply_to == "balie@testgemeente.example" and town.phone == "14 099"
        for path in ("/testgemeente", f"/diensten/{seeded_service.id}"):
            shown = await admin.get(path)
            footer = shown.text.split("data-municipality-footer", 1)[1]
            assert "Telefoon 14 099" in footer and 'href="https://www.testgemeente.example/privacy"' in footer
            assert 'class="brand" href="/testgemeente"' in shown.text
        english = await admin.get("/testgemeente?lang=en")
        assert "Privacy statement" in english.text
        log = (await admin.get("/balie/logboek/")).text.split('data-action="municipality.changed"', 1)[1]
        row = log.split("</tr>", 1)[0]  # names and values, not ids
        assert "Bea Beheer" in row and "municipality Gemeente Testgemeente" in row  # English, chosen above
        assert "what: profile" in row and "phone: 14 010 → 14 099" in row and str(town_id) not in row
        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as citizen:
            assert (await book_through_pages(citizen, seeded_service)).status_code == 303
    session.expire_all()
    row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    assert row is not None
    message = await opened(row, platform_settings, session)
    assert message["From"].startswith("Burgerzaken Testgemeente <")
    assert message["Reply-To"] == "balie@testgemeente.example"
    text, html = parts(message)
    assert "uw antwoord naar balie@testgemeente.example" in text
    assert (
        "https://www.testgemeente.example/privacy" in text
        and "https://www.testgemeente.example/privacy" in html
    )
    changed = await session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "municipality.changed", AuditEvent.object_id == str(town_id)
        )
    )
    assert changed is not None and changed.details["what"] == "profile"
    assert changed.details["before"]["phone"] == "14 010" and changed.details["after"]["phone"] == "14 099"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Vul de naam van de gemeente in"),
        ("website", "javascript:alert(1)", "begint met https://"),
        ("website", "http://www.testgemeente.example", "begint met https://"),
        ("privacy_url", "https://localhost", "begint met https://"),
        ("reply_to", "balie@", "e-mailadres klopt niet"),
        ("email_sender_name", "Evil <evil@example.com>", "Gebruik geen @"),
        ("phone", "0800-GEMEENTE", "telefoonnummer klopt niet"),
    ],
)
async def test_a_wrong_profile_changes_nothing(
    platform_settings: Settings,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    people: dict[str, str],
    field: str,
    value: str,
    message: str,
) -> None:
    town_id = seeded_service.team.municipality_id
    async with served_balie(platform_settings) as (_, admin):
        await sign_in_official(admin, people["admin"])
        refused = await post_form(admin, f"{PAGE}{town_id}", f"{PAGE}{town_id}", {**PROFILE, field: value})
        assert refused.status_code == 422 and message in refused.text
        assert f"profile-{field}-error" in refused.text
    town = await _town(session, "testgemeente")
    assert town is not None and town.phone == "14 010" and town.website == "" and town.reply_to == ""
    assert await _count(session, AuditEvent, AuditEvent.action == "municipality.changed") == 0


BRAND = {
    "color_primary": "#8B0000",
    "color_on_primary": "#ffffff",
    "color_link": "#8b0000",
    "color_focus": "#ffbf47",
    "font_family": "verdana",
}


async def test_branding_is_checked_for_contrast_and_carried_by_citizen_pages(
    platform_settings: Settings,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    people: dict[str, str],
) -> None:
    town_id = seeded_service.team.municipality_id
    action = f"{PAGE}{town_id}/huisstijl"
    async with served_balie(platform_settings) as (_, admin):
        await sign_in_official(admin, people["admin"])
        assert "huisstijl.css" not in (await admin.get("/testgemeente")).text  # nothing set: app.css only
        pale = await post_form(admin, f"{PAGE}{town_id}", action, {**BRAND, "color_on_primary": "#ff6666"})
        assert pale.status_code == 422 and "4,5" in pale.text and "brand-color_on_primary-error" in pale.text
        assert 'value="#ff6666"' in pale.text
        wrong = await post_form(admin, f"{PAGE}{town_id}", action, {**BRAND, "color_link": "red;}body{x:1"})
        assert wrong.status_code == 422 and "brand-color_link-error" in wrong.text
        assert await _count(session, AuditEvent, AuditEvent.action == "municipality.changed") == 0

        saved = await post_form(admin, f"{PAGE}{town_id}", action, BRAND)
        assert saved.status_code == 303
        shown = await admin.get("/testgemeente")
        linked = re.search(r'href="(/testgemeente/huisstijl\.css\?v=(\d+))"', shown.text)
        assert linked, shown.text[:800]
        css = await admin.get(linked.group(1))
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "#8b0000" in css.text and "Verdana" in css.text and "immutable" in css.headers["cache-control"]
        stale = await admin.get("/testgemeente/huisstijl.css?v=0")
        assert "immutable" not in stale.headers["cache-control"]
        assert "huisstijl.css" not in (await admin.get("/balie/")).text  # staff pages keep the app's own
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "municipality.changed"))
    assert event is not None and event.details["what"] == "branding"
    assert event.details["before"]["color.primary"] == "#154273"
    assert event.details["after"]["color.primary"] == "#8b0000"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Author\x00Secret Person")
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
    b'<script>alert(2)</script><rect width="10" height="10" fill="#8b0000"/>'
    b'<a href="javascript:alert(3)"><text>x</text></a></svg>'
)


async def _upload(
    client: httpx.AsyncClient, town_id: object, name: str, data: bytes, kind: str
) -> httpx.Response:
    page = await client.get(f"{PAGE}{town_id}")
    token = CSRF_FIELD.search(page.text)
    assert token
    return await client.post(
        f"{PAGE}{town_id}/logo",
        data={"_csrf_token": token.group(1)},
        files={"file": (name, data, kind)},
    )


async def test_a_logo_is_sanitised_served_without_scripts_and_removed(
    platform_settings: Settings,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    people: dict[str, str],
) -> None:
    town_id = seeded_service.team.municipality_id
    async with served_balie(platform_settings) as (_, admin):
        await sign_in_official(admin, people["admin"])
        refused = await _upload(admin, town_id, "logo.png", b"<html><script>x</script></html>", "image/png")
        assert refused.status_code == 422 and "logo-file-error" in refused.text
        huge = await _upload(admin, town_id, "logo.png", _png() + b"\0" * (540 * 1024), "image/png")
        assert huge.status_code == 422 and "Het logo is te groot. Het mag hoogstens 512 kB zijn." in huge.text
        # Far over the limit, the form is refused before the page sees it: still said plainly.
        huger = await _upload(admin, town_id, "logo.png", b"\0" * (2 * 1024 * 1024), "image/png")
        assert huger.status_code == 413 and "kies een kleiner bestand" in huger.text
        assert await _count(session, MunicipalityLogo) == 0

        saved = await _upload(admin, town_id, "logo.svg", SVG, "image/svg+xml")
        assert saved.status_code == 303, saved.text[:500]
        shown = await admin.get("/testgemeente")
        src = re.search(r'<img class="brand__logo" src="(/testgemeente/logo\?v=\d+)"', shown.text)
        assert src, shown.text[:800]
        logo = await admin.get(src.group(1))
        assert logo.status_code == 200 and logo.headers["content-type"].startswith("image/svg+xml")
        assert "sandbox" in logo.headers["content-security-policy"]
        assert b"<script" not in logo.content and b"onload" not in logo.content
        assert b"javascript:" not in logo.content and b"#8b0000" in logo.content

        png = await _upload(admin, town_id, "logo.png", _png(), "image/png")
        assert png.status_code == 303
        stored = await admin.get("/testgemeente/logo")
        assert stored.headers["content-type"] == "image/png" and b"Secret Person" not in stored.content
        assert "immutable" not in stored.headers["cache-control"]  # no version: asked again each time

        removed = await post_form(admin, f"{PAGE}{town_id}", f"{PAGE}{town_id}/logo/verwijderen")
        assert removed.status_code == 303
        assert (await admin.get("/testgemeente/logo")).status_code == 404
        assert "brand__logo" not in (await admin.get("/testgemeente")).text
    whats = [
        e.details["what"]
        for e in await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "municipality.changed")
            .order_by(AuditEvent.created_at)
        )
    ]
    assert whats == ["logo", "logo", "logo_removed"]


def test_reserved_slugs_cover_every_first_segment_of_the_route_table(settings: Settings) -> None:
    from backend.app import create_app

    app = create_app(settings)
    first = {
        route.path.strip("/").split("/", 1)[0]
        for route in app.routes
        if route.path.strip("/") and not route.path.strip("/").startswith("{")
    }
    assert first <= RESERVED_SLUGS, sorted(first - RESERVED_SLUGS)


async def test_a_new_colleague_at_the_development_provider_needs_a_real_address(
    platform_settings: Settings, engine: Any, people: dict[str, str]
) -> None:
    async with served_balie(platform_settings) as (_, client):
        started = await follow_link(client, "/balie/inloggen", "sign-in")
        authorize = started.headers["location"]
        page = await client.get(authorize)
        assert 'data-official="nieuwe-medewerker"' in page.text
        token = CSRF_FIELD.search(page.text)
        assert token
        choice = {"sub": "nieuwe-medewerker", "new_name": "Vera", "new_email": "vera@"}
        again = await client.post(authorize, data={"_csrf_token": token.group(1), **choice})
        assert again.status_code == 422 and "Kies eerst wie u bent." in again.text
        # A real address but no invitation and no groups: signed in at the provider, no access here.
        callback = await through_dev_provider(
            client,
            await follow_link(client, "/balie/inloggen", "sign-in"),
            {**choice, "new_email": "vera@elders.example"},
        )
        refused = await client.get(callback)
        assert refused.status_code == 403 and "geen toegang" in refused.text
