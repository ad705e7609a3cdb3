"""The citizen's steps in Chromium: "Naar de wachtkamer" waits for the camera and microphone (or the
choice to go on without), and what the waiting room said does not stay on screen in the call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests import documents_samples as samples
from tests.e2e.axe import violations
from tests.e2e.browsing import Site, book, debug_state, into_waiting_room, mailed_link, sign_in, site
from tests.e2e.netns import Namespace, loopback_namespace

pytestmark = pytest.mark.browser

# getUserMedia waits until the test says so: the camera "is not found yet".
HELD_MEDIA = """(() => {
    const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    window.__releaseMedia = () => release();
    navigator.mediaDevices.getUserMedia = async (constraints) => {
        await gate;
        return original(constraints);
    };
})();"""
# No camera at all: every request with video fails as on a computer without one; sound works.
NO_CAMERA = """(() => {
    const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
        if (constraints && constraints.video) {
            throw new DOMException("Requested device not found", "NotFoundError");
        }
        return original(constraints);
    };
})();"""
ENTER = "[data-view=check] button[data-action=enter]"
CONTINUE = "[data-view=check] button[data-action=continue-without]"


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def to_the_check(place: Site, page: Page, email: str) -> None:
    await place.wait_until_up(page)
    await book(page, place.service_id, "Sanne de Boer", email)
    await page.goto(await mailed_link(page, email))
    await page.click("button[data-action=start]")
    await page.wait_for_selector("[data-view=check]:visible", timeout=15_000)


async def test_the_waiting_room_opens_once_the_camera_is_found(tmp_path: Path, namespace: Namespace) -> None:
    async with site(namespace, tmp_path) as place:
        page = await place.page("citizen")
        await page.add_init_script(HELD_MEDIA)
        await to_the_check(place, page, "sanne@example.nl")

        # Still looking: the button cannot be pressed, and says why (for screen readers too).
        enter = page.locator(ENTER)
        await expect(enter).to_be_disabled()
        status = page.locator("[data-enter-status]")
        await expect(status).to_have_text("Camera en microfoon zoeken...")
        assert await status.get_attribute("role") == "status"
        assert await enter.get_attribute("aria-describedby") == await status.get_attribute("id")
        await expect(page.locator(CONTINUE)).to_be_hidden()
        await enter.click(force=True)  # as an impatient click would: nothing happens
        await page.wait_for_timeout(500)
        assert await page.evaluate("() => window.__balie.state") == "invited"
        assert await violations(page) == []

        # Found: the way into the waiting room opens.
        await page.evaluate("() => window.__releaseMedia()")
        await expect(enter).to_be_enabled(timeout=15_000)
        await expect(status).to_have_text("")
        await enter.click()
        try:
            await page.wait_for_selector("[data-view=waiting]:visible", timeout=15_000)
        except Exception as exc:
            raise AssertionError(
                f"not in the waiting room: {await debug_state(page)}{place.state_of()}"
            ) from exc


async def test_without_a_camera_the_citizen_can_go_on_without(tmp_path: Path, namespace: Namespace) -> None:
    async with site(namespace, tmp_path) as place:
        page = await place.page("citizen")
        await page.add_init_script(NO_CAMERA)
        await to_the_check(place, page, "sanne@example.nl")

        problem = page.locator("[data-view=check] [data-check-problem]")
        await expect(problem).to_be_visible(timeout=15_000)
        assert "Wij kunnen uw camera niet gebruiken" in await problem.inner_text()
        enter = page.locator(ENTER)
        await expect(enter).to_be_disabled()
        go_on = page.locator(CONTINUE)
        await expect(go_on).to_be_visible()
        await expect(go_on).to_have_text("Toch doorgaan zonder camera")
        assert await violations(page) == []

        await go_on.click()
        await expect(enter).to_be_enabled()
        await expect(enter).to_be_focused()
        await expect(go_on).to_be_hidden()
        await enter.click()
        await page.wait_for_selector("[data-view=waiting]:visible", timeout=15_000)


# The documents panel's rule, with its clock given: read notices go, fresh ones and uploads stay.
NOTICE_RULE = """async () => {
    const { DocumentsPanel } = await import("/static/js/documents.js");
    const root = document.createElement("section");
    root.innerHTML = '<p data-documents-status></p><p data-documents-error hidden></p>';
    const panel = new DocumentsPanel(root, null);
    const shown = () => [root.querySelector("[data-documents-status]").textContent,
                         root.querySelector("[data-documents-error]").textContent];
    const results = {};
    panel.announce("gedeeld"); panel.showError("te groot");
    panel.clearSeenNotices(Date.now() + 1000);
    results.fresh = shown();
    panel.clearSeenNotices(Date.now() + 6000);
    results.read = shown();
    panel.busy = 1; panel.announce("wordt verstuurd");
    panel.clearSeenNotices(Date.now() + 6000);
    results.uploading = shown();
    return results;
}"""


async def test_the_waiting_rooms_notices_do_not_stay_in_the_call(
    tmp_path: Path, namespace: Namespace
) -> None:
    async with site(namespace, tmp_path, env={"BALIE_DOCUMENTS_MAX_BYTES": "100000"}) as place:
        citizen, official = await place.page("citizen"), await place.page("official")
        await place.wait_until_up(citizen)
        await book(citizen, place.service_id, "Sanne de Boer", "sanne@example.nl")
        await into_waiting_room(citizen, await mailed_link(citizen, "sanne@example.nl"))

        # In the waiting room: a document shared, then one too large.
        panel = citizen.locator("[data-documents]")
        await panel.wait_for(state="visible", timeout=10_000)
        status, error = citizen.locator("[data-documents-status]"), citizen.locator("[data-documents-error]")
        await citizen.set_input_files(
            "[data-documents-input]",
            files=[
                {"name": "Geboorteverklaring.pdf", "mimeType": "application/pdf", "buffer": samples.pdf()}
            ],
        )
        await expect(status).to_have_text("Geboorteverklaring.pdf is gedeeld.", timeout=15_000)
        big = b"%PDF-1.4\n" + b"0" * 200_000
        await citizen.set_input_files(
            "[data-documents-input]",
            files=[{"name": "Scan.pdf", "mimeType": "application/pdf", "buffer": big}],
        )
        await expect(error).to_contain_text("Dit bestand is te groot")
        await expect(status).to_have_text("Geboorteverklaring.pdf is gedeeld.")
        await citizen.wait_for_timeout(5500)  # on screen long enough to be read

        # The official admits: the call shows the documents, not the old notices.
        try:
            await sign_in(official)
        except Exception as exc:
            main = await official.inner_text("main")
            raise AssertionError(f"no desk at {official.url}: {main[:800]}{place.state_of()}") from exc
        await official.click("[data-waiting-list] button[data-action=admit]", timeout=15_000)
        await official.wait_for_url(re.compile(r"/gesprek$"))
        await citizen.wait_for_selector("[data-view=call]:visible", timeout=15_000)
        await expect(error).to_be_hidden()
        await expect(status).to_have_text("")
        await expect(panel).to_be_visible()
        await expect(panel.locator("[data-documents-list] a[data-document-download]")).to_have_text(
            ["Geboorteverklaring.pdf"]
        )
        assert await violations(citizen) == []

        # What was not read yet stays: a notice that just came, and an upload on its way.
        rule = await citizen.evaluate(NOTICE_RULE)
        assert rule == {
            "fresh": ["gedeeld", "te groot"],
            "read": ["", ""],
            "uploading": ["wordt verstuurd", ""],
        }, rule
