"""What one socket knows about the other peers in its call, to tell joined from reconnected.

Sockets announce themselves with an internal ``peer-joined`` event that carries their page
``session``; every receiving socket decides for itself: the same session as before is
``peer-reconnected`` (keep the RTCPeerConnection), anything else is ``peer-joined``. No node has to
share this memory with another, so it works the same on one node and on many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signalling import protocol
from signalling.hub import SERVER_ORIGIN, Envelope


@dataclass(slots=True)
class _Seen:
    session: str | None
    socket: str


class PeerBook:
    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}

    def joined(self, envelope: Envelope) -> dict[str, Any] | None:
        """``peer-joined`` or ``peer-reconnected`` for an announcement; None if it is malformed."""
        peer = envelope.event.get("peer")
        session = envelope.event.get("session")
        if not isinstance(peer, dict) or not isinstance(peer.get("id"), str):
            return None
        before = self._seen.get(peer["id"])
        self._seen[peer["id"]] = _Seen(session if isinstance(session, str) else None, envelope.origin)
        page = protocol.page_id(session) if isinstance(session, str) else None
        if before is not None and before.session is not None and before.session == session:
            return protocol.peer_reconnected(peer, page)
        return protocol.peer_joined(peer, page)

    def left(self, envelope: Envelope) -> dict[str, Any] | None:
        """``peer-left``, or None when it is stale: the peer already came back on another socket."""
        peer_id = envelope.event.get("peer_id")
        if not isinstance(peer_id, str):
            return None
        reason = envelope.event.get("reason", "hangup")
        before = self._seen.get(peer_id)
        if before is not None and envelope.origin not in (SERVER_ORIGIN, before.socket):
            return None
        if reason == "hangup":
            # A hang-up ends that RTCPeerConnection: coming back is a new peer, whatever the session.
            self._seen.pop(peer_id, None)
        return protocol.peer_left(peer_id, "disconnected" if reason == "disconnected" else "hangup")
