"""The device check's echo peer, end to end: an aiortc client against a real ``balie run`` on loopback.

The client sends a picture of one known colour and a tone, and checks that the same picture comes
back (the echo peer sends the visitor's own media back), that its data channel answers pings, and
that the server keeps its limits: a session ends at the time limit and a node runs only so many.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import websockets
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack
from av import VideoFrame

from signalling.peers.probe import pin_to_loopback, rtc_configuration
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


class CheckClient:
    """What the check page does: one connection to the echo peer over ``/ws/check``."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.ws: Any = None
        self.pc: RTCPeerConnection | None = None
        self.channel: RTCDataChannel | None = None
        self.echoed_frames: list[VideoFrame] = []
        self.first_frame = asyncio.Event()
        self.pongs: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> dict[str, Any]:
        self.ws = await websockets.connect(f"{self.ws_url}/ws/check", compression=None)
        await self.ws.send(json.dumps({"type": "hello", "session": secrets.token_hex(8)}))
        return dict(json.loads(await asyncio.wait_for(self.ws.recv(), 10)))

    async def connect(self, welcome: dict[str, Any]) -> None:
        pc = RTCPeerConnection(rtc_configuration(welcome["ice_servers"]))
        self.pc = pc
        pc.addTrack(FlatPicture())
        pc.addTrack(AudioStreamTrack())
        self.channel = pc.createDataChannel("rtt")
        self.channel.on("message", lambda message: self.pongs.put_nowait(str(message)))

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._tasks.append(asyncio.create_task(self._keep_frames(track)))

        await pc.setLocalDescription(await pc.createOffer())
        offer = {"description": {"type": "offer", "sdp": pc.localDescription.sdp}}
        await self.ws.send(json.dumps({"type": "signal", "to": "echo", "data": offer}))
        answer = await self.next("signal")
        assert answer["from"] == "echo"
        await pc.setRemoteDescription(RTCSessionDescription(**answer["data"]["description"]))

    async def _keep_frames(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)
                self.echoed_frames.append(frame)
                del self.echoed_frames[:-5]
                self.first_frame.set()

    async def next(self, kind: str, within: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(deadline - time.monotonic(), 0.01))
            message = dict(json.loads(raw))
            if message["type"] == kind:
                return message

    async def ping(self) -> float:
        assert self.channel is not None
        while self.channel.readyState != "open":
            await asyncio.sleep(0.02)
        nonce = secrets.token_hex(4)
        started = time.perf_counter()
        self.channel.send(nonce)
        assert await asyncio.wait_for(self.pongs.get(), 10) == nonce
        return time.perf_counter() - started

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            await self.ws.close()


async def test_the_echo_peer_sends_my_own_picture_back_and_answers_pings(tmp_path: Path) -> None:
    pin_to_loopback()
    async with live_server(tmp_path, env=LOOPBACK_ECHO) as server:
        client = CheckClient(server.ws_url)
        try:
            welcome = await client.open()
            assert welcome["type"] == "welcome" and welcome["state"] == "check"
            assert welcome["peers"] == [{"id": "echo", "role": "echo", "name": ""}]
            await client.connect(welcome)
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


async def test_a_session_ends_at_its_time_limit_and_a_full_node_says_busy(tmp_path: Path) -> None:
    pin_to_loopback()
    env = {**LOOPBACK_ECHO, "BALIE_CHECK_MAX_SECONDS": "2", "BALIE_CHECK_MAX_SESSIONS": "1"}
    async with live_server(tmp_path, env=env) as server:
        first, second = CheckClient(server.ws_url), CheckClient(server.ws_url)
        try:
            await first.connect(await first.open())
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

            third = CheckClient(server.ws_url)  # the seat is free again
            try:
                assert (await third.open())["type"] == "welcome"
            finally:
                await third.close()
        finally:
            await first.close()
            await second.close()
