"""What the citizen's and the official's call sockets share (signalling/call_member.py), without
sockets: a recording page and hub, and a clock the test moves."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from backend import rooms
from backend.clock import ManualClock
from backend.settings import Secret, SignallingSettings
from signalling import chat, protocol
from signalling.call_member import CallMember, relayed_signal
from signalling.hub import Envelope, appointment_channel
from signalling.protocol import Signal

STUN = {"urls": ["stun:turn.example.nl:3478"]}
TURN = SignallingSettings(
    ice_servers=(STUN,), turn_urls=("turn:turn.example.nl:3478",), turn_secret=Secret("coturn-secret")
)
APPOINTMENT = uuid.uuid4()


class Page:
    """Records what the socket sends its page."""

    def __init__(self, *incoming: object) -> None:
        self.id = "socket-1"
        self.incoming = list(incoming)
        self.sent: list[dict[str, Any]] = []
        self.errors: list[tuple[str, str]] = []
        self.clock = ManualClock(dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC))

    async def messages(self) -> AsyncIterator[object]:
        for message in self.incoming:
            await asyncio.sleep(0)  # as a socket waits for its next frame
            yield message

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def error(self, code: str, message: str) -> None:
        self.errors.append((code, message))


class Stop(Exception):
    pass


class Clock:
    """An injected ``sleep``: records each wait and then moves the page to its next state."""

    def __init__(self, member: CallMember, states: list[str]) -> None:
        self.member, self.states, self.waits = member, list(states), list[float]()

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if not self.states:
            raise Stop
        self.member.state = self.states.pop(0)


def member(
    state: str = rooms.IN_CALL, settings: SignallingSettings = TURN, **fields: Any
) -> tuple[CallMember, Page]:
    """A page in the call; no database and no hub unless ``fields`` give them."""
    page = fields.pop("page", Page())
    parts = {"sessionmaker": None, "hub": None, "peer_id": "p1", **fields}
    call = CallMember(
        page,  # type: ignore[arg-type]
        settings,
        appointment_id=APPOINTMENT,
        session_id="session-1",
        state=state,
        **parts,
    )
    return call, page


@pytest.mark.parametrize(
    ("state", "turn"),
    [
        (rooms.INVITED, False),
        (rooms.WAITING, False),
        (rooms.ADMITTED, True),
        (rooms.IN_CALL, True),
        (rooms.LEFT, False),
        (rooms.ENDED, False),
    ],
)
def test_turn_credentials_only_while_the_page_sends_media(state: str, turn: bool) -> None:
    call, _ = member(state)
    servers = call.ice_servers()
    assert servers[0] == STUN and len(servers) == (2 if turn else 1)
    if turn:
        assert servers[1]["urls"] == ["turn:turn.example.nl:3478"]
        assert servers[1]["username"].split(":")[1].startswith("call-")


async def test_credentials_are_refreshed_halfway_while_the_page_sends_media() -> None:
    call, page = member(rooms.WAITING)
    call.lifetime = dt.timedelta(minutes=30)
    clock = Clock(call, [rooms.WAITING, rooms.ADMITTED, rooms.IN_CALL, rooms.LEFT, rooms.IN_CALL])
    call.sleep = clock.sleep
    with pytest.raises(Stop):
        await call.refresh_credentials()
    assert clock.waits == [900.0] * 6
    assert [m["type"] for m in page.sent] == ["ice-servers"] * 3  # admitted, in_call, in_call again
    usernames = [m["ice_servers"][1]["username"] for m in page.sent]
    assert len(set(usernames)) == 3  # a fresh credential each time


async def test_no_refresh_without_turn() -> None:
    call, page = member(rooms.IN_CALL, SignallingSettings(ice_servers=(STUN,)))
    clock = Clock(call, [rooms.IN_CALL, rooms.IN_CALL])
    call.sleep = clock.sleep
    with pytest.raises(Stop):
        await call.refresh_credentials()
    assert clock.waits == [30.0] * 3 and page.sent == []  # at least half a minute apart


class Hub:
    """Records what the socket publishes."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str | None, str]] = []

    async def emit(
        self, channel: str, event: dict[str, Any], *, to: str | None = None, origin: str = "server"
    ) -> bool:
        self.sent.append((channel, event, to, origin))
        return True

    @asynccontextmanager
    async def listen(
        self, channels: list[str], deliver: Any, *, origin: str, peer_id: str | None = None
    ) -> AsyncIterator[None]:
        self.listening = (channels, deliver, origin, peer_id)
        yield


class Participants:
    """A sessionmaker whose one query lists the appointment's participant ids."""

    def __init__(self, *ids: str) -> None:
        self.ids, self.reads = [uuid.UUID(i) for i in ids], 0

    def __call__(self) -> Participants:
        return self

    async def __aenter__(self) -> Participants:
        self.reads += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def scalars(self, statement: object) -> list[uuid.UUID]:
        return self.ids


CITIZEN, PARTNER, LATE = (str(uuid.uuid4()) for _ in range(3))
OFFICIAL = f"official:{uuid.uuid4()}"


def in_call(peer_id: str, known: Participants, *, signals_official: bool) -> tuple[CallMember, Page, Hub]:
    hub = Hub()
    call, page = member(
        hub=hub,
        sessionmaker=known,
        peer_id=peer_id,
        signals_official=signals_official,
        participant_ids={CITIZEN, PARTNER},  # as of the welcome
    )
    return call, page, hub


