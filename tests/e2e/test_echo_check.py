"""The device check's echo peer, end to end: an aiortc client against a real ``balie run`` on loopback.

The client sends a picture of one known colour and a tone, and checks that the same picture comes
back (the echo peer sends the visitor's own media back), that its data channel answers pings, and
that the server keeps its limits: a session ends at the time limit and a node runs only so many.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from av import VideoFrame

from signalling.peers.check_probe import CheckProbe
from signalling.peers.probe import pin_to_loopback
from tests.live import live_server

pytestmark = pytest.mark.peer

LOOPBACK_ECHO = {"BALIE_ICE_HOST_ADDRESSES": "127.0.0.1"}
WIDTH, HEIGHT = 320, 240
LUMA = 180  # the picture we send: one flat grey-ish colour


class FlatPicture(VideoStreamTrack):
    """A synthetic camera that shows one flat colour (luma ``LUMA``), so what comes back is checkable."""

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        for index, plane in enumerate(frame.planes):
            plane.update(bytes([LUMA if index == 0 else 128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def mean_luma(frame: VideoFrame) -> float:
    plane = frame.planes[0]
    data = bytes(plane)
    rows = [data[y * plane.line_size : y * plane.line_size + plane.width] for y in range(plane.height)]
    return sum(sum(row) for row in rows) / (plane.width * plane.height)


async def offer(client: CheckProbe, welcome: dict[str, Any]) -> None:
    await client.connect(welcome, [FlatPicture(), AudioStreamTrack()])


async def test_the_echo_peer_sends_my_own_picture_back_and_answers_pings(tmp_path: Path) -> None:
    pin_to_loopback()
    async with live_server(tmp_path, env=LOOPBACK_ECHO) as server:
        client = CheckProbe(server.ws_url)
        try:
            welcome = await client.open()
            assert welcome["type"] == "welcome" and welcome["state"] == "check"
            assert welcome["peers"] == [{"id": "echo", "role": "echo", "name": ""}]
            await offer(client, welcome)
            try:
                await asyncio.wait_for(client.first_frame.wait(), 20)
            except TimeoutError:
                raise AssertionError(f"no echoed frame: ICE on 127.0.0.1?\n{server.log()}") from None
            assert client.pc is not None and client.pc.connectionState == "connected"
            await asyncio.sleep(0.5)  # let the encoder settle past its first key frame
            frame = client.echoed_frames[-1]
            assert (frame.width, frame.height) == (WIDTH, HEIGHT)
            assert abs(mean_luma(frame) - LUMA) < 12, "the picture that came back is not the one we sent"
            rtts = [await client.ping() for _ in range(3)]
            assert all(rtt > 0 for rtt in rtts)
        finally:
            await client.close()

        forged = CheckProbe(server.ws_url)  # an offer the echo peer cannot use: refused, not crashed on
        try:
            await forged.open()
            bad = {"description": {"type": "offer", "sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"}}
            await forged.ws.send(json.dumps({"type": "signal", "to": "echo", "data": bad}))
            assert (await forged.next("error"))["code"] == "bad_message"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(forged.ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
        finally:
            await forged.close()


async def test_a_session_ends_at_its_time_limit_and_a_full_node_says_busy(tmp_path: Path) -> None:
    pin_to_loopback()
    env = {**LOOPBACK_ECHO, "BALIE_CHECK_MAX_SECONDS": "2", "BALIE_CHECK_MAX_SESSIONS": "1"}
    async with live_server(tmp_path, env=env) as server:
        first, second = CheckProbe(server.ws_url), CheckProbe(server.ws_url)
        try:
            await offer(first, await first.open())
            await asyncio.wait_for(first.first_frame.wait(), 20)

            refused = await second.open()
            assert refused["type"] == "error" and refused["code"] == "busy"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(second.ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429

            assert (await first.next("check-ended", within=10))["reason"] == "time_limit"
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(first.ws.recv(), 5)
            assert first.pc is not None
            for _ in range(100):  # the server closed its peer: DTLS says goodbye, ours follows
                if first.pc.connectionState in ("closed", "failed"):
                    break
                await asyncio.sleep(0.1)
            assert first.pc.connectionState in ("closed", "failed")

            third = CheckProbe(server.ws_url)  # the seat is free again
            try:
                assert (await third.open())["type"] == "welcome"
            finally:
                await third.close()
        finally:
            await first.close()
            await second.close()
