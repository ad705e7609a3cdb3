"""A deploy restarts the app node while a citizen waits in Chromium.

The node closes the waiting page's socket with 4503 at the start of its shutdown (SIGTERM), and the
page comes back as soon as the node is up again: after short random waits (0.2 to 1.5 s), not after
a backoff that grew while the node was away, and still waiting in the same place. What the page did
is read from its own reconnect record (``window.__balie.reconnects()``), not from the clock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browsing import book, debug_state, into_waiting_room, mailed_link, site
from tests.e2e.netns import Namespace, loopback_namespace

pytestmark = pytest.mark.browser


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


def waiting_place(database_url: str, email: str) -> tuple[str, str]:
    """The participant's stored state and since when they wait (their place in the queue)."""
    path = database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        state, since = db.execute(
            "SELECT state, waiting_since FROM participant WHERE email = ?", (email,)
        ).fetchone()
    return str(state), str(since)


async def test_the_waiting_page_is_back_at_once_after_the_node_restarts(
    tmp_path: Path, namespace: Namespace
) -> None:
    async with site(namespace, tmp_path) as place:
        citizen = await place.page("citizen")
        await place.wait_until_up(citizen)
        await book(citizen, place.service_id, "Sanne de Boer", "sanne@example.nl")
        link = await mailed_link(citizen, "sanne@example.nl")
        await into_waiting_room(citizen, link)
        await citizen.wait_for_function(
            "() => window.__balie.connection === 'online' && window.__balie.state === 'waiting'",
            timeout=15_000,
        )
        place_before = waiting_place(place.database_url, "sanne@example.nl")
        assert place_before[0] == "waiting"
        welcomes = await citizen.evaluate("() => window.__balie.welcomes")
        assert await citizen.evaluate("() => window.__balie.reconnects()") == []

        place.stop_server()  # SIGTERM, as a deploy does, and wait until the process is gone
        place.start_server()  # the same port and database
        try:
            await citizen.wait_for_function(
                "(n) => window.__balie.welcomes > n && window.__balie.connection === 'online'",
                arg=welcomes,
                timeout=30_000,
            )
        except Exception as exc:
            raise AssertionError(f"the page did not come back{await debug_state(citizen)}") from exc

        reconnects = await citizen.evaluate("() => window.__balie.reconnects()")
        # The node said it was restarting; the page came back after short random waits only, also
        # while the node was still down (those tries ended without a close frame: 1006).
        assert reconnects[0]["code"] == 4503, reconnects
        assert all(r["restart"] and 200 <= r["delayMs"] <= 1500 for r in reconnects), reconnects
        assert {r["code"] for r in reconnects} <= {4503, 1006}, reconnects
        assert await citizen.evaluate("() => [window.__balie.state, window.__balie.view]") == [
            "waiting",
            "waiting",
        ]
        assert waiting_place(place.database_url, "sanne@example.nl") == place_before  # same place
        assert place.console == [] or not any("pageerror" in line for line in place.console), place.console