def test_a_relayed_signal_says_who_sent_it_from_which_page() -> None:
    data = {"candidate": None}
    event = {"type": "signal", "from": CITIZEN, "data": data, "page": "ab12", "x": 1}
    assert relayed_signal(event) == {"type": "signal", "from": CITIZEN, "data": data, "page": "ab12"}
    malformed = {"type": "signal", "from": CITIZEN, "page": 7}
    assert relayed_signal(malformed) == {"type": "signal", "from": CITIZEN, "data": {}, "page": None}


async def test_a_signal_goes_to_the_peer_with_the_senders_page() -> None:
    call, page, hub = in_call(CITIZEN, Participants(CITIZEN, PARTNER), signals_official=True)
    data = {"candidate": None}
    await call.relay(Signal(to=PARTNER, data=data))
    await call.relay(Signal(to=OFFICIAL, data=data))
    event = protocol.signal(CITIZEN, data, protocol.page_id("session-1"))
    channel = appointment_channel(APPOINTMENT)
    assert hub.sent == [(channel, event, PARTNER, "socket-1"), (channel, event, OFFICIAL, "socket-1")]
    assert page.errors == []


@pytest.mark.parametrize(
    ("sender", "signals_official", "to", "allowed", "reads"),
    [
        (CITIZEN, True, PARTNER, True, 0),
        (CITIZEN, True, OFFICIAL, True, 0),
        (CITIZEN, True, CITIZEN, False, 0),  # not to itself
        (CITIZEN, True, LATE, True, 1),  # invited after the welcome: read again
        (CITIZEN, True, "someone", False, 1),
        (OFFICIAL, False, CITIZEN, True, 0),
        (OFFICIAL, False, f"official:{uuid.uuid4()}", False, 1),  # the official signals citizens only
        (OFFICIAL, False, OFFICIAL, False, 0),
    ],
)
async def test_who_a_page_may_signal(
    sender: str, signals_official: bool, to: str, allowed: bool, reads: int
) -> None:
    known = Participants(CITIZEN, PARTNER, LATE)
    call, page, hub = in_call(sender, known, signals_official=signals_official)
    await call.relay(Signal(to=to, data={"candidate": None}))
    assert (len(hub.sent), page.errors) == ((1, []) if allowed else (0, [("not_allowed", "unknown peer")]))
    assert known.reads == reads


def test_the_calls_own_traffic_as_the_page_hears_it() -> None:
    call, _ = member()
    peer = {"id": PARTNER, "role": "partner", "name": "Sam"}
    joined = Envelope(origin="socket-2", to=None, event=protocol.announcement(peer, "session-2"))
    page = protocol.page_id("session-2")
    assert call.traffic(joined) == protocol.peer_joined(peer, page)
    again = Envelope(origin="socket-3", to=None, event=protocol.announcement(peer, "session-2"))
    assert call.traffic(again) == protocol.peer_reconnected(peer, page)
    stale = Envelope(origin="socket-2", to=None, event=protocol.peer_left(PARTNER, "disconnected"))
    assert call.traffic(stale) is None  # socket-3 replaced it
    left = Envelope(origin="socket-3", to=None, event=protocol.peer_left(PARTNER, "hangup"))
    assert call.traffic(left) == protocol.peer_left(PARTNER, "hangup")
    offer = protocol.signal(PARTNER, {"description": {"type": "offer", "sdp": "v=0"}}, page)
    assert call.traffic(Envelope(origin="socket-3", to=CITIZEN, event=offer)) == offer
    assert call.traffic(Envelope(origin="server", to=None, event=protocol.ended("completed"))) is None


async def test_a_chat_line_goes_to_the_call_and_back_until_the_page_floods() -> None:
    hub, sender = Hub(), {"id": CITIZEN, "role": "citizen", "name": "Jan"}
    budget = chat.ChatBudget(burst=2, per_second=1.0, clock=lambda: 0.0)
    call, page = member(hub=hub, you=sender, budget=budget)
    for text in ("Hoi", "Hoort u mij?", "Hallo?"):
        await call.say(text)
    lines = [event for _, event, _, _ in hub.sent]
    assert [(line["from"], line["text"], line["scope"]) for line in lines] == [
        (sender, "Hoi", "call"),
        (sender, "Hoort u mij?", "call"),
    ]
    assert [to for _, _, to, _ in hub.sent] == [None, None]  # everyone in the call
    assert page.sent == lines  # its own lines back: the acknowledgement
    assert page.errors == [("rate_limited", "too many chat messages; wait a moment")]


async def test_events_reach_the_page_only_once_it_is_served() -> None:
    hub, delivered, handled, stopped = Hub(), list[str](), list[object](), asyncio.Event()
    call, _ = member(hub=hub, page=Page("enter", "leave"))

    async def deliver(envelope: Envelope) -> None:
        delivered.append(envelope.event["type"])

    async def handle(message: object) -> None:
        handled.append(message)

    async def participants_refresh() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    async with call.listen(deliver, "team.abc"):
        channels, after_welcome, origin, peer_id = hub.listening
        assert channels == [appointment_channel(APPOINTMENT), "team.abc"]
        assert (origin, peer_id) == ("socket-1", "p1")  # its own events and others' are dropped
        early = asyncio.create_task(after_welcome(Envelope(origin="server", to=None, event={"type": "x"})))
        await asyncio.sleep(0)
        assert delivered == []  # subscribed, but the page has no welcome yet
        await call.serve(handle, participants_refresh())
        await early
    assert delivered == ["x"] and handled == ["enter", "leave"]
    await asyncio.wait_for(stopped.wait(), 1)  # the socket closed: its background work stops


async def test_leaving_tells_the_others_why() -> None:
    hub = Hub()
    call, _ = member(hub=hub)
    await call.leave("disconnected")
    left = protocol.peer_left("p1", "disconnected")
    assert hub.sent == [(appointment_channel(APPOINTMENT), left, None, "socket-1")]
