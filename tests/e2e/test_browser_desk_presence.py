"""The desk in Chromium: a waiting citizen who closes the page stops counting as waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browsing import book, into_waiting_room, mailed_link, sign_in, site
from tests.e2e.netns import Namespace, loopback_namespace

pytestmark = pytest.mark.browser


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def test_a_citizen_who_closed_the_page_is_shown_as_gone_and_back(
    tmp_path: Path, namespace: Namespace
) -> None:
    async with site(namespace, tmp_path) as place:
        citizen, official = await place.page("citizen"), await place.page("official")
        await place.wait_until_up(citizen)
        await book(citizen, place.service_id, "Sanne de Boer", "sanne@example.nl")
        link = await mailed_link(citizen, "sanne@example.nl")
        await into_waiting_room(citizen, link)
        await sign_in(official)
        await official.wait_for_function("() => window.__balie?.waitingCount === 1", timeout=15_000)
        assert await official.title() == f"(1) {await official.evaluate('document.title.slice(4)')}"

        await citizen.goto("about:blank")  # the citizen closes the tab (or loses the page)
        await official.wait_for_function("() => window.__balie?.awayCount === 1", timeout=15_000)
        item = official.locator("[data-waiting-list] [data-appointment-id]")
        assert "even weg" in await item.inner_text()  # within the grace: maybe reconnecting
        await official.evaluate(
            "() => { document.querySelector('[data-desk]').dataset.awayGraceSeconds = '0'; }"
        )
        await official.evaluate("() => window.__balie.tick()")  # the grace ran out
        assert "niet meer verbonden sinds" in await item.inner_text()
        assert await official.evaluate("() => window.__balie.waitingCount") == 0
        assert not (await official.title()).startswith("(")  # the tab no longer counts them

        await citizen.goto(link)  # back: the place was kept, and the desk sees them
        await citizen.click("button[data-action=start]")
        await citizen.wait_for_selector("[data-view=waiting]:visible", timeout=15_000)
        await official.wait_for_function("() => window.__balie?.waitingCount === 1", timeout=15_000)
        assert "wacht sinds" in await item.inner_text()
