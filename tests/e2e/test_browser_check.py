"""The device and network check in Chromium: camera, microphone and a call with the echo peer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browsing import debug_state, site
from tests.e2e.netns import Namespace, loopback_namespace

pytestmark = pytest.mark.browser


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def test_the_check_page_says_everything_works(tmp_path: Path, namespace: Namespace) -> None:
    async with site(namespace, tmp_path) as place:
        page = await place.page("citizen")
        await place.wait_until_up(page)
        await page.goto("/apparaattest")
        try:
            await page.wait_for_function("() => window.__balie.network()?.verdict", timeout=45_000)
        except Exception as exc:
            raise AssertionError(
                f"the check did not finish: {await debug_state(page)}{place.state_of()}"
            ) from exc
        result = await page.evaluate("() => window.__balie.network()")
        assert result["state"] == "connected" and result["path"] == "direct", result
        assert result["videoBack"] and result["audioBack"], result  # our own picture and sound came back
        assert 0 < result["rttMs"] < 1000 and result["verdict"] == "ok", result
        assert (await page.inner_text("[data-network-result]")).startswith("Alles werkt.")
        details = await page.inner_text("[data-network-details]")
        assert "Verbinding: direct." in details and "Reactietijd:" in details
        assert await page.evaluate("() => window.__balie.problem") is None

        # Again on request; the server closed the first echo session, so there is a seat.
        await page.click("button[data-action=run-network-check]")
        await page.wait_for_function("() => window.__balie.network()?.state === 'checking'")
        await page.wait_for_function("() => window.__balie.network()?.verdict === 'ok'", timeout=45_000)
