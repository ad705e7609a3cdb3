"""Chat: relayed to the pages that may read it, never stored and never logged.

Who may read a line is decided where it is delivered (signalling.citizen, signalling.official): a
``call`` line reaches the peers in the call and the official's call page; a ``desk`` line (the
desk to the waiting room: "Ik ben 5 minuten later") reaches the appointment's people who are not
in the call yet. The text passes through memory only: the channels backend carries it between app
nodes (Redis pub/sub and PostgreSQL NOTIFY keep nothing), and no log line contains it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from backend import rooms
from backend.timefmt import iso_local
from signalling import protocol

BURST: Final = 10
"""Lines a socket may send in a row; after that one per second (a flood never reaches the others)."""
PER_SECOND: Final = 1.0
DESK_READERS: Final = frozenset({rooms.INVITED, rooms.WAITING, rooms.ADMITTED})
"""Participant states that see the desk's messages: everyone who is not in the call (yet)."""


class ChatBudget:
    """A token bucket per socket."""

    def __init__(
        self, burst: int = BURST, per_second: float = PER_SECOND, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self.tokens = float(burst)
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def line(
    sender: Mapping[str, Any],
    text: str,
    scope: str,
    appointment_id: str | None = None,
    *,
    sent_at: dt.datetime,
) -> dict[str, Any]:
    """The ``chat`` message for a line sent at ``sent_at``."""
    return protocol.chat(
        sender=sender,
        text=text,
        sent_at=iso_local(sent_at),
        scope=scope,
        appointment_id=appointment_id,
    )


def citizen_reads(event: Mapping[str, Any], state: str) -> bool:
    """Whether a participant in ``state`` gets this chat line."""
    scope = event.get("scope")
    if scope == "desk":
        return state in DESK_READERS
    return scope == "call" and state == rooms.IN_CALL
