"""Signalling messages (docs/signalling.md) as pure parse/dump functions: no I/O here.

Client messages are parsed strictly into one dataclass per type; anything unexpected raises a
:class:`ProtocolError` whose ``code`` is the ``error`` code the socket answers with. Server messages
are plain dicts built by the functions at the end, so every field name lives in one place.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

MAX_SESSION_LENGTH: Final = 64
MAX_PEER_ID_LENGTH: Final = 80
MAX_TOKEN_LENGTH: Final = 128
MAX_CHAT_CHARS: Final = 1000
CHAT_SCOPES: Final = frozenset({"call", "desk"})
DESCRIPTION_TYPES: Final = frozenset({"offer", "answer", "pranswer", "rollback"})
_SESSION_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_CANDIDATE_FIELDS: Final[Mapping[str, tuple[type, ...]]] = {
    "candidate": (str,),
    "sdpMid": (str, type(None)),
    "sdpMLineIndex": (int, type(None)),
    "usernameFragment": (str, type(None)),
}

# Bidi embeddings, overrides and isolates can make a chat line read differently from what it holds
# (U+202A-U+202E, U+2066-U+2069); the pages strip them before sending, so a frame with one is forged.
_CHAT_FORBIDDEN: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

ErrorCode = Literal[
    "bad_message",
    "too_large",
    "unauthorized",
    "forbidden",
    "not_allowed",
    "not_found",
    "timeout",
    "rate_limited",
    "busy",
    "taken",
]


class ProtocolError(ValueError):
    """A frame that is not a valid client message; ``code`` is ``bad_message`` or ``too_large``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Hello:
    session: str
    token: str | None = None


@dataclass(frozen=True, slots=True)
class Enter:
    pass


@dataclass(frozen=True, slots=True)
class JoinCall:
    pass


