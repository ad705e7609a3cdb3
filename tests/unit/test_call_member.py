"""What the citizen's and the official's call sockets share (signalling/call_member.py), without
sockets: a recording page and hub, and a clock the test moves."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from backend import rooms
from backend.settings import Secret, SignallingSettings
from signalling.call_member import CallMember

STUN = {"urls": ["stun:turn.example.nl:3478"]}
TURN = SignallingSettings(
    ice_servers=(STUN,), turn_urls=("turn:turn.example.nl:3478",), turn_secret=Secret("coturn-secret")
)
APPOINTMENT = uuid.uuid4()


class Page:
    """Records what the socket sends its page."""

    def __init__(self) -> None:
        self.id = "socket-1"
        self.sent: list[dict[str, Any]] = []
        self.errors: list[tuple[str, str]] = []

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


def member(state: str = rooms.IN_CALL, settings: SignallingSettings = TURN) -> tuple[CallMember, Page]:
    page = Page()
    call = CallMember(
        page,  # type: ignore[arg-type]
        settings,
        sessionmaker=None,  # type: ignore[arg-type]
        hub=None,  # type: ignore[arg-type]
        appointment_id=APPOINTMENT,
        peer_id="p1",
        session_id="session-1",
        state=state,
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
