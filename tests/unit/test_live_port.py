"""The live pages port: every implementation speaks the whole Protocol, and the hub's one turns each
domain event into its protocol message (docs/signalling.md) on the right channel."""

from __future__ import annotations

import inspect
import uuid
from typing import Any

import pytest

from backend.live import LivePages, NoLivePages
from signalling.hub import appointment_channel, team_channel
from signalling.live import HubPages
from tests.recording import RecordingPages

APPOINTMENT, TEAM, PERSON, OFFICIAL = (uuid.uuid4() for _ in range(4))


def port_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize("implementation", [HubPages, NoLivePages, RecordingPages])
def test_every_implementation_has_the_ports_methods(implementation: type) -> None:
    assert port_methods(implementation) == port_methods(LivePages)


class EmittingHub:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str | None, str]] = []

    async def emit(
        self, channel: str, event: dict[str, Any], *, to: str | None = None, origin: str = "server"
    ) -> bool:
        self.sent.append((channel, event, to, origin))
        return True


async def test_each_event_becomes_its_message() -> None:
    hub = EmittingHub()
    pages = HubPages(hub)  # type: ignore[arg-type]
    peer = {"id": str(PERSON), "role": "citizen", "name": "Fatima"}
    await pages.participant_state(APPOINTMENT, PERSON, "admitted", origin="socket-1")
    await pages.desks_changed(TEAM, APPOINTMENT)
    await pages.peer_joined(APPOINTMENT, peer, "page-1", origin="socket-1")
    await pages.peer_left(APPOINTMENT, PERSON)
    await pages.call_ended(APPOINTMENT, "completed")
    await pages.taken_over(APPOINTMENT, OFFICIAL)
    await pages.revoked(APPOINTMENT, PERSON)
    await pages.document_changed(APPOINTMENT, "removed", {"id": "d1"})
    await pages.payment_changed(APPOINTMENT, {"id": "p1", "status": "paid"})
    await pages.identify_requested(APPOINTMENT, PERSON, "midden")
    await pages.identified(APPOINTMENT, PERSON, "midden")
    call, team, me = appointment_channel(APPOINTMENT), team_channel(TEAM), str(PERSON)
    assert hub.sent == [
        (call, {"type": "state", "state": "admitted"}, me, "socket-1"),
        (team, {"type": "refresh", "appointment_id": str(APPOINTMENT)}, None, "server"),
        (call, {"type": "peer-joined", "peer": peer, "session": "page-1"}, None, "socket-1"),
        (call, {"type": "peer-left", "peer_id": me, "reason": "hangup"}, None, "server"),
        (call, {"type": "ended", "outcome": "completed"}, None, "server"),
        (call, {"type": "taken-over", "official_id": str(OFFICIAL)}, None, "server"),
        (call, {"type": "revoked"}, me, "server"),
        (call, {"type": "document", "action": "removed", "document": {"id": "d1"}}, None, "server"),
        (call, {"type": "payment", "payment": {"id": "p1", "status": "paid"}}, None, "server"),
        (call, {"type": "identify", "level": "midden"}, me, "server"),
        (call, {"type": "identity", "peer_id": me, "level": "midden"}, None, "server"),
    ]
