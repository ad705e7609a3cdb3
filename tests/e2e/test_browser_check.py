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


async def test_on_the_embedded_defaults_the_check_passes_where_a_call_works(
    tmp_path: Path, namespace: Namespace
) -> None:
    # As a newcomer runs `balie run`: no BALIE_ICE_HOST_ADDRESSES. In a loopback-only network the
    # echo peer used to offer no candidate at all (aioice leaves loopback out) and the check said
    # "a video call does not work from this network" after 20 s, while browser calls worked.
    async with site(namespace, tmp_path, env={"BALIE_ICE_HOST_ADDRESSES": ""}) as place:
        page = await place.page("citizen")
        await place.wait_until_up(page)
        await page.goto("/apparaattest")
        await page.wait_for_function("() => window.__balie.network()?.verdict", timeout=45_000)
        result = await page.evaluate("() => window.__balie.network()")
        assert result["state"] == "connected" and result["verdict"] == "ok", result
        assert result["videoBack"] and result["audioBack"], result
        # It said what it was doing on the way, not only "this takes a few seconds".
        assert result["steps"] == ["connecting", "media"], result


async def test_a_check_that_could_not_connect_without_a_relay_does_not_say_calls_fail(
    tmp_path: Path, namespace: Namespace
) -> None:
    async with site(namespace, tmp_path) as place:
        page = await place.page("citizen")
        await place.wait_until_up(page)
        await page.goto("/apparaattest")
        verdicts = await page.evaluate(
            """async () => {
                const { verdict } = await import("/static/js/network-check.js");
                return [
                    verdict({ state: "failed", relayOffered: false }),
                    verdict({ state: "failed", relayOffered: true }),
                    verdict({ state: "busy", relayOffered: false }),
                ];
            }"""
        )
        # Without TURN the test only tried browser -> server; a call goes browser -> browser.
        assert verdicts == ["unknown", "failed", "busy"]
        text = await page.get_attribute("[data-network-check]", "data-msg-unknown")
        assert text and text.startswith("Wij konden uw verbinding niet helemaal testen.")
