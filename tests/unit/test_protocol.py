"""Client messages are parsed strictly; server messages have the documented fields."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from signalling import protocol
from signalling.protocol import (
    Chat,
    Enter,
    Hello,
    JoinCall,
    Leave,
    Ping,
    ProtocolError,
    Signal,
    parse_client_message,
)

LIMIT = 65_536
OFFER = {"description": {"type": "offer", "sdp": "v=0\r\n"}}


def parse(message: Any, limit: int = LIMIT) -> protocol.ClientMessage:
    return parse_client_message(json.dumps(message), limit)


def test_every_client_message_type_parses() -> None:
    assert parse({"type": "hello", "session": "s-1", "token": "t" * 43}) == Hello(
        session="s-1", token="t" * 43
    )
    assert parse({"type": "hello", "session": "3f2a9c1e-0b7d-4c2e-9a55-1d2e3f4a5b6c"}).token is None  # type: ignore[union-attr]
    assert parse({"type": "enter"}) == Enter()
    assert parse({"type": "join-call"}) == JoinCall()
    assert parse({"type": "leave"}) == Leave()
    assert parse({"type": "ping"}) == Ping()
    assert parse({"type": "signal", "to": "official:x", "data": OFFER}) == Signal(to="official:x", data=OFFER)


@pytest.mark.parametrize(
    "data",
    [
        {"description": {"type": "answer", "sdp": "v=0"}},
        {"description": {"type": "pranswer", "sdp": ""}},
        {"description": {"type": "rollback"}},
        {"candidate": None},
        {"candidate": {}},
        {
            "candidate": {
                "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
        },
        {"candidate": {"candidate": "", "sdpMid": None, "sdpMLineIndex": None, "usernameFragment": "abcd"}},
    ],
)
def test_signal_data_that_browsers_send(data: dict[str, Any]) -> None:
    assert parse({"type": "signal", "to": "p", "data": data}) == Signal(to="p", data=data)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '"hello"',
        "{}",
        '{"type": 5}',
        '{"type": "dance"}',
        '{"type": "ping", "extra": 1}',
        '{"type": "hello"}',
        '{"type": "hello", "session": ""}',
        '{"type": "hello", "session": "' + "s" * 65 + '"}',
        '{"type": "hello", "session": "has space"}',
        '{"type": "hello", "session": 12}',
        '{"type": "hello", "session": "s", "token": 12}',
        '{"type": "hello", "session": "s", "token": ""}',
        '{"type": "signal", "data": {"candidate": null}}',
        '{"type": "signal", "to": "", "data": {"candidate": null}}',
        '{"type": "signal", "to": "' + "p" * 81 + '", "data": {"candidate": null}}',
        '{"type": "signal", "to": 7, "data": {"candidate": null}}',
        '{"type": "signal", "to": "p"}',
        '{"type": "signal", "to": "p", "data": null}',
        '{"type": "signal", "to": "p", "data": {}}',
        '{"type": "signal", "to": "p", "data": {"chat": "hi"}}',
        '{"type": "signal", "to": "p", "data": {"candidate": null, "description": null}}',
        '{"type": "signal", "to": "p", "data": {"description": {"type": "offer"}}}',
        '{"type": "signal", "to": "p", "data": {"description": {"type": "bogus", "sdp": ""}}}',
        '{"type": "signal", "to": "p", "data": {"description": {"type": "offer", "sdp": 1}}}',
        '{"type": "signal", "to": "p", "data": {"description": {"type": "offer", "sdp": "", "x": 1}}}',
        '{"type": "signal", "to": "p", "data": {"description": "v=0"}}',
        '{"type": "signal", "to": "p", "data": {"candidate": "candidate:1"}}',
        '{"type": "signal", "to": "p", "data": {"candidate": {"sdpMLineIndex": "0"}}}',
        '{"type": "signal", "to": "p", "data": {"candidate": {"sdpMLineIndex": true}}}',
        '{"type": "signal", "to": "p", "data": {"candidate": {"foo": "bar"}}}',
        '{"type": "signal", "to": "p", "data": {"candidate": null}, "from": "me"}',
        "[" * 100_000,
    ],
)
def test_bad_messages_are_refused(raw: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw, 1_000_000)
    assert info.value.code == "bad_message"
    assert info.value.message


def test_binary_frames_are_refused() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(b'{"type": "ping"}', LIMIT)
    assert info.value.code == "bad_message"


def test_size_limit_counts_utf8_bytes() -> None:
    frame = json.dumps({"type": "hello", "session": "s", "token": "é" * 40}, ensure_ascii=False)
    size = len(frame.encode())
    assert parse_client_message(frame, size) == Hello(session="s", token="é" * 40)
    for raw in (frame, frame.encode()):
        with pytest.raises(ProtocolError) as info:
            parse_client_message(raw, size - 1)
        assert info.value.code == "too_large"


def test_server_messages() -> None:
    peer = {"id": "p1", "role": "citizen", "name": "Jan"}
    assert protocol.state("waiting") == {"type": "state", "state": "waiting"}
    assert protocol.peer_joined(peer, "ab") == {"type": "peer-joined", "peer": peer, "page": "ab"}
    assert protocol.peer_reconnected(peer) == {"type": "peer-reconnected", "peer": peer, "page": None}
    assert protocol.peer_left("p1") == {"type": "peer-left", "peer_id": "p1", "reason": "hangup"}
    assert protocol.signal("p1", OFFER, "ab") == {"type": "signal", "from": "p1", "data": OFFER, "page": "ab"}
    servers = [{"urls": "turn:x"}]
    assert protocol.ice_servers(servers) == {"type": "ice-servers", "ice_servers": servers}
    assert protocol.participants([], 3) == {"type": "participants", "participants": [], "capacity": 3}
    assert protocol.check_ended("time_limit") == {"type": "check-ended", "reason": "time_limit"}
    line = protocol.chat(sender=peer, text="Hoi", sent_at="t", scope="call")
    assert line == {
        "type": "chat",
        "from": peer,
        "text": "Hoi",
        "sent_at": "t",
        "scope": "call",
        "appointment_id": None,
    }
    assert protocol.ended("completed") == {"type": "ended", "outcome": "completed"}
    assert protocol.queue([]) == {"type": "queue", "appointments": []}
    assert protocol.error("not_allowed", "no") == {"type": "error", "code": "not_allowed", "message": "no"}
    assert protocol.pong() == {"type": "pong"}
    welcome = protocol.welcome(
        you=peer,
        state="invited",
        appointment=None,
        peers=[],
        ice_servers=[{"urls": "stun:x"}],
        heartbeat_seconds=20,
    )
    assert set(welcome) == {
        "type",
        "you",
        "state",
        "appointment",
        "peers",
        "ice_servers",
        "heartbeat_seconds",
    }
    assert json.loads(protocol.dump(welcome)) == welcome


def test_page_ids_are_stable_digests_that_do_not_reveal_the_session() -> None:
    assert protocol.page_id("page-1") == protocol.page_id("page-1")
    assert protocol.page_id("page-1") != protocol.page_id("page-2")
    assert len(protocol.page_id("page-1")) == 16 and "page" not in protocol.page_id("page-1")


def test_chat_lines_parse_trimmed_with_an_optional_appointment() -> None:
    late = "Ik ben 5 minuten later"
    assert parse({"type": "chat", "text": f"  {late}\n "}) == Chat(text=late)
    appointment = "3f2a9c1e-0b7d-4c2e-9a55-1d2e3f4a5b6c"
    message = parse({"type": "chat", "text": "Goedemorgen", "appointment_id": appointment})
    assert message == Chat(text="Goedemorgen", appointment_id=uuid.UUID(appointment))
    assert parse({"type": "chat", "text": "שלום \u200f, مرحبا"}) == Chat(text="שלום \u200f, مرحبا")
    assert parse({"type": "chat", "text": "a\nb\tc"}) == Chat(text="a\nb\tc")
    assert parse({"type": "chat", "text": "x" * protocol.MAX_CHAT_CHARS}) == Chat(text="x" * 1000)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "chat"},
        {"type": "chat", "text": ""},
        {"type": "chat", "text": "   \n"},
        {"type": "chat", "text": 5},
        {"type": "chat", "text": ["hoi"]},
        {"type": "chat", "text": "x" * 1001},
        {"type": "chat", "text": "bel \u202e3210"},  # right-to-left override
        {"type": "chat", "text": "a\u2066b"},  # left-to-right isolate
        {"type": "chat", "text": "a\x00b"},
        {"type": "chat", "text": "a\x1bb"},
        {"type": "chat", "text": "hoi", "to": "p1"},
        {"type": "chat", "text": "hoi", "appointment_id": "not-a-uuid"},
        {"type": "chat", "text": "hoi", "appointment_id": 12},
        {"type": "chat", "text": "hoi", "appointment_id": "{" + "0" * 40 + "}"},
    ],
)
def test_bad_chat_lines_are_refused(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(message)
    assert info.value.code == "bad_message"
