"""A new municipality in Chromium, from nothing to a call, with axe-core on every page on the way.

The platform admin makes Gemeente Vlaardingen (first with a wrong CBS code: the message sits at its
field) and invites its admin. The admin, a new colleague at the development provider, takes the
invitation, gives the municipality its colours (a colour without contrast is refused first), makes
a team with opening hours and a service with two intake questions, publishes it and invites an
official. A citizen books that service through the public pages (answering both questions) and
waits; the new official, also signed in for the first time, admits them, and both see the other's
video. No page has a WCAG 2.1 AA violation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Official
from backend.settings import DatabaseSettings
from tests.e2e.axe import violations
from tests.e2e.browsing import REMOTE_VIDEOS_PLAYING, Site, debug_state, into_waiting_room, mailed_link, site
from tests.e2e.netns import Namespace, loopback_namespace
from tests.e2e.test_browser_mandates import _sign_in

pytestmark = pytest.mark.browser
ADMIN = "beheer@vlaardingen.example"
OFFICIAL = "balie@vlaardingen.example"
CITIZEN = "inwoner@example.nl"


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def _platform_admin(database_url: str) -> None:
    """The deployment's operator, as the development provider offers them (BALIE_PLATFORM_ADMINS
    names ``platformbeheer`` in development)."""
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:
            taken = await session.scalar(select(Official).where(Official.subject == "platformbeheer"))
            if taken is None:
                session.add(Official(issuer="urn:balie:dev", subject="platformbeheer", name="Pim Platform"))
            await session.commit()
    finally:
        await engine.dispose()


async def _invitation(page: Page, email: str) -> str:
    """The one-time link of the newest staff invitation to ``email`` in the development mailbox."""
    for _ in range(100):
        await page.goto("/dev/mailbox/messages.json")
        for message in reversed(json.loads(await page.inner_text("body"))):
            found = re.search(r"https?://\S+/balie/uitnodiging/[A-Za-z0-9_-]+", message["text"])
            if email in message["to"] and found:
                return found.group(0)
        await page.wait_for_timeout(200)
    raise AssertionError(f"no invitation to {email} arrived in the development mailbox")


async def _take_invitation(page: Page, link: str, name: str, email: str) -> None:
    """Open the link and sign in as a new colleague at the development provider."""
    await page.goto(link)
    await page.click("a[data-action=accept-invitation]")
    await page.click("a[data-action=sign-in]")  # the sign-in page (a link starts it, ADR 0010)
    await page.wait_for_url(re.compile(r"/dev/idp/authorize"))
    await page.check("input[data-official=nieuwe-medewerker]")
    await page.fill("#new-name", name)
    await page.fill("#new-email", email)
    await page.click("button[data-action=sign-in]")
    await page.wait_for_selector("[data-desk]")


async def _submit(page: Page, form: str) -> None:
    async with page.expect_navigation():
        await page.click(f"form[data-form={form}] button[type=submit]")


async def _make_municipality(place: Site, platform: Page) -> None:
    await _sign_in(platform, "platformbeheer")
    await platform.click("a[href='/balie/gemeenten']")
    await platform.wait_for_selector("[data-municipalities]")
    assert await violations(platform) == [], place.state_of()
    await platform.fill("#municipality-cbs_code", "9999")
    await platform.fill("#municipality-phone", "14 010")
    await platform.fill("#municipality-admin_email", ADMIN)
    await _submit(platform, "municipality")
    assert "geen gemeente met CBS-code 9999" in await platform.inner_text("#municipality-cbs_code-error")
    assert await platform.input_value("#municipality-admin_email") == ADMIN  # the typed form stays
    assert await violations(platform) == [], place.state_of()
    await platform.fill("#municipality-cbs_code", "0622")
    await _submit(platform, "municipality")
    await platform.wait_for_selector("[data-municipality=vlaardingen][data-active=yes]")


async def _set_up(place: Site, admin: Page) -> None:
    """The new admin's first hour: branding, a team, its hours, a service with two questions, an
    official."""
    await admin.click("a[href='/balie/gemeenten']")
    await admin.wait_for_selector("[data-municipality-profile=vlaardingen]")
    assert await violations(admin) == [], place.state_of()
    await admin.fill("#brand-color_primary", "#fff000")  # yellow: white text would be unreadable
    await _submit(admin, "brand")
    assert "4,5" in await admin.inner_text("#brand-color_primary-error")
    assert await violations(admin) == [], place.state_of()
    await admin.fill("#brand-color_primary", "#005a3c")
    await admin.fill("#brand-color_link", "#005a3c")
    await _submit(admin, "brand")
    await admin.fill("#profile-website", "https://www.vlaardingen.nl")
    await admin.fill("#profile-privacy_url", "https://www.vlaardingen.nl/privacy")
    await _submit(admin, "profile")

    await admin.goto("/balie/teams")
    assert await violations(admin) == [], place.state_of()  # with its English name and description
    await admin.fill("#team-name", "Burgerzaken")
    await admin.fill("#team-name_en", "Civil Affairs")
    await _submit(admin, "team")
    section = admin.locator("section.card", has=admin.locator("h2", has_text="Burgerzaken"))
    for day in range(7):
        await section.locator(f"[name=day_{day}]").fill("00:00-23:55")
    await section.locator("[name=lead_minutes]").fill("0")
    async with admin.expect_navigation():
        await section.locator("form[data-form=team] button[type=submit]").click()

    await admin.goto("/balie/diensten")
    new_service = admin.locator("section.card", has=admin.locator("h2", has_text="Burgerzaken"))
    await new_service.locator("[name=name]").fill("Verhuizing doorgeven")
    async with admin.expect_navigation():
        await new_service.locator("button[type=submit]").click()
    await admin.wait_for_selector("[data-service-editor][data-state=draft]")
    for label, kind in (("Wat is uw nieuwe adres?", "text"), ("Wanneer verhuist u?", "date")):
        await admin.fill("#new-question-label", label)
        await admin.select_option("#new-question-type", kind)
        await admin.check("#new-question-required")
        await _submit(admin, "new-question")
    await admin.wait_for_selector("[data-question=wanneer_verhuist_u]")
    assert await violations(admin) == [], place.state_of()
    async with admin.expect_navigation():
        await admin.click("[data-publish] button[type=submit]")
    await admin.wait_for_selector("[data-service-editor][data-state=published]")

    await admin.goto("/balie/medewerkers")
    await admin.fill("form[data-form=invite] [name=email]", OFFICIAL)
    await _submit(admin, "invite")
    await admin.wait_for_selector(f"[data-invitation='{OFFICIAL}']")
    assert await violations(admin) == [], place.state_of()


async def _book(place: Site, citizen: Page) -> None:
    await citizen.goto("/")
    assert await violations(citizen) == [], place.state_of()
    await citizen.click("text=Gemeente Vlaardingen")
    await citizen.wait_for_selector("a.service-link[data-service=verhuizing-doorgeven]")
    assert await citizen.locator("link[href*='/vlaardingen/huisstijl.css']").count() == 1
    assert await violations(citizen) == [], place.state_of()  # in Vlaardingen's own colours
    await citizen.click("a.service-link[data-service=verhuizing-doorgeven]")
    await citizen.fill("#q-wat_is_uw_nieuwe_adres", "Hoogstraat 1, Vlaardingen")
    await citizen.fill("#q-wanneer_verhuist_u", "2027-01-15")
    async with citizen.expect_navigation():
        await citizen.click("form button[type=submit]")
    await citizen.click("a.slot >> nth=0")
    await citizen.fill("#name", "Inge Inwoner")
    await citizen.fill("#email", CITIZEN)
    await citizen.check("#consent")
    await citizen.click("button[type=submit]")
    await citizen.wait_for_selector("[data-reference]")
    assert "https://www.vlaardingen.nl/privacy" in await citizen.inner_html("[data-municipality-footer]")


async def test_a_new_municipality_from_nothing_to_a_call(namespace: Namespace, tmp_path: Path) -> None:
    async with site(namespace, tmp_path) as place:
        await _platform_admin(place.database_url)
        platform = await place.page("platform")
        await place.wait_until_up(platform)
        await _make_municipality(place, platform)

        admin = await place.page("admin")
        await _take_invitation(admin, await _invitation(platform, ADMIN), "Vera Vlaar", ADMIN)
        await _set_up(place, admin)

        citizen = await place.page("citizen")
        await _book(place, citizen)

        official = await place.page("official")
        await _take_invitation(official, await _invitation(platform, OFFICIAL), "Bas Balie", OFFICIAL)
        await into_waiting_room(citizen, await mailed_link(platform, CITIZEN))
        admit = official.locator("[data-waiting-list] button[data-action=admit]")
        await admit.first.wait_for(timeout=15_000)
        await admit.first.click()
        await official.wait_for_url(re.compile(r"/gesprek$"))
        for page, who in ((citizen, "citizen"), (official, "official")):
            try:
                await page.wait_for_function(REMOTE_VIDEOS_PLAYING, arg=1, timeout=30_000)
            except Exception as exc:
                state = await debug_state(page)
                raise AssertionError(f"{who} sees no video: {state}{place.state_of()}") from exc
