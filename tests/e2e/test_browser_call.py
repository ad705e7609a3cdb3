"""Two Chromium contexts, fake cameras, a loopback-only network namespace: the whole path by clicking.

The citizen books through the pages, opens the join link from the mail the app sent (read through the
development mailbox), checks camera and microphone and waits; the official signs in (OIDC, through the
development identity provider), admits from the desk and both sides show the other's video with
decoded frames.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.netns import Namespace, loopback_namespace
from tests.live import prepare_database, server_env, start_server, stop
from tests.support import free_port

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
LOCAL_TRACKS_OFF = """() => {
    const stream = document.querySelector('[data-view=call] [data-self-video]').srcObject;
    return stream && stream.getTracks().length > 0 && stream.getTracks().every(t => !t.enabled);
}"""
LOCAL_AUDIO_ON = """() => document.querySelector('[data-view=call] [data-self-video]').srcObject
    .getAudioTracks().every(t => t.enabled)"""
REMOTE_VIDEO_PLAYING = """() => [...document.querySelectorAll('video[data-peer-id]')]
    .some(v => v.videoWidth > 0 && v.readyState >= 2 && v.currentTime > 0)"""


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def sign_in_official(page: Page, subject: str) -> None:
    """/balie/inloggen -> the development provider's page -> pick ``subject`` -> back at the desk."""
    await page.goto("/balie/inloggen")
    await page.click("a[data-action=sign-in]")
    await page.wait_for_url(re.compile(r"/dev/idp/authorize"))
    await page.check(f"input[data-official={subject}]")
    await page.click("button[data-action=sign-in]")
    await page.wait_for_url(re.compile(r"/balie/?$"))


async def wait_for_server(page: Page, base_url: str, log: Path) -> None:
    for _ in range(150):
        try:
            response = await page.goto(f"{base_url}/healthz")
            if response is not None and response.ok:
                return
        except Exception:
            pass
        await page.wait_for_timeout(200)
    raise AssertionError(f"server in the namespace did not come up:\n{log.read_text()[-3000:]}")


async def mailbox_join_link(page: Page, base_url: str, email: str) -> str:
    for _ in range(100):
        await page.goto(f"{base_url}/dev/mailbox/messages.json")
        messages = json.loads(await page.inner_text("body"))
        for message in messages:
            if email in message["to"]:
                link = re.search(r"https?://\S+/j/[A-Za-z0-9_-]+", message["text"])
                assert link, "the email has no join link"
                return link.group(0)
        await page.wait_for_timeout(200)
    raise AssertionError("no confirmation email arrived in the development mailbox")


async def test_book_join_admit_and_see_each_other(tmp_path: Path, namespace: Namespace) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    await prepare_database(database_url)
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
                await _scenario(browser, base_url, log, database_url)
            finally:
                await browser.close()
    finally:
        stop(server)


async def _scenario(browser: Browser, base_url: str, log: Path, database_url: str) -> None:
    citizen_ctx = await browser.new_context(permissions=["camera", "microphone"], base_url=base_url)
    official_ctx = await browser.new_context(permissions=["camera", "microphone"], base_url=base_url)
    citizen, official = await citizen_ctx.new_page(), await official_ctx.new_page()
    await wait_for_server(citizen, base_url, log)

    # Book through the pages.
    await citizen.goto("/")
    await citizen.click("text=Gemeente Testgemeente")
    await citizen.click("a.service-link[data-service=geboorteaangifte]")
    await citizen.click("a.slot >> nth=0")
    await citizen.fill("#name", "Sanne de Boer")
    await citizen.fill("#email", "sanne@example.nl")
    await citizen.check("#consent")
    await citizen.click("button[type=submit]")
    await citizen.wait_for_selector("[data-reference]")
    reference = await citizen.get_attribute("[data-reference]", "data-reference")
    assert reference and reference.startswith("DB-")

    # The link from the email, the Start button, the device check, the waiting room.
    join_link = await mailbox_join_link(citizen, base_url, "sanne@example.nl")
    await citizen.goto(join_link)
    await citizen.click("button[data-action=start]")
    await citizen.wait_for_selector("button[data-action=enter]:visible", timeout=15_000)
    await citizen.click("button[data-action=enter]")
    await citizen.wait_for_selector("[data-view=waiting]:visible", timeout=15_000)

    # The official signs in (through the development identity provider), sees the citizen waiting and admits.
    await sign_in_official(official, "official-testgemeente")
    admit = official.locator("[data-waiting-list] button[data-action=admit]")
    await admit.first.wait_for(timeout=15_000)
    await admit.first.click()
    await official.wait_for_url(re.compile(r"/gesprek$"))

    # Both sides show the other's video with decoded frames.
    for page, who in ((citizen, "citizen"), (official, "official")):
        try:
            await page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=30_000)
        except Exception as exc:
            state = await page.evaluate("() => JSON.stringify(window.__balie ?? null)")
            raise AssertionError(
                f"{who} shows no remote video; page state: {state}\n{log.read_text()[-2000:]}"
            ) from exc

    # Mute and camera off switch the local tracks off (nothing is sent), and the buttons say so.
    await citizen.click("button[data-action=toggle-mic]")
    await citizen.click("button[data-action=toggle-camera]")
    await citizen.wait_for_function(LOCAL_TRACKS_OFF, timeout=5_000)
    assert await citizen.get_attribute("button[data-action=toggle-mic]", "data-off") == "true"
    assert await citizen.get_attribute("[data-view=call] [data-self-view]", "data-camera-off") == "true"
    await citizen.click("button[data-action=toggle-mic]")
    assert await citizen.evaluate(LOCAL_AUDIO_ON)

    # The official hangs up and records the outcome; the citizen's page shows the call has ended.
    await official.click("button[data-action=hang-up]")
    await official.check("#outcome-completed")
    await official.click("button[data-action=save-outcome]")
    await official.wait_for_url(re.compile(r"/balie/?$"))
    await citizen.wait_for_selector("[data-view=ended]:visible", timeout=15_000)
    assert appointment_status(database_url, reference) == "completed"


def appointment_status(database_url: str, reference: str) -> str:
    path = database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        (status,) = db.execute("SELECT status FROM appointment WHERE reference = ?", (reference,)).fetchone()
    return str(status)
