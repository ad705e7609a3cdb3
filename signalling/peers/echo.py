"""The device check's echo peer: it sends a visitor's own camera and microphone straight back.

The page (/apparaattest and the waiting room) connects to it over ``/ws/check`` and so learns
whether a connection works from its network, directly or through TURN, and how long a round trip
takes. Frames go from the receiving side of the connection into its sending side and nowhere else:
nothing is written, kept or looked at. A data channel echoes what the page sends (its round-trip
probe).

Each session decodes and encodes video, so one app node runs only a few at a time, each for a
limited time (``BALIE_CHECK_*``, docs/adr/0007). The :class:`EchoRegistry` is made by the app's
lifespan (:func:`echo_lifespan`), not at import, and closes every peer when the app stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backend.background import Lifespan
from backend.settings import CheckSettings

if TYPE_CHECKING:
    from aiortc import RTCDataChannel, RTCPeerConnection
    from aiortc.mediastreams import MediaStreamTrack
    from litestar import Litestar

log = logging.getLogger(__name__)


class EchoBusy(Exception):
    """No room for another echo session now (on this node, or for this visitor)."""


class EchoError(ValueError):
    """The page sent something the echo peer cannot use (an offer aiortc refuses)."""


class EchoPeer:
    """One RTCPeerConnection that echoes media and data-channel messages."""

    def __init__(self, ice_servers: Sequence[Mapping[str, Any]], reached: str | None = None) -> None:
        # aiortc costs ~0.6 s to import: only when someone actually runs a check.
        from aiortc import RTCPeerConnection

        from signalling.peers.probe import rtc_configuration

        self.pc: RTCPeerConnection = RTCPeerConnection(rtc_configuration(list(ice_servers)))
        self.pc.on("track", self._echo_track)
        self.pc.on("datachannel", self._echo_channel)
        self._answered = False
        self._reached = reached
        """The local address the visitor's connection arrived at (signalling/peers/hosts.py)."""

    def _echo_track(self, track: MediaStreamTrack) -> None:
        # Fired inside setRemoteDescription, before the answer: the track goes back on the same
        # transceiver (sendrecv). The sender pulls each frame from the receiver and encodes it again.
        self.pc.addTrack(track)

    def _echo_channel(self, channel: RTCDataChannel) -> None:
        @channel.on("message")
        def _message(message: str | bytes) -> None:
            if channel.readyState == "open":
                channel.send(message)

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    async def answer(self, offer_sdp: str) -> str:
        """The answer to the page's offer (with all our candidates: aiortc does not trickle)."""
        from aiortc import RTCSessionDescription

        if self._answered:
            raise EchoError("one offer per check session")
        self._answered = True
        if "\nm=" not in f"\n{offer_sdp}":  # aiortc would answer an offer without media with nothing
            raise EchoError("the offer has no media")
        from signalling.peers.hosts import reached_at

        try:
            with reached_at(self._reached):  # gathering happens in setLocalDescription
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
                await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:  # aiortc raises ValueError, InvalidStateError, ...: the offer is bad
            raise EchoError(f"the offer could not be used ({type(exc).__name__})") from exc
        return str(self.pc.localDescription.sdp)

    async def add_candidate(self, candidate: Mapping[str, Any] | None) -> None:
        """A trickled candidate from the page; unusable ones are ignored (ICE copes without them)."""
        from aiortc.sdp import candidate_from_sdp

        if not candidate or not candidate.get("candidate") or not self._answered:
            return
        try:
            parsed = candidate_from_sdp(str(candidate["candidate"]).removeprefix("candidate:"))
            parsed.sdpMid = candidate.get("sdpMid")
            parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
            await self.pc.addIceCandidate(parsed)
        except Exception:  # e.g. a browser's mDNS name aiortc cannot resolve
            log.debug("ignored a check candidate", exc_info=True)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


@dataclass
class EchoSession:
    id: str
    client: str
    peer: EchoPeer
    started: float = field(default_factory=time.monotonic)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    def end(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.ended.set()


class EchoRegistry:
    """The echo sessions of this app node, with their limits."""

    def __init__(self, settings: CheckSettings, ice_host_addresses: Sequence[str] = ()) -> None:
        self.settings = settings
        self.ice_host_addresses = tuple(ice_host_addresses)
        self._sessions: dict[str, EchoSession] = {}
        self._closed = False

    def __len__(self) -> int:
        return len(self._sessions)

    @property
    def sessions(self) -> list[EchoSession]:
        return list(self._sessions.values())

    def open(
        self, client: str, ice_servers: Sequence[Mapping[str, Any]], reached: str | None = None
    ) -> EchoSession:
        """A new session for ``client`` (its address) that reached this server at ``reached`` (the
        connection's local address, offered as a candidate too); raises :class:`EchoBusy` over a
        limit."""
        if self._closed:
            raise EchoBusy("the app is stopping")
        if len(self._sessions) >= self.settings.max_sessions:
            raise EchoBusy("every echo peer of this node is in use")
        mine = sum(1 for s in self._sessions.values() if s.client == client)
        if mine >= self.settings.max_sessions_per_client:
            raise EchoBusy("this visitor already runs the check")
        if self.ice_host_addresses:
            from signalling.peers.hosts import only_host_addresses

            only_host_addresses(self.ice_host_addresses)
        session = EchoSession(id=secrets.token_hex(8), client=client, peer=EchoPeer(ice_servers, reached))
        self._sessions[session.id] = session
        return session

    async def close(self, session: EchoSession, reason: str = "closed") -> None:
        session.end(reason)
        self._sessions.pop(session.id, None)
        await session.peer.close()

    async def close_all(self, reason: str = "shutdown") -> None:
        """Stop taking sessions and close every peer (the app is stopping)."""
        self._closed = True
        sessions = list(self._sessions.values())
        for session in sessions:
            session.end(reason)
        await asyncio.gather(*(self.close(s, reason) for s in sessions))


def echo_lifespan(registry: EchoRegistry) -> Lifespan:
    """Closes all of ``registry``'s peers when the app stops."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await registry.close_all()
            if len(registry):
                log.warning("%d echo sessions were still open at shutdown", len(registry))

    return lifespan
