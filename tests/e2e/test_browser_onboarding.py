"""A new team in Chromium, from nothing to bookable, with axe-core on every admin page.

The municipality admin makes a team (first without a name: the message sits at its field), gives it
opening hours, makes a draft service, is refused a wrong duration (the typed form stays), adds a
choice question, looks at the email preview and publishes. A citizen then finds the team on the
municipality's page and is asked the new question. No page on the way has a WCAG 2.1 AA violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Municipality, MunicipalityAdmin, Official
from backend.settings import DatabaseSettings
from tests.e2e.axe import violations
from tests.e2e.browsing import site
from tests.e2e.netns import Namespace, loopback_namespace
from tests.e2e.test_browser_mandates import _sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def _make_municipality_admin(database_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:
            official = (
                await session.scalars(select(Official).where(Official.subject == "official-testgemeente"))
            ).one()
            town = (
                await session.scalars(select(Municipality).where(Municipality.slug == "testgemeente"))
            ).one()
            session.add(MunicipalityAdmin(official_id=official.id, municipality_id=town.id))
            await session.commit()
    finally:
        await engine.dispose()


async def test_a_new_team_from_nothing_to_bookable(namespace: Namespace, tmp_path: Path) -> None:
    async with site(namespace, tmp_path) as place:
        await _make_municipality_admin(place.database_url)
        admin = await place.page("admin")
        await place.wait_until_up(admin)
        await _sign_in(admin, "official-testgemeente")

        await admin.click("a[href='/balie/teams']")
        await admin.wait_for_selector("[data-teams]")
        assert await violations(admin) == [], place.state_of()
        await admin.fill("#team-description", "Hulp bij geld en schulden.")
        await admin.click("form[data-form=team] button[type=submit]")
        await admin.wait_for_selector("#team-name-error")
        assert await admin.get_attribute("#team-name", "aria-invalid") == "true"
        assert await admin.input_value("#team-description") == "Hulp bij geld en schulden."
        assert await violations(admin) == [], place.state_of()
        await admin.fill("#team-name", "Kredietbank")
        async with admin.expect_navigation():
            await admin.click("form[data-form=team] button[type=submit]")

        # The agenda page, with the new team among the teams the admin now administers.
        section = admin.locator("section.card", has=admin.locator("h2", has_text="Kredietbank"))
        for day in range(7):
            await section.locator(f"[name=day_{day}]").fill("00:00-23:55")
        await section.locator("[name=lead_minutes]").fill("0")
        async with admin.expect_navigation():
            await section.locator("form[data-form=team] button[type=submit]").click()

        await admin.goto("/balie/diensten")
        assert await violations(admin) == [], place.state_of()
        new_service = admin.locator("section.card", has=admin.locator("h2", has_text="Kredietbank"))
        await new_service.locator("[name=name]").fill("Eerste gesprek")
        async with admin.expect_navigation():
            await new_service.locator("button[type=submit]").click()
        await admin.wait_for_selector("[data-service-editor][data-state=draft]")
        assert await violations(admin) == [], place.state_of()

        await admin.fill("#service-name_en", "First talk")
        await admin.fill("#service-documents", "Uw laatste bankafschrift")
        await admin.fill("#service-duration_minutes", "33")
        async with admin.expect_navigation():
            await admin.click("form[data-form=service] button[type=submit]")
        assert "stappen van 5 minuten" in await admin.inner_text("#service-duration_minutes-error")
        assert await admin.input_value("#service-name_en") == "First talk"  # the typed form stays
        assert await violations(admin) == [], place.state_of()
        await admin.fill("#service-duration_minutes", "30")
        async with admin.expect_navigation():
            await admin.click("form[data-form=service] button[type=submit]")

        await admin.fill("#new-question-label", "Heeft u al schuldhulp?")
        await admin.fill("#new-question-label_en", "Do you have debt help already?")
        await admin.select_option("#new-question-type", "choice")
        await admin.fill("#new-question-options", "Ja | Yes\nNee | No")
        await admin.check("#new-question-required")
        async with admin.expect_navigation():
            await admin.click("form[data-form=new-question] button[type=submit]")
        await admin.wait_for_selector("[data-question=heeft_u_al_schuldhulp]")

        await admin.fill("#emails-confirmation_nl", "Neem uw bankafschriften mee.")
        async with admin.expect_navigation():
            await admin.click("form[data-form=emails] button[type=submit]")
        await admin.goto(admin.url.split("?")[0].split("#")[0] + "/e-mails/confirmation?taal=nl")
        assert "Neem uw bankafschriften mee." in await admin.inner_text("[data-preview-text]")
        assert await violations(admin) == [], place.state_of()
        await admin.go_back()

        async with admin.expect_navigation():
            await admin.click("[data-publish] button[type=submit]")
        await admin.wait_for_selector("[data-service-editor][data-state=published]")

        citizen = await place.page("citizen")
        await citizen.goto("/testgemeente")
        await citizen.click("text=Eerste gesprek")
        await citizen.wait_for_selector("text=Heeft u al schuldhulp?")
        assert await violations(citizen) == [], place.state_of()