@dataclass(frozen=True, slots=True)
class Signal:
    to: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat line. ``appointment_id`` only on the desk socket (a message to the waiting room)."""

    text: str
    appointment_id: uuid.UUID | None = None


ClientMessage = Hello | Enter | JoinCall | Signal | Leave | Ping | Chat
_EMPTY: Final[Mapping[str, type[Enter | JoinCall | Leave | Ping]]] = {
    "enter": Enter,
    "join-call": JoinCall,
    "leave": Leave,
    "ping": Ping,
}


def parse_client_message(raw: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse one text frame. Bytes are taken as a binary frame and refused."""
    if isinstance(raw, bytes | bytearray):
        if len(raw) > max_bytes:
            raise ProtocolError("too_large", f"frame over {max_bytes} bytes")
        raise ProtocolError("bad_message", "binary frames are not accepted")
    if len(raw) > max_bytes or len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ProtocolError("too_large", f"frame over {max_bytes} bytes")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_message", "not JSON") from exc
    if not isinstance(value, dict):
        raise ProtocolError("bad_message", "not a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "missing 'type'")
    if kind == "hello":
        return _hello(value)
    if kind == "signal":
        return _signal(value)
    if kind == "chat":
        return _chat(value)
    if kind in _EMPTY:
        _only(value, ())
        return _EMPTY[kind]()
    raise ProtocolError("bad_message", "unknown type")


def _only(value: Mapping[str, Any], allowed: Sequence[str]) -> None:
    extra = set(value) - {"type", *allowed}
    if extra:
        raise ProtocolError("bad_message", f"unexpected field {sorted(extra)[0]!r}")


def _hello(value: Mapping[str, Any]) -> Hello:
    _only(value, ("token", "session"))
    session = value.get("session")
    if not isinstance(session, str) or not _SESSION_RE.fullmatch(session):
        raise ProtocolError("bad_message", "'session' must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    token = value.get("token")
    if token is not None and (not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH):
        raise ProtocolError("bad_message", "'token' must be a string")
    return Hello(session=session, token=token)


def _signal(value: Mapping[str, Any]) -> Signal:
    _only(value, ("to", "data"))
    to = value.get("to")
    if not isinstance(to, str) or not 0 < len(to) <= MAX_PEER_ID_LENGTH:
        raise ProtocolError("bad_message", f"'to' must be a peer id of 1-{MAX_PEER_ID_LENGTH} characters")
    data = value.get("data")
    if not isinstance(data, dict) or len(data) != 1:
        raise ProtocolError("bad_message", "'data' must hold exactly 'description' or 'candidate'")
    if "description" in data:
        _description(data["description"])
    elif "candidate" in data:
        _candidate(data["candidate"])
    else:
        raise ProtocolError("bad_message", "'data' must hold exactly 'description' or 'candidate'")
    return Signal(to=to, data=data)


def _chat(value: Mapping[str, Any]) -> Chat:
    _only(value, ("text", "appointment_id"))
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("bad_message", "'text' must be a non-empty string")
    text = text.strip()
    if len(text) > MAX_CHAT_CHARS:
        raise ProtocolError("bad_message", f"'text' is longer than {MAX_CHAT_CHARS} characters")
    if _CHAT_FORBIDDEN.search(text):
        raise ProtocolError("bad_message", "'text' holds control or bidi-override characters")
    raw_id = value.get("appointment_id")
    if raw_id is None:
        return Chat(text=text)
    try:
        appointment_id = uuid.UUID(raw_id) if isinstance(raw_id, str) and len(raw_id) <= 36 else None
    except ValueError:
        appointment_id = None
    if appointment_id is None:
        raise ProtocolError("bad_message", "'appointment_id' must be a UUID")
    return Chat(text=text, appointment_id=appointment_id)


def _description(value: object) -> None:
    if not isinstance(value, dict) or value.get("type") not in DESCRIPTION_TYPES:
        raise ProtocolError("bad_message", "'description.type' must be offer, answer, pranswer or rollback")
    if set(value) - {"type", "sdp"}:
        raise ProtocolError("bad_message", "'description' has unexpected fields")
    sdp = value.get("sdp")
    if not isinstance(sdp, str) and not (value["type"] == "rollback" and sdp is None):
        raise ProtocolError("bad_message", "'description.sdp' must be a string")


def _candidate(value: object) -> None:
    if value is None:
        return  # end of candidates
    if not isinstance(value, dict):
        raise ProtocolError("bad_message", "'candidate' must be an object or null")
    for key, item in value.items():
        types = _CANDIDATE_FIELDS.get(key)
        if types is None:
            raise ProtocolError("bad_message", f"'candidate' has unexpected field {key!r}")
        if not isinstance(item, types) or isinstance(item, bool):
            raise ProtocolError("bad_message", f"'candidate.{key}' has the wrong type")


def page_id(session: str) -> str:
    """What other pages learn about a page load: a digest of its ``session``, never the session.

    Pages compare it to tell a peer that came back (same page: keep the connection, e.g. after a
    server restart) from a peer that reloaded (a new RTCPeerConnection on the other side).
    """
    return hashlib.sha256(session.encode()).hexdigest()[:16]


def dump(message: Mapping[str, Any]) -> str:
    """Compact JSON for one server (or client) message."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


# -- server messages -------------------------------------------------------------------------------


def welcome(
    *,
    you: Mapping[str, Any],
    state: str,
    appointment: Mapping[str, Any] | None,
    peers: Sequence[Mapping[str, Any]],
    ice_servers: Sequence[Mapping[str, object]],
    heartbeat_seconds: float,
) -> dict[str, Any]:
    return {
        "type": "welcome",
        "you": dict(you),
        "state": state,
        "appointment": None if appointment is None else dict(appointment),
        "peers": [dict(p) for p in peers],
        "ice_servers": [dict(s) for s in ice_servers],
        "heartbeat_seconds": heartbeat_seconds,
    }


def state(value: str) -> dict[str, Any]:
    return {"type": "state", "state": value}


def peer_joined(peer: Mapping[str, Any], page: str | None = None) -> dict[str, Any]:
    return {"type": "peer-joined", "peer": dict(peer), "page": page}


def announcement(peer: Mapping[str, Any], session: str | None) -> dict[str, Any]:
    """Internal (between sockets, never to a page): a page entered the call. Each receiving socket
    turns it into ``peer-joined`` or ``peer-reconnected`` (signalling.presence)."""
    return {"type": "peer-joined", "peer": dict(peer), "session": session}


def peer_reconnected(peer: Mapping[str, Any], page: str | None = None) -> dict[str, Any]:
    return {"type": "peer-reconnected", "peer": dict(peer), "page": page}


def peer_left(peer_id: str, reason: str = "hangup") -> dict[str, Any]:
    """``reason``: ``hangup`` (the peer left the call) or ``disconnected`` (its socket closed)."""
    return {"type": "peer-left", "peer_id": peer_id, "reason": reason}


def signal(from_: str, data: Mapping[str, Any], page: str | None = None) -> dict[str, Any]:
    return {"type": "signal", "from": from_, "data": dict(data), "page": page}


def chat(
    *,
    sender: Mapping[str, Any],
    text: str,
    sent_at: str,
    scope: str,
    appointment_id: str | None = None,
) -> dict[str, Any]:
    """``scope``: ``call`` (between the peers in the call) or ``desk`` (the desk to the waiting room)."""
    return {
        "type": "chat",
        "from": dict(sender),
        "text": text,
        "sent_at": sent_at,
        "scope": scope,
        "appointment_id": appointment_id,
    }


def ice_servers(servers: Sequence[Mapping[str, object]]) -> dict[str, Any]:
    return {"type": "ice-servers", "ice_servers": [dict(s) for s in servers]}


def participants(people: Sequence[Mapping[str, Any]], capacity: int) -> dict[str, Any]:
    """Call socket only: everyone with a link to this appointment, and how many fit in the call."""
    return {"type": "participants", "participants": [dict(p) for p in people], "capacity": capacity}


def check_ended(reason: str) -> dict[str, Any]:
    """Check socket only: ``time_limit`` or ``shutdown``."""
    return {"type": "check-ended", "reason": reason}


def refresh(appointment_id: uuid.UUID) -> dict[str, Any]:
    """To the team's desks and call pages: the appointment or its participants changed; read again."""
    return {"type": "refresh", "appointment_id": str(appointment_id)}


def revoked() -> dict[str, Any]:
    """To a participant's pages: their link was withdrawn; the socket closes."""
    return {"type": "revoked"}


def ended(outcome: str) -> dict[str, Any]:
    return {"type": "ended", "outcome": outcome}


def taken_over(official_id: uuid.UUID) -> dict[str, Any]:
    """Internal (between sockets): another official leads the call now; the call socket of the
    official before them closes with 4409."""
    return {"type": "taken-over", "official_id": str(official_id)}


def signed_out(official_id: uuid.UUID) -> dict[str, Any]:
    """Internal (between sockets): the official's provider ended their sessions (back-channel
    logout); their desk and call sockets close with 4401, everyone else's ignore it."""
    return {"type": "signed-out", "official_id": str(official_id)}


def mandate_ended(mandate_id: uuid.UUID) -> dict[str, Any]:
    """Internal (between sockets): the mandate was revoked; desk and call sockets acting under it
    close with 4403, everyone else's ignore it."""
    return {"type": "mandate-ended", "mandate_id": str(mandate_id)}


def team_access_ended(team_id: uuid.UUID, official_id: uuid.UUID) -> dict[str, Any]:
    """Internal (between sockets): a team admin took the official off the team; that official's
    desk and call sockets that reach the team close with 4403, everyone else's ignore it."""
    return {"type": "team-access-ended", "team_id": str(team_id), "official_id": str(official_id)}


def identify(level: str) -> dict[str, Any]:
    """To a citizen: the official asks them to identify with DigiD at ``level`` (or higher)."""
    return {"type": "identify", "level": level}


def identity(peer_id: str, level: str) -> dict[str, Any]:
    """To the official's call page: ``peer_id`` identified with DigiD (no BSN: the page fetches its badge)."""
    return {"type": "identity", "peer_id": peer_id, "level": level}


DOCUMENT_ACTIONS: Final = frozenset({"added", "updated", "removed"})


def document(action: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """A document of the appointment was ``added``, ``updated`` (kept for the case or not) or
    ``removed``; ``info`` as in :func:`backend.documents.sharing.document_info` (``removed``: ``id``)."""
    if action not in DOCUMENT_ACTIONS:
        raise ValueError(f"unknown document action {action!r}")
    return {"type": "document", "action": action, "document": dict(info)}


def payment(info: Mapping[str, Any]) -> dict[str, Any]:
    """A payment of the appointment was asked or moved; ``info`` as in
    :func:`backend.payments.service.payment_info`."""
    return {"type": "payment", "payment": dict(info)}


def queue(appointments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"type": "queue", "appointments": [dict(a) for a in appointments]}


def error(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def pong() -> dict[str, Any]:
    return {"type": "pong"}
