"""DigiD and staff sign-in in a real browser, against the development identity provider.

The service requires DigiD Midden: the citizen logs in with DigiD before the waiting room; the
official signs in, sees the masked BSN, level and time on the desk before admitting; during the call
the official asks for DigiD again ("Vraag om DigiD"), the citizen's page shows "Identificeer u nu met
DigiD", the citizen goes to DigiD and comes back, and the call comes back on both sides.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.netns import Namespace, loopback_namespace
from tests.e2e.test_browser_call import (
    CHROMIUM_ARGS,
    REMOTE_VIDEO_PLAYING,
    mailbox_join_link,
    sign_in_official,
    wait_for_server,
)
from tests.live import prepare_database, server_env, start_server, stop
from tests.support import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def test_digid_before_the_waiting_room_and_during_the_call(
    tmp_path: Path, namespace: Namespace
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    await prepare_database(database_url)
    with sqlite3.connect(database_url.removeprefix("sqlite+aiosqlite:///")) as db:
        db.execute("UPDATE service SET required_loa = 'midden'")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = server_env(tmp_path, port, database_url, smtp_port=free_port(), extra={"BALIE_DEV_MAILBOX": "true"})
    log = tmp_path / "server.log"
    server = start_server(env, port, log, prefix=namespace.prefix())
    try:
        async with async_playwright() as playwright:
            browser: Browser = await playwright.chromium.launch(
                executable_path=str(namespace.chromium), args=CHROMIUM_ARGS
            )
            try:
                await _scenario(browser, base_url, log)
            finally:
                await browser.close()
    finally:
        stop(server)


async def _video_both_ways(citizen: Page, official: Page, log: Path, when: str) -> None:
    for page, who in ((citizen, "citizen"), (official, "official")):
        try:
            await page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=30_000)
        except Exception as exc:
            state = await page.evaluate("() => JSON.stringify(window.__balie ?? null)")
            raise AssertionError(
                f"{when}: {who} shows no remote video; {state}\n{log.read_text()[-2000:]}"
            ) from exc


async def _digid(page: Page, bsn: str) -> None:
    """At the development provider: pick the test person; the level the app asked for is preselected."""
    await page.wait_for_url(re.compile(r"/dev/idp/authorize"))
    assert await page.is_checked("#level-midden"), "the app did not ask for DigiD Midden"
    await page.check(f"input[value='{bsn}']")
    await page.click("button[data-action=sign-in]")


async def _scenario(browser: Browser, base_url: str, log: Path) -> None:
    citizen_ctx = await browser.new_context(permissions=["camera", "microphone"], base_url=base_url)
    official_ctx = await browser.new_context(permissions=["camera", "microphone"], base_url=base_url)
    citizen, official = await citizen_ctx.new_page(), await official_ctx.new_page()
    await wait_for_server(citizen, base_url, log)

    await citizen.goto("/")
    await citizen.click("text=Gemeente Testgemeente")
    await citizen.click("a.service-link[data-service=geboorteaangifte]")
    await citizen.click("a.slot >> nth=0")
    await citizen.fill("#name", "Sanne de Boer")
    await citizen.fill("#email", "sanne@example.nl")
    await citizen.check("#consent")
    await citizen.click("button[type=submit]")
    await citizen.wait_for_selector("[data-reference]")

    # DigiD first: no Start button until the citizen has logged in at the required level.
    await citizen.goto(await mailbox_join_link(citizen, base_url, "sanne@example.nl"))
    assert await citizen.locator("button[data-action=start]").count() == 0
    await citizen.click("a[data-action=digid]")
    await _digid(citizen, "999993653")
    await citizen.wait_for_selector("[data-digid-done]")
    await citizen.click("button[data-action=start]")
    await citizen.wait_for_selector("button[data-action=enter]:visible", timeout=15_000)
    await citizen.click("button[data-action=enter]")
    await citizen.wait_for_selector("[data-view=waiting]:visible", timeout=15_000)

    # The official sees who is waiting, identified: masked BSN and level, before admitting.
    await sign_in_official(official, "official-testgemeente")
    badge = official.locator("[data-waiting-list] [data-field=identity]")
    await badge.first.wait_for(timeout=15_000)
    text = await badge.first.inner_text()
    assert (
        "*****3653" in text and "DigiD Midd" in text
    )  # Midden, or Middle in English and "999993653" not in await official.content()
    await official.click("[data-waiting-list] button[data-action=admit]")
    await official.wait_for_url(re.compile(r"/gesprek$"))
    await _video_both_ways(citizen, official, log, "after admission")

    # During the call the official asks for DigiD; the citizen goes there and comes back to the call.
    await official.click("[data-identity-panel] button[data-action=ask-identity]")
    await citizen.wait_for_selector("[data-identify-request]:visible", timeout=15_000)
    await citizen.click("[data-identify-request] a[data-action=identify]")
    await _digid(citizen, "999993653")
    await citizen.wait_for_url(re.compile(r"/wachtkamer$"))
    await citizen.wait_for_selector("[data-view=call]:visible", timeout=15_000)
    assert await citizen.locator("[data-identify-request]").is_hidden()
    await _video_both_ways(citizen, official, log, "after DigiD in the call")
    await official.wait_for_function(
        "() => document.querySelector('[data-identity-panel]')?.textContent.includes('*****3653')",
        timeout=15_000,
    )
