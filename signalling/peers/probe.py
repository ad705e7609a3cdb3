"""A headless aiortc participant that speaks docs/signalling.md: used by tests, benchmarks and ops.

It connects to a running server like a browser would: the citizen with a join token on
``/ws/citizen``, the official with a desk session cookie on ``/ws/call/{id}``. Media is synthetic
(aiortc's test pattern and silence) and what arrives is only counted, never stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import websockets
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

from signalling.peers.hosts import only_host_addresses


def pin_to_loopback() -> None:
    """Make aioice offer 127.0.0.1 only (it skips loopback on its own): for tests on one machine."""
    only_host_addresses(["127.0.0.1"])


def rtc_configuration(
    ice_servers: Sequence[Mapping[str, Any]], *, relay_only: bool = False
) -> RTCConfiguration:
    # Always pass the list, even when empty: without it aiortc adds a public STUN server.
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in ice_servers
        ],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


def selected_candidate_types(pc: RTCPeerConnection) -> set[str]:
    """The types (host, srflx, relay, ...) of our side of the candidate pairs ICE chose."""
    types: set[str] = set()
    for transceiver in pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        connection = getattr(ice, "_connection", None)  # aioice.Connection: aiortc exposes no API
        for pair in getattr(connection, "_nominated", {}).values():
            types.add(pair.local_candidate.type)
    return types


@dataclass
class CallStats:
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    first_frame: asyncio.Event = field(default_factory=asyncio.Event)
    frames: int = 0
    frame_size: tuple[int, int] | None = None
    messages: list[str] = field(default_factory=list)
    message_received: asyncio.Event = field(default_factory=asyncio.Event)


class ProbePeer:
    """One participant's signalling socket and its RTCPeerConnection to the other side."""

    def __init__(
        self,
        url: str,
        hello: dict[str, Any],
        headers: Mapping[str, str] | None = None,
        *,
        relay_only: bool = False,
    ) -> None:
        self.url = url
        self.hello = {"type": "hello", "session": secrets.token_hex(8), **hello}
        self.headers = dict(headers or {})
        self.relay_only = relay_only
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.welcome: dict[str, Any] = {}
        self.ice_servers: list[dict[str, Any]] = []
        """The newest list from ``welcome`` or ``ice-servers`` (TURN credentials come on admission)."""
        self.pc: RTCPeerConnection | None = None
        self.remote_peer: str | None = None
        self.stats = CallStats()
        self.channel: RTCDataChannel | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._sinks: list[asyncio.Task[None]] = []

    async def connect(self) -> dict[str, Any]:
        self._ws = await websockets.connect(self.url, additional_headers=self.headers, compression=None)
        await self.send(self.hello)
        self._reader = asyncio.create_task(self._read())
        self.welcome = await self.expect("welcome")
        self.ice_servers = list(self.welcome.get("ice_servers", []))
        return self.welcome

    async def reconnect(self) -> dict[str, Any]:
        """A new socket for the same page (same ``session``), keeping the RTCPeerConnection: what a
        page does after a network hiccup or a server restart."""
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        self.events = asyncio.Queue()  # what the old socket heard is history
        return await self.connect()

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self._ws:
                message = json.loads(raw)
                if message.get("type") == "signal" and self.pc is not None:
                    await self._on_signal(message)
                    continue
                if message.get("type") == "ice-servers":
                    self.ice_servers = list(message.get("ice_servers", []))
                await self.events.put(message)

    async def expect(self, kind: str, within: float = 10.0, **fields: Any) -> dict[str, Any]:
        """The next event of ``kind`` (with ``fields``), skipping others; fails with what it saw."""
        seen: list[str] = []

        async def wait() -> dict[str, Any]:
            while True:
                event = await self.events.get()
                if event.get("type") == kind and all(event.get(k) == v for k, v in fields.items()):
                    return event
                seen.append(str(event.get("type")))

        try:
            return await asyncio.wait_for(wait(), within)
        except TimeoutError:
            raise AssertionError(f"no {kind!r} {fields or ''} within {within}s; saw {seen}") from None

    def new_connection(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(rtc_configuration(self.ice_servers, relay_only=self.relay_only))
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState == "connected":
                self.stats.connected.set()

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._sinks.append(asyncio.create_task(self._count_frames(track)))
            else:
                sink = MediaBlackhole()  # consumes audio without keeping it
                sink.addTrack(track)
                self._sinks.append(asyncio.create_task(sink.start()))

        @pc.on("datachannel")
        def _channel(channel: RTCDataChannel) -> None:
            self._watch_channel(channel)

        self.pc = pc
        return pc

    def _watch_channel(self, channel: RTCDataChannel) -> None:
        self.channel = channel

        @channel.on("message")
        def _message(message: object) -> None:
            self.stats.messages.append(str(message))
            self.stats.message_received.set()

    async def _count_frames(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                self.stats.frames += 1
                if isinstance(frame, VideoFrame):
                    self.stats.frame_size = (frame.width, frame.height)
                self.stats.first_frame.set()

    async def offer_to(self, peer_id: str) -> None:
        """Start a new connection to ``peer_id`` with a data channel (the official's side)."""
        if self.pc is not None:
            await self.pc.close()
        self.remote_peer = peer_id
        pc = self.new_connection()
        channel = pc.createDataChannel("chat")
        self._watch_channel(channel)
        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers all candidates here
        await self._send_description(pc)

    async def _send_description(self, pc: RTCPeerConnection) -> None:
        description = pc.localDescription
        await self.send(
            {
                "type": "signal",
                "to": self.remote_peer,
                "data": {"description": {"type": description.type, "sdp": description.sdp}},
            }
        )

    async def _on_signal(self, message: dict[str, Any]) -> None:
        if self.pc is None:  # _read hands signals over only once there is a connection
            raise RuntimeError("a signal before the peer connection")
        data = message["data"]
        self.remote_peer = message["from"]
        if "description" in data:
            description = RTCSessionDescription(**data["description"])
            await self.pc.setRemoteDescription(description)
            if description.type == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self._send_description(self.pc)
        elif data.get("candidate") and data["candidate"].get("candidate"):
            raw = data["candidate"]
            candidate = candidate_from_sdp(raw["candidate"].removeprefix("candidate:"))
            candidate.sdpMid = raw.get("sdpMid")
            candidate.sdpMLineIndex = raw.get("sdpMLineIndex")
            await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        for task in self._sinks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
