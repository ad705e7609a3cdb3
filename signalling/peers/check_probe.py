"""A headless device check: what /apparaattest does, with aiortc, for tests, benchmarks and ops.

It opens ``/ws/check``, offers its tracks and a data channel to the echo peer, and counts what comes
back. Frames it receives are kept only as the last few in memory (to look at), never written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

import websockets
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame

from signalling.peers.probe import rtc_configuration


class CheckProbe:
    def __init__(self, ws_url: str, *, relay_only: bool = False) -> None:
        self.ws_url = ws_url
        self.relay_only = relay_only
        self.ws: Any = None
        self.pc: RTCPeerConnection | None = None
        self.channel: RTCDataChannel | None = None
        self.echoed_frames: list[VideoFrame] = []
        self.first_frame = asyncio.Event()
        self.channel_open = asyncio.Event()
        self.pongs: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> dict[str, Any]:
        """Connect and say hello: the ``welcome`` (or the ``error`` of a busy node)."""
        self.ws = await websockets.connect(f"{self.ws_url}/ws/check", compression=None)
        await self.ws.send(json.dumps({"type": "hello", "session": secrets.token_hex(8)}))
        return dict(json.loads(await asyncio.wait_for(self.ws.recv(), 10)))

    async def connect(self, welcome: dict[str, Any], tracks: Sequence[MediaStreamTrack]) -> None:
        """Offer ``tracks`` and a data channel to the echo peer and apply its answer."""
        pc = RTCPeerConnection(rtc_configuration(welcome["ice_servers"], relay_only=self.relay_only))
        self.pc = pc
        for track in tracks:
            pc.addTrack(track)
        self.channel = pc.createDataChannel("rtt")
        self.channel.on("message", lambda message: self.pongs.put_nowait(str(message)))
        self.channel.on("open", self.channel_open.set)

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._tasks.append(asyncio.create_task(self._keep_frames(track)))

        await pc.setLocalDescription(await pc.createOffer())
        offer = {"description": {"type": "offer", "sdp": pc.localDescription.sdp}}
        await self.ws.send(json.dumps({"type": "signal", "to": "echo", "data": offer}))
        answer = await self.next("signal")
        await pc.setRemoteDescription(RTCSessionDescription(**answer["data"]["description"]))

    async def _keep_frames(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    self.echoed_frames.append(frame)
                    del self.echoed_frames[:-5]
                    self.first_frame.set()

    async def next(self, kind: str, within: float = 15) -> dict[str, Any]:
        """The next message of ``kind`` on the socket, skipping others."""
        deadline = time.monotonic() + within
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(deadline - time.monotonic(), 0.01))
            message = dict(json.loads(raw))
            if message["type"] == kind:
                return message

    async def ping(self) -> float:
        """One round trip over the data channel, in seconds."""
        if self.channel is None:
            raise RuntimeError("connect() first: there is no data channel yet")
        await asyncio.wait_for(self.channel_open.wait(), 10)
        nonce = secrets.token_hex(4)
        started = time.perf_counter()
        self.channel.send(nonce)
        if await asyncio.wait_for(self.pongs.get(), 10) != nonce:
            raise AssertionError("the echo peer answered something else")
        return time.perf_counter() - started

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            await self.ws.close()
