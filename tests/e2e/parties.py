"""The people of one appointment, driven like the pages drive a real server: book, mail, wait, admit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from signalling.peers.probe import ProbePeer
from tests.live import (
    LiveServer,
    book_first_slot,
    cookie_header,
    join_token_from,
    post_form,
    sign_in_official,
    wait_for_mail,
)

OFFICIAL_SUBJECT = "official-testgemeente"


@dataclass
class Parties:
    server: LiveServer
    relay_only: bool = False
    official_http: httpx.AsyncClient = field(init=False)
    peers: list[ProbePeer] = field(default_factory=list)
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.official_http = self.http()

    def http(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.server.base_url)
        self.clients.append(client)
        return client

    def peer(self, path: str, hello: dict[str, Any], headers: dict[str, str] | None = None) -> ProbePeer:
        peer = ProbePeer(f"{self.server.ws_url}{path}", hello, headers, relay_only=self.relay_only)
        self.peers.append(peer)
        return peer

    async def waiting_citizen(
        self, email: str, name: str = "Sanne de Boer"
    ) -> tuple[ProbePeer, dict[str, Any]]:
        """Book a slot, read the join link from the mail, press Start and enter the waiting room."""
        assert self.server.mailbox is not None
        http = self.http()
        booked = await book_first_slot(http, self.server.service_id, email, name)
        token = join_token_from(await wait_for_mail(self.server.mailbox, email))
        started = await post_form(http, f"/j/{token}", f"/j/{token}/start")
        assert started.status_code == 303, started.text
        citizen = self.peer("/ws/citizen", {"token": token})
        await citizen.connect()
        await citizen.send({"type": "enter"})
        await citizen.expect("state", state="waiting")
        return citizen, booked

    async def sign_in(self) -> str:
        await sign_in_official(self.official_http, OFFICIAL_SUBJECT)
        return cookie_header(self.official_http)

    async def appointment_id(self, reference: str) -> str:
        desk = self.peer("/ws/desk", {}, {"Cookie": cookie_header(self.official_http)})
        await desk.connect()
        queue = await desk.expect("queue")
        await desk.close()
        self.peers.remove(desk)
        return str(next(a["id"] for a in queue["appointments"] if a["reference"] == reference))

    async def admit(self, appointment_id: str, participant_id: str | None = None) -> None:
        data = {"participant_id": participant_id} if participant_id else {}
        response = await post_form(
            self.official_http, "/balie/", f"/balie/afspraken/{appointment_id}/toelaten", data
        )
        assert response.status_code == 303, response.text

    async def call_page(self, appointment_id: str) -> ProbePeer:
        official = self.peer(f"/ws/call/{appointment_id}", {}, {"Cookie": cookie_header(self.official_http)})
        await official.connect()
        return official

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()
        for client in self.clients:
            await client.aclose()


@asynccontextmanager
async def parties(server: LiveServer, *, relay_only: bool = False) -> AsyncIterator[Parties]:
    people = Parties(server, relay_only=relay_only)
    try:
        yield people
    finally:
        await people.close()


async def connect_call(official: ProbePeer, citizen: ProbePeer, within: float = 20) -> None:
    """The citizen's page joins the call and the official offers: both connected with a frame."""
    citizen.new_connection()  # ready to answer
    await citizen.send({"type": "join-call"})
    joined = await official.expect("peer-joined")
    await official.offer_to(joined["peer"]["id"])
    for side, name in ((official, "official"), (citizen, "citizen")):
        try:
            await asyncio.wait_for(side.stats.connected.wait(), within)
            await asyncio.wait_for(side.stats.first_frame.wait(), within)
        except TimeoutError:
            raise AssertionError(f"{name} did not connect / get a frame within {within}s") from None
