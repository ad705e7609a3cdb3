"""A node that shuts down (SIGTERM: a deploy, a restart) tells its pages to come back at once.

``balie run`` closes every open signalling socket with 4503 ("server restarting") at the start of
its shutdown, before uvicorn waits for the connections to end (which would close them with 1012
and leave each page's backoff to grow while the node goes down). The pages act on 4503 without
backoff (web/static/js/signalling.js; the browser side is tests/e2e/test_browser_restart.py).
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import httpx
import websockets

from tests.integration.signalling_support import Peer
from tests.live import book_first_slot, join_token_from, live_server, post_form, wait_for_mail


async def test_a_node_that_shuts_down_closes_its_sockets_with_4503(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        assert server.mailbox is not None
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            await book_first_slot(http, server.service_id, "wacht@example.nl", "Wim Wachter")
            token = join_token_from(await wait_for_mail(server.mailbox, "wacht@example.nl"))
            started = await post_form(http, f"/j/{token}", f"/j/{token}/start")
            assert started.status_code == 303, started.text
        host = server.base_url.removeprefix("http://")
        waiting = await Peer.open(host, "/ws/citizen", {"token": token, "session": secrets.token_hex(8)})
        await waiting.enter()
        unsaid = await Peer.open(host, "/ws/citizen", None)  # open, and no hello yet

        server.process.send_signal(signal.SIGTERM)
        assert await waiting.closed_with() == 4503
        assert await unsaid.closed_with() == 4503
        for peer in (waiting, unsaid):
            assert peer.ws.close_reason == "restarting"
        # The shutdown ends (uvicorn raises the signal again once it is done).
        assert await asyncio.to_thread(server.process.wait, 20) in (0, -signal.SIGTERM)
        # Nothing listens any more: a page that comes back finds the next node (or this one, restarted).
        try:
            await websockets.connect(f"ws://{host}/ws/citizen", open_timeout=2)
        except OSError:
            pass
        else:
            raise AssertionError("the stopped node still accepts sockets")
