"""Benchmark: from "Toelaten" to both peers connected with a video frame, through the real server.

Baseline, measured in the same run: a bare aiortc pair exchanging SDP in-process (no server, no
signalling), from createOffer to connected with a frame. The ratio shows what the product's path
(HTTP admit, database, channels, WebSocket relay) adds on top of WebRTC itself.

    python -m bench.admit_to_media --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from aiortc import RTCPeerConnection
from aiortc.mediastreams import VideoStreamTrack

from signalling.peers.probe import ProbePeer, pin_to_loopback, rtc_configuration
from tests.live import (
    book_first_slot,
    cookie_header,
    join_token_from,
    live_server,
    post_form,
    sign_in_official,
    wait_for_mail,
)


async def bare_pair() -> float:
    """createOffer -> connected + first frame, two aiortc peers wired directly."""
    a, b = RTCPeerConnection(rtc_configuration([])), RTCPeerConnection(rtc_configuration([]))
    a.addTrack(VideoStreamTrack())
    got_frame = asyncio.Event()
    tasks: set[asyncio.Future[None]] = set()

    @b.on("track")
    def _track(track: object) -> None:
        async def first() -> None:
            await track.recv()  # type: ignore[attr-defined]
            got_frame.set()

        tasks.add(asyncio.ensure_future(first()))

    started = time.perf_counter()
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await got_frame.wait()
    while a.connectionState != "connected" or b.connectionState != "connected":
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    await a.close()
    await b.close()
    return elapsed


async def one_call(server: object, index: int) -> float:
    base, ws = server.base_url, server.ws_url  # type: ignore[attr-defined]
    email = f"bench{index}@example.nl"
    async with (
        httpx.AsyncClient(base_url=base) as citizen_http,
        httpx.AsyncClient(base_url=base) as official_http,
    ):
        await book_first_slot(citizen_http, server.service_id, email)  # type: ignore[attr-defined]
        token = join_token_from(await wait_for_mail(server.mailbox, email))  # type: ignore[attr-defined]
        await post_form(citizen_http, f"/j/{token}", f"/j/{token}/start")
        citizen = ProbePeer(f"{ws}/ws/citizen", {"token": token})
        welcome = await citizen.connect()
        await citizen.send({"type": "enter"})
        await citizen.expect("state", state="waiting")
        await sign_in_official(official_http, "official-testgemeente")
        appointment_id = welcome["appointment"]["id"]
        official = ProbePeer(
            f"{ws}/ws/call/{appointment_id}", {}, headers={"Cookie": cookie_header(official_http)}
        )
        await official.connect()

        started = time.perf_counter()
        await post_form(official_http, "/balie/", f"/balie/afspraken/{appointment_id}/toelaten")
        await citizen.expect("state", state="admitted")
        citizen.new_connection()
        await citizen.send({"type": "join-call"})
        joined = await official.expect("peer-joined")
        await official.offer_to(joined["peer"]["id"])
        await asyncio.gather(
            citizen.stats.connected.wait(), official.stats.connected.wait(), citizen.stats.first_frame.wait()
        )
        elapsed = time.perf_counter() - started
        await citizen.close()
        await official.close()
        return elapsed


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    p50 = statistics.median(ordered) * 1000
    return f"{name:<28} p50 {p50:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(values)})"


async def main(rounds: int) -> None:
    pin_to_loopback()
    baseline = [await bare_pair() for _ in range(rounds)]
    with tempfile.TemporaryDirectory() as tmp:
        async with live_server(Path(tmp), desks=rounds + 1) as server:
            product = [await one_call(server, i) for i in range(rounds)]
    print(summary("bare aiortc pair", baseline))
    print(summary("admit -> media via server", product))
    print(f"ratio (p50): {statistics.median(product) / statistics.median(baseline):.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 rounds: that it runs")
    arguments = parser.parse_args()
    asyncio.run(main(2 if arguments.quick else arguments.rounds))
