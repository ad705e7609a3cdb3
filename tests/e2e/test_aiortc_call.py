"""An aiortc citizen and an aiortc official go the whole way through a real server on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from signalling.peers.probe import ProbePeer, pin_to_loopback
from tests.live import (
    book_first_slot,
    cookie_header,
    join_token_from,
    live_server,
    post_form,
    sign_in_official,
    wait_for_mail,
)

pytestmark = pytest.mark.peer


async def test_book_mail_join_admit_and_talk(tmp_path: Path) -> None:
    pin_to_loopback()
    async with live_server(tmp_path) as server:
        assert server.mailbox is not None
        citizen_http = httpx.AsyncClient(base_url=server.base_url)
        official_http = httpx.AsyncClient(base_url=server.base_url)
        citizen = official = desk = None
        try:
            booked = await book_first_slot(citizen_http, server.service_id, "sanne@example.nl")
            mail = await wait_for_mail(server.mailbox, "sanne@example.nl")
            assert booked["reference"] in mail.subject
            token = join_token_from(mail)

            # The link opens a page; only "Start" (a POST) leads on to the waiting room.
            started = await post_form(citizen_http, f"/j/{token}", f"/j/{token}/start")
            assert started.status_code == 303 and started.headers["location"].endswith("/wachtkamer")

            citizen = ProbePeer(f"{server.ws_url}/ws/citizen", {"token": token})
            welcome = await citizen.connect()
            assert welcome["state"] == "invited"
            assert welcome["appointment"]["reference"] == booked["reference"]
            await citizen.send({"type": "enter"})
            await citizen.expect("state", state="waiting")

            await sign_in_official(official_http, "official-testgemeente")
            desk = ProbePeer(f"{server.ws_url}/ws/desk", {}, headers={"Cookie": cookie_header(official_http)})
            await desk.connect()
            queue = await desk.expect("queue")
            waiting = [a for a in queue["appointments"] if a["reference"] == booked["reference"]]
            assert waiting and waiting[0]["status"] == "waiting"
            appointment_id = waiting[0]["id"]

            admitted = await post_form(
                official_http, "/balie/", f"/balie/afspraken/{appointment_id}/toelaten"
            )
            assert admitted.status_code == 303, admitted.text
            await citizen.expect("state", state="admitted")

            official = ProbePeer(
                f"{server.ws_url}/ws/call/{appointment_id}",
                {},
                headers={"Cookie": cookie_header(official_http)},
            )
            await official.connect()
            citizen.new_connection()  # ready to answer
            await citizen.send({"type": "join-call"})
            joined = await official.expect("peer-joined")
            await official.offer_to(joined["peer"]["id"])

            for side, name in ((official, "official"), (citizen, "citizen")):
                try:
                    await asyncio.wait_for(side.stats.connected.wait(), 20)
                    await asyncio.wait_for(side.stats.first_frame.wait(), 20)
                except TimeoutError:
                    raise AssertionError(
                        f"{name} did not connect / get a frame: ICE pinned to 127.0.0.1?"
                    ) from None
            assert citizen.stats.frame_size and citizen.stats.frame_size[0] > 0

            await asyncio.wait_for(_channel_open(official), 10)
            assert official.channel is not None
            official.channel.send("Goedemiddag, kunt u mij zien?")
            await asyncio.wait_for(citizen.stats.message_received.wait(), 10)
            assert citizen.stats.messages == ["Goedemiddag, kunt u mij zien?"]

            ended = await post_form(
                official_http,
                f"/balie/afspraken/{appointment_id}/gesprek",
                f"/balie/afspraken/{appointment_id}/afronden",
                {"outcome": "completed"},
            )
            assert ended.status_code == 303
            await citizen.expect("ended")
        finally:
            for peer in (citizen, official, desk):
                if peer is not None:
                    await peer.close()
            await citizen_http.aclose()
            await official_http.aclose()


async def _channel_open(peer: ProbePeer) -> None:
    while peer.channel is None or peer.channel.readyState != "open":
        await asyncio.sleep(0.05)
