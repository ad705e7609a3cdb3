"""Documents both ways in real browsers, and what is left on the server afterwards.

Two Chromium contexts in the loopback namespace (as tests/e2e/test_browser_call.py): the citizen
uploads a PDF in the waiting room and a photo during the call, the official downloads both and
shares a draft deed, which the citizen downloads; every download is compared by SHA-256. Then the
server's files are searched for the documents' content: the database, the log, the data folder
and the server's temporary folder hold none of it, the store only ciphertext; after the call only
the document kept for the case remains, and after its retention nothing at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.async_api import Browser, Locator, Page, async_playwright

from tests import documents_samples as samples
from tests.e2e.netns import Namespace
from tests.e2e.test_browser_call import (
    CHROMIUM_ARGS,
    REMOTE_VIDEO_PLAYING,
    mailbox_join_link,
    namespace,
    sign_in_official,
    wait_for_server,
)
from tests.live import prepare_database, server_env, start_server, stop
from tests.support import free_port

pytestmark = pytest.mark.browser
__all__ = ["namespace"]  # the fixture, shared with the call test

BIRTH_STATEMENT = samples.pdf()  # carries samples.MARKER
PHOTO = samples.jpeg_with_gps(size=(640, 480))
DEED = samples.pdf("CONCEPT-AKTE-VAN-GEBOORTE-K2")
SECRETS = {
    "the birth statement": samples.MARKER.encode(),
    "the draft deed": b"CONCEPT-AKTE-VAN-GEBOORTE-K2",
    "the photo's camera": b"PhoneMaker",
    "the photo's pixels": PHOTO[-64:],
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_documents_both_ways_and_nothing_left_behind(tmp_path: Path, namespace: Namespace) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    service_id = await prepare_database(database_url)
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = server_env(
        tmp_path,
        port,
        database_url,
        smtp_port=free_port(),
        extra={
            "BALIE_DEV_MAILBOX": "true",
            "BALIE_DOCUMENTS_PURGE_SECONDS": "0.5",
            "TMPDIR": str(server_tmp),
        },
    )
    log = tmp_path / "server.log"
    servers = [start_server(env, port, log, prefix=namespace.prefix())]

    def offline(edit: Callable[[Path], None]) -> None:
        """Stop the server, let ``edit`` change its database file, start it again on the same port.

        The test never opens the database while the server runs: a second process on a live SQLite
        file in WAL mode can crash on the shared memory file (seen here as SIGBUS).
        """
        stop(servers[-1])
        edit(tmp_path / "browser.db")
        servers.append(start_server(env, port, log, prefix=namespace.prefix()))

    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(namespace.chromium), args=CHROMIUM_ARGS
            )
            try:
                await _scenario(browser, base_url, log, tmp_path, service_id, server_tmp, offline)
            finally:
                await browser.close()
    finally:
        stop(servers[-1])
    with sqlite3.connect(tmp_path / "browser.db") as connection:  # the server has stopped
        purged = connection.execute(
            "SELECT details FROM audit_event WHERE action = 'document.purged' ORDER BY created_at"
        ).fetchall()
    assert len(purged) == 3 and any(sha256(BIRTH_STATEMENT) in row[0] for row in purged)
    assert any(sha256(BIRTH_STATEMENT) in row[0] and '"expired"' in row[0] for row in purged)
    assert not any("Geboorteverklaring" in row[0] for row in purged)  # type, size, hash: no file name


async def _scenario(
    browser: Browser,
    base_url: str,
    log: Path,
    data_dir: Path,
    service_id: str,
    server_tmp: Path,
    offline: Callable[[Callable[[Path], None]], None],
) -> None:
    options = {"permissions": ["camera", "microphone"], "base_url": base_url, "locale": "nl-NL"}
    citizen_ctx, official_ctx = await browser.new_context(**options), await browser.new_context(**options)
    citizen, official = await citizen_ctx.new_page(), await official_ctx.new_page()
    await wait_for_server(citizen, base_url, log)
    await book(citizen, service_id, "sanne@example.nl")
    await citizen.goto(await mailbox_join_link(citizen, base_url, "sanne@example.nl"))
    await citizen.click("button[data-action=start]")
    await citizen.click("button[data-action=enter]", timeout=15_000)
    await citizen.wait_for_selector("[data-view=waiting]:visible", timeout=15_000)

    # In the waiting room: the checklist, an upload, and a refusal in plain Dutch.
    panel = citizen.locator("[data-documents]")
    await panel.wait_for(state="visible", timeout=10_000)
    assert "Uw identiteitsbewijs" in await panel.inner_text()  # the service's checklist
    await choose(citizen, "Geboorteverklaring.pdf", "application/pdf", BIRTH_STATEMENT)
    await listed(citizen, "Geboorteverklaring.pdf")
    await choose(citizen, "logo.svg", "image/svg+xml", samples.svg_with_script())
    error = citizen.locator("[data-documents-error]")
    await error.wait_for(state="visible")
    assert "Dat kan alleen met PDF, JPG of PNG" in await error.inner_text()

    # The official admits; the citizen's document is on the call page and downloads intact.
    await sign_in_official(official, "official-testgemeente")
    admit = official.locator("[data-waiting-list] button[data-action=admit]")
    await admit.first.wait_for(timeout=15_000)
    await admit.first.click()
    await official.wait_for_url(re.compile(r"/gesprek$"))
    listing = urlsplit(official.url).path.removesuffix("/gesprek") + "/documenten"
    await listed(official, "Geboorteverklaring.pdf")
    assert sha256(await download(official, "Geboorteverklaring.pdf")) == sha256(BIRTH_STATEMENT)

    # During the call: a photo from the citizen appears live at the desk, without its metadata.
    for page in (citizen, official):
        await page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=30_000)
    await choose(citizen, "IMG_2041.jpg", "image/jpeg", PHOTO)
    announced = await (await listed(official, "IMG_2041.jpg")).get_attribute("data-sha256")
    at_desk = await download(official, "IMG_2041.jpg")
    assert sha256(at_desk) == announced == sha256(await download(citizen, "IMG_2041.jpg"))
    assert not Image.open(io.BytesIO(at_desk)).getexif() and b"PhoneMaker" not in at_desk
    SECRETS["the photo as stored"] = at_desk[-64:]

    # The official shares a draft deed; it appears live for the citizen, who gets the same bytes.
    await choose(official, "Concept akte.pdf", "application/pdf", DEED)
    await listed(citizen, "Concept akte.pdf")
    assert await download(citizen, "Concept akte.pdf") == DEED
    status = citizen.locator("[data-documents-status]")
    assert "Nieuw document: Concept akte.pdf" in await status.inner_text()

    # The citizen sends a wrong photo and takes it back: two clicks (no modal dialog mid-call),
    # and it disappears at the desk too.
    wrong = await choose_and_list(citizen, "Verkeerde foto.png", samples.png_with_text())
    await listed(official, "Verkeerde foto.png")
    remove = wrong.locator("button[data-document-action=remove]")
    await remove.click()
    assert "Klik nog een keer" in await remove.inner_text()
    await remove.click()
    gone = "li:has(a[data-document-download]:text-is('Verkeerde foto.png'))"
    await official.locator(f"[data-documents-list] {gone}").wait_for(state="detached", timeout=10_000)
    await citizen.locator(f"[data-documents-list] {gone}").wait_for(state="detached", timeout=10_000)

    # The official keeps the birth statement for the case; the citizen sees that too.
    keep = official.locator(
        "[data-documents-list] li:has-text('Geboorteverklaring.pdf') button[data-document-action=keep]"
    )
    await keep.click()
    await citizen.locator("li:has-text('Geboorteverklaring.pdf') .documents__kept").wait_for(timeout=10_000)

    # While the call runs: the documents exist only as ciphertext in the store.
    store = data_dir / "documents"
    assert len(files_under(store)) == 3
    assert_nothing_in_clear(data_dir, store, server_tmp)

    # The official ends the call: the unmarked documents go at once, the kept one stays.
    await official.click("button[data-action=hang-up]")
    await official.check("#outcome-completed")
    await official.click("button[data-action=save-outcome]")
    await citizen.wait_for_selector("[data-view=ended]:visible", timeout=15_000)
    await eventually_names(official, listing, ["Geboorteverklaring.pdf"], "unmarked documents purged")
    assert len(files_under(store)) == 1
    assert_nothing_in_clear(data_dir, store, server_tmp)

    # Its retention ends (the clock moved on, here by editing the row while the server is down):
    # back up, the retention worker removes it and nothing is left.
    offline(expire_every_document)
    await wait_for_server(official, base_url, log)
    await eventually_names(official, listing, [], "the kept document purged")
    assert files_under(store) == []
    assert_nothing_in_clear(data_dir, store, server_tmp)


async def book(page: Page, service_id: str, email: str) -> None:
    """Book the first free slot through the JSON API, from inside the namespace (the page's fetch)."""
    status = await page.evaluate(
        """async ([serviceId, email]) => {
            const slots = await (await fetch(`/api/v1/services/${serviceId}/slots`)).json();
            const response = await fetch('/api/v1/appointments', {
                method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({service_id: serviceId, start: slots[0].start,
                                      citizen: {name: 'Sanne de Boer', email}}),
            });
            return response.status;
        }""",
        [service_id, email],
    )
    assert status == 201


async def choose(page: Page, name: str, mime: str, data: bytes) -> None:
    await page.set_input_files(
        "[data-documents-input]", files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


async def choose_and_list(page: Page, name: str, data: bytes) -> Locator:
    await choose(page, name, "image/png", data)
    return await listed(page, name)


async def listed(page: Page, name: str) -> Locator:
    item = page.locator(f"[data-documents-list] li:has(a[data-document-download]:text-is('{name}'))")
    try:
        await item.wait_for(timeout=15_000)
    except Exception as exc:
        error = await page.locator("[data-documents-error]").inner_text()
        raise AssertionError(f"{name} did not appear (error shown: {error!r})") from exc
    return item


async def download(page: Page, name: str) -> bytes:
    async with page.expect_download() as info:
        await page.click(f"[data-documents-list] a[data-document-download]:text-is('{name}')")
    saved = await (await info.value).path()
    return Path(saved).read_bytes()


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def assert_nothing_in_clear(data_dir: Path, store: Path, server_tmp: Path) -> None:
    """No document content in the database, the log or anywhere in the data folder; the store and
    the server's temporary folder hold no clear text either."""
    assert files_under(server_tmp) == [], "the server put files in its temporary folder"
    for _ in range(5):  # SQLite may fold its -wal file into the database while we read: read again
        try:
            contents = {p: p.read_bytes() for p in files_under(data_dir) if p.name != "chromium-in-netns"}
        except FileNotFoundError:
            continue
        break
    else:
        raise AssertionError("the data folder kept changing while it was read")
    for path, content in contents.items():
        for what, needle in SECRETS.items():
            assert needle not in content, f"{what} found in clear in {path.relative_to(data_dir)}"
        if path.is_relative_to(store):
            assert content.startswith(b"BD1"), f"{path.name} in the store is not an encrypted document"


def expire_every_document(db: Path) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE document SET expires_at = '2000-01-01 00:00:00.000000'")


async def document_names(page: Page, listing: str) -> list[str]:
    """The documents the official's page would list (its own fetch, its own session)."""
    body = await page.evaluate(
        "async (url) => await (await fetch(url, {headers: {Accept: 'application/json'}})).json()", listing
    )
    return sorted(item["name"] for item in body["documents"])


async def eventually_names(page: Page, listing: str, names: list[str], what: str) -> None:
    deadline = time.monotonic() + 15
    while (found := await document_names(page, listing)) != names:
        if time.monotonic() > deadline:
            raise AssertionError(f"not within 15s: {what} (still listed: {found})")
        await asyncio.sleep(0.2)
