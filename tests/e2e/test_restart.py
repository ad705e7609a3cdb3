"""The app process restarts while one citizen waits and another is in a call with the official.

Media is peer to peer, so the call goes on while the server is away; afterwards the same pages come
back on new sockets: the waiting citizen is in the queue again without doing anything (same place),
and the call's pages learn that the other side is the *same page* (so they keep their connection)
and can talk through the server again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.email.dev_sink import DevMailbox
from signalling import protocol
from signalling.peers.probe import ProbePeer, pin_to_loopback
from tests.e2e.parties import Parties, connect_call
from tests.live import LiveServer, prepare_database, server_env, start_server, stop, wait_until_up
from tests.support import free_port

pytestmark = pytest.mark.peer


async def frames_keep_coming(*peers: ProbePeer, over: float = 1.0) -> None:
    before = [p.stats.frames for p in peers]
    await asyncio.sleep(over)
    after = [p.stats.frames for p in peers]
    assert all(b < a for b, a in zip(before, after, strict=True)), (before, after)
    assert all(p.pc is not None and p.pc.connectionState == "connected" for p in peers)


async def test_waiting_and_calls_survive_a_restart_of_the_app(tmp_path: Path) -> None:
    pin_to_loopback()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}"
    service_id = await prepare_database(database_url, desks=2)  # two citizens at the same time
    mailbox = DevMailbox(port=free_port())
    await mailbox.astart()
    port, log = free_port(), tmp_path / "server.log"
    env = server_env(tmp_path, port, database_url, mailbox.port)
    process = start_server(env, port, log)
    base_url = f"http://127.0.0.1:{port}"
    server = LiveServer(base_url, f"ws://127.0.0.1:{port}", process, service_id, mailbox, log)
    people = Parties(server)
    try:
        await wait_until_up(base_url, process, log)
        waiting, waiting_booking = await people.waiting_citizen("wacht@example.nl", "Wim Wachter")
        talking, talking_booking = await people.waiting_citizen("praat@example.nl", "Priya Prater")
        cookie = await people.sign_in()
        appointment_id = await people.appointment_id(talking_booking["reference"])
        await people.admit(appointment_id)
        await talking.expect("state", state="admitted")
        official = await people.call_page(appointment_id)
        await connect_call(official, talking)
        pcs = (official.pc, talking.pc)
        queue_before = await desk_queue(people, cookie, waiting_booking["reference"])

        # The app goes away (a deploy): media still flows, peer to peer.
        stop(process)
        await frames_keep_coming(official, talking)

        server.process = process = start_server(env, port, log)
        await wait_until_up(base_url, process, log)
        await frames_keep_coming(official, talking)

        # The waiting citizen's page reconnects and is simply back in the queue, in the same place.
        assert (await waiting.reconnect())["state"] == "waiting"
        queue_after = await desk_queue(people, cookie, waiting_booking["reference"])
        assert queue_after == queue_before  # same state, same waiting_since: nobody jumped the queue

        # The call's pages come back on new sockets; each learns the other is the same page.
        assert (await official.reconnect())["state"] == "in_call"
        assert (await talking.reconnect())["state"] == "in_call"
        await talking.send({"type": "join-call"})  # what room.js does after every new welcome
        back = await official.expect("peer-joined")
        assert back["page"] == protocol.page_id(str(talking.hello["session"]))  # keep the connection
        await official.reconnect()  # the official's page announces itself when its socket opens
        again = await talking.expect("peer-joined")
        assert again["page"] == protocol.page_id(str(official.hello["session"]))

        # Signalling works again, and the media never stopped on the same connections.
        await official.send({"type": "chat", "text": "Bent u er nog?"})
        assert (await talking.expect("chat"))["text"] == "Bent u er nog?"
        assert (official.pc, talking.pc) == pcs
        await frames_keep_coming(official, talking)
    finally:
        await people.close()
        stop(process)
        await mailbox.astop()


async def desk_queue(people: Parties, cookie: str, reference: str) -> dict[str, object]:
    desk = ProbePeer(f"{people.server.ws_url}/ws/desk", {}, {"Cookie": cookie})
    try:
        await desk.connect()
        queue = await desk.expect("queue")
    finally:
        await desk.close()
    entry = next(a for a in queue["appointments"] if a["reference"] == reference)
    return {"status": entry["status"], "participants": entry["participants"]}
