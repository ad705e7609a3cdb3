"""Uitwijk in Chromium, keyboard only, with axe-core: a mandate given, refused input, accepted, used.

The admin of Gemeente Testgemeente gives Gemeente Schiedam a mandate for Burgerzaken (first with
an end before the start: the message sits at its field and the input stays), Schiedam's admin
accepts it and works "Namens Gemeente Testgemeente" from the desk. Every page on the way has no
WCAG 2.1 AA violations by axe-core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Municipality, MunicipalityAdmin, Official
from backend.settings import DatabaseSettings
from backend.timefmt import AMSTERDAM
from tests.e2e.axe import violations
from tests.e2e.browsing import site
from tests.e2e.netns import Namespace, loopback_namespace
from tests.support import seed_agenda

pytestmark = pytest.mark.browser


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def _two_municipalities(database_url: str) -> None:
    """Schiedam beside the test municipality; each one's official also manages their own."""
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:
            await seed_agenda(session, cbs_code="0606", slug="schiedam")
            for subject, slug in (
                ("official-testgemeente", "testgemeente"),
                ("official-schiedam", "schiedam"),
            ):
                official = (await session.scalars(select(Official).where(Official.subject == subject))).one()
                town = (await session.scalars(select(Municipality).where(Municipality.slug == slug))).one()
                session.add(MunicipalityAdmin(official_id=official.id, municipality_id=town.id))
            await session.commit()
    finally:
        await engine.dispose()


async def _sign_in(page: Page, subject: str) -> None:
    await page.goto("/balie/inloggen")
    await page.click("a[data-action=sign-in]")
    await page.check(f"input[data-official={subject}]")
    await page.click("button[data-action=sign-in]")
    await page.wait_for_selector("[data-desk]")


async def _type_into(page: Page, selector: str, text: str) -> None:
    await page.focus(selector)
    await page.keyboard.type(text)


async def test_a_mandate_from_grant_to_work(namespace: Namespace, tmp_path: Path) -> None:
    async with site(namespace, tmp_path) as place:
        await _two_municipalities(place.database_url)
        admin = await place.page("admin")
        await place.wait_until_up(admin)
        await _sign_in(admin, "official-testgemeente")
        await admin.click("a[href='/balie/mandaten']")
        await admin.wait_for_selector("[data-mandates-page]")
        assert await violations(admin) == [], place.state_of()

        today = dt.datetime.now(AMSTERDAM).date()
        # Keyboard only: focus each field, type, tick with the space bar, send with Enter.
        await admin.focus("#grant-grantee")
        await admin.keyboard.press("ArrowDown")  # from "Kies een gemeente" to Gemeente Schiedam
        await admin.focus("[name^=team_]")
        await admin.keyboard.press("Space")
        await admin.fill("#grant-starts", today.isoformat())
        await admin.fill("#grant-ends", (today - dt.timedelta(days=1)).isoformat())
        await _type_into(admin, "#grant-reason", "Ons stadhuis is dicht door een storing.")
        await admin.focus("form[data-form=grant] button[type=submit]")
        async with admin.expect_navigation():
            await admin.keyboard.press("Enter")
        assert await admin.locator("#grant-ends-error").count() == 1, await admin.inner_text("main")
        assert await admin.locator("#grant-ends-error").count() == 1, await admin.inner_text("main")
        assert "eindigen na het begin" in await admin.inner_text("#grant-ends-error")
        assert await admin.get_attribute("#grant-ends", "aria-invalid") == "true"
        assert await admin.input_value("#grant-reason") == "Ons stadhuis is dicht door een storing."
        assert await violations(admin) == [], place.state_of()

        await admin.fill("#grant-ends", (today + dt.timedelta(days=7)).isoformat())
        await admin.focus("form[data-form=grant] button[type=submit]")
        await admin.keyboard.press("Enter")
        await admin.wait_for_selector("[data-mandates=grantee] tr[data-status=proposed]")

        helper = await place.page("helper")
        await _sign_in(helper, "official-schiedam")
        await helper.goto("/balie/mandaten")
        await helper.focus("[data-mandates=grantor] form[action$='/aanvaarden'] button")
        await helper.keyboard.press("Enter")
        await helper.wait_for_selector("[data-mandates=grantor] tr[data-status=running]")
        assert await violations(helper) == [], place.state_of()

        await helper.goto("/balie")
        await helper.select_option("#acting-mandate", label="Namens Gemeente Testgemeente")
        await helper.focus("form[data-form=acting] button")
        await helper.keyboard.press("Enter")
        await helper.wait_for_selector("[data-acting-for]")
        assert "U werkt namens Gemeente Testgemeente" in await helper.inner_text("[data-acting-for]")
        assert await violations(helper) == [], place.state_of()
