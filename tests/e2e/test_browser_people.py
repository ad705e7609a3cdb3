"""Three browsers in a call, by clicking: a desk message to the waiting room, chat both ways, an
interpreter invited from the call page (link from the email in the development mailbox) and admitted
on their own, the official's screen shared and back, and a citizen's page reloaded mid-call.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.e2e.browsing import (
    REMOTE_VIDEOS_PLAYING,
    Site,
    book,
    debug_state,
    into_waiting_room,
    mailed_link,
    sign_in,
    site,
)
from tests.e2e.netns import Namespace, loopback_namespace

pytestmark = pytest.mark.browser

SENDING_VIDEO = """() => window.__balie.peers().map(p => p.sendingVideo)"""
CHAT_TEXTS = """(scope) => [...document.querySelectorAll(`[data-chat][data-scope=${scope}] [data-chat-text]`)]
    .map(e => e.textContent)"""


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


async def playing(page: Page, count: int, who: str, place: Site, timeout: float = 30_000) -> None:
    try:
        await page.wait_for_function(REMOTE_VIDEOS_PLAYING, arg=count, timeout=timeout)
    except Exception as exc:
        raise AssertionError(
            f"{who} does not show {count} playing remote videos: {await debug_state(page)}{place.state_of()}"
        ) from exc


async def chat_shows(page: Page, scope: str, text: str) -> None:
    try:
        await page.wait_for_function(
            f"(t) => ({CHAT_TEXTS})('{scope}').includes(t)", arg=text, timeout=10_000
        )
    except Exception as exc:
        shown = await page.evaluate(CHAT_TEXTS, scope)
        raise AssertionError(
            f"{text!r} not in the {scope} chat, which shows {shown}: {await debug_state(page)}"
        ) from exc


async def test_three_people_chat_screen_share_and_a_reload(tmp_path: Path, namespace: Namespace) -> None:
    async with site(namespace, tmp_path) as place:
        citizen, official, interpreter = (
            await place.page("citizen"),
            await place.page("official"),
            await place.page("interpreter"),
        )
        await place.wait_until_up(citizen)
        booked = await book(citizen, place.service_id, "Sanne de Boer", "sanne@example.nl")

        # Waiting room; the desk sends a message there.
        await into_waiting_room(citizen, await mailed_link(citizen, "sanne@example.nl"))
        await sign_in(official)
        await official.wait_for_selector(
            "[data-desk-messages] select[data-message-to] option", state="attached"
        )
        await official.click("[data-desk-messages] button[data-chat-phrase]")  # "Ik ben 5 minuten later."
        await chat_shows(citizen, "desk", "Ik ben 5 minuten later.")
        await chat_shows(official, "desk", "Ik ben 5 minuten later.")  # the desk sees what it sent

        # Admitted: both see each other; chat both ways.
        await official.click("[data-waiting-list] button[data-action=admit]")
        await official.wait_for_url(re.compile(r"/gesprek$"))
        await playing(citizen, 1, "citizen", place)
        await playing(official, 1, "official", place)
        await citizen.fill("[data-chat][data-scope=call] textarea", "Goedemiddag, hoort u mij?")
        await citizen.press("[data-chat][data-scope=call] textarea", "Enter")
        await chat_shows(official, "call", "Goedemiddag, hoort u mij?")
        await official.fill("[data-chat][data-scope=call] textarea", "Ja, heel goed.")
        await official.click("[data-chat][data-scope=call] button[data-action=send-chat]")
        await chat_shows(citizen, "call", "Ja, heel goed.")
        await chat_shows(citizen, "call", "Goedemiddag, hoort u mij?")  # its own line came back too

        # The official invites an interpreter from the call page; the link comes by email.
        await official.fill("#invite-name", "Yusuf Demir")
        await official.fill("#invite-email", "tolk@example.nl")
        await official.check("#invite-role-interpreter")
        await official.click("[data-invite-form] button[data-action=invite]")
        await official.wait_for_selector("[data-invite-status]:has-text('tolk@example.nl')")
        assert official.url.endswith("/gesprek")  # the call page stayed put
        link = await mailed_link(interpreter, "tolk@example.nl", "Uitnodiging")
        await into_waiting_room(interpreter, link)

        # Waiting on their own; the official lets only the interpreter in from the call page.
        admit = official.locator("[data-call-people] [data-state=waiting] button[data-action=admit-one]")
        await admit.wait_for(timeout=15_000)
        await admit.click()
        for page, who in ((official, "official"), (citizen, "citizen"), (interpreter, "interpreter")):
            await playing(page, 2, who, place)  # a mesh of three: everyone sees the two others
        assert await interpreter.evaluate(CHAT_TEXTS, "call") == []  # no chat history: nothing is stored

        # Screen sharing replaces the camera on every connection, and the camera comes back after.
        camera = await official.evaluate(SENDING_VIDEO)
        await official.click("button[data-action=share-screen]")
        await official.wait_for_function(f"() => ({SENDING_VIDEO})().every(l => l && l.startsWith('screen'))")
        assert await official.evaluate("() => window.__balie.sharingScreen")
        shared = await official.evaluate(SENDING_VIDEO)
        assert len(shared) == 2 and all(label and label != camera[0] for label in shared), (camera, shared)
        assert all(label.startswith("screen") for label in shared), shared
        await playing(citizen, 2, "citizen while the official shares", place)
        await official.click("button[data-action=share-screen]")
        await official.wait_for_function(
            f"(c) => JSON.stringify(({SENDING_VIDEO})()) === JSON.stringify(c)", arg=camera
        )
        assert not await official.evaluate("() => window.__balie.sharingScreen")

        # The citizen reloads mid-call: a new page, new connections, the same call.
        await citizen.reload()
        await playing(citizen, 2, "citizen after a reload", place)
        for page in (official, interpreter):
            await page.wait_for_function(
                "(id) => window.__balie.peers().some(p => p.id === id && p.connectionState === 'connected'"
                " && p.videoWidth > 0)",
                arg=await citizen.evaluate("() => window.__balie.you.id"),
                timeout=30_000,
            )
        await citizen.fill("[data-chat][data-scope=call] textarea", "Daar ben ik weer.")
        await citizen.press("[data-chat][data-scope=call] textarea", "Enter")
        await chat_shows(interpreter, "call", "Daar ben ik weer.")

        # The official withdraws the interpreter's invitation (two clicks): that page closes for good.
        revoke = official.locator(
            "[data-call-people] [data-participant-id]:has-text('Yusuf Demir') button[data-action=revoke]"
        )
        await revoke.click()
        await revoke.click()
        await interpreter.wait_for_selector("[data-view=fatal]:visible", timeout=15_000)
        assert "Deze link werkt niet (meer)" in await interpreter.inner_text("[data-fatal-text]")
        await official.wait_for_function("() => window.__balie.peers().length === 1", timeout=15_000)
        await official.wait_for_function(
            "() => !window.__balie.participants().some(p => p.name === 'Yusuf Demir')", timeout=15_000
        )

        # The official ends the call; nothing of the chat is in the database or the server's log.
        await official.click("button[data-action=hang-up]")
        await official.check("#outcome-completed")
        await official.click("button[data-action=save-outcome]")
        await citizen.wait_for_selector("[data-view=ended]:visible", timeout=15_000)
        assert status_of(place.database_url, booked["reference"]) == "completed"
        stored = Path(place.database_url.removeprefix("sqlite+aiosqlite:///"))
        for path in [*stored.parent.glob(stored.name + "*"), place.log]:
            data = path.read_bytes()
            for line in ("hoort u mij", "heel goed", "Daar ben ik weer", "5 minuten later"):
                assert line.encode() not in data, f"{line!r} found in {path.name}"
        assert not [line for line in place.console if "pageerror" in line], place.console


def status_of(database_url: str, reference: str) -> str:
    with sqlite3.connect(database_url.removeprefix("sqlite+aiosqlite:///")) as db:
        (status,) = db.execute("SELECT status FROM appointment WHERE reference = ?", (reference,)).fetchone()
    return str(status)


CREATED = """() => window.__balie.events().filter(e => e.kind === 'created').length"""


async def test_a_restart_of_the_app_mid_call(tmp_path: Path, namespace: Namespace) -> None:
    """Both pages say "Verbinding herstellen..." while the app is away, the call's media goes on,
    and afterwards the same connections carry on with signalling back (no new connection)."""
    async with site(namespace, tmp_path, desks=2) as place:
        citizen, official, waiting = (
            await place.page("citizen"),
            await place.page("official"),
            await place.page("waiting"),
        )
        await place.wait_until_up(citizen)
        await book(citizen, place.service_id, "Sanne de Boer", "sanne@example.nl")
        await into_waiting_room(citizen, await mailed_link(citizen, "sanne@example.nl"))
        await book(waiting, place.service_id, "Willem Wachter", "willem@example.nl")
        await into_waiting_room(waiting, await mailed_link(waiting, "willem@example.nl"))
        await sign_in(official)
        await official.click(
            "[data-waiting-list] [data-appointment-id]:has-text('Sanne') button[data-action=admit]"
        )
        await official.wait_for_url(re.compile(r"/gesprek$"))
        await playing(citizen, 1, "citizen", place)
        await playing(official, 1, "official", place)
        created = (await citizen.evaluate(CREATED), await official.evaluate(CREATED))

        place.stop_server()
        for page in (citizen, official, waiting):
            await page.wait_for_selector(
                "[data-connection-status]:has-text('Verbinding herstellen...')", timeout=15_000
            )
        frames = await citizen.evaluate("() => document.querySelector('video[data-peer-id]').currentTime")
        await citizen.wait_for_timeout(1000)
        assert (
            await citizen.evaluate("() => document.querySelector('video[data-peer-id]').currentTime") > frames
        )

        place.start_server()
        for page, who in ((citizen, "citizen"), (official, "official")):
            try:
                await page.wait_for_function("() => window.__balie.connection === 'online'", timeout=40_000)
            except Exception as exc:
                raise AssertionError(
                    f"{who} did not come back: {await debug_state(page)}{place.state_of()}"
                ) from exc
        await citizen.wait_for_selector("[data-connection-status]:empty", state="attached")

        # Signalling is back: chat goes through, and the pages kept the connections they had.
        await official.fill("[data-chat][data-scope=call] textarea", "Daar zijn we weer.")
        await official.press("[data-chat][data-scope=call] textarea", "Enter")
        await chat_shows(citizen, "call", "Daar zijn we weer.")
        assert (await citizen.evaluate(CREATED), await official.evaluate(CREATED)) == created
        await playing(citizen, 1, "citizen after the restart", place)
        for page in (citizen, official):
            (peer,) = await page.evaluate("() => window.__balie.peers()")
            assert peer["connectionState"] == "connected", peer

        # The citizen who waited is still waiting, and the desk lists them, without anyone doing a thing.
        await waiting.wait_for_function("() => window.__balie.connection === 'online'", timeout=40_000)
        assert await waiting.evaluate("() => [window.__balie.state, window.__balie.view]") == [
            "waiting",
            "waiting",
        ]
        await official.goto("/balie")
        await official.wait_for_selector("[data-waiting-list] :text('Willem Wachter')", timeout=15_000)
