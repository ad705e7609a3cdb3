"""What sockets tell about an appointment and its peers, read from the database."""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

from backend import rooms
from backend.calls import peer_of
from backend.db.models import Appointment, Official
from backend.timefmt import iso_local

_OFFICIAL_PEER: Final = re.compile(r"official:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def appointment_info(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": str(appointment.id),
        "reference": appointment.reference,
        "service": appointment.service.name,
        "start": iso_local(appointment.start_at),
        "end": iso_local(appointment.end_at),
    }


def official_peer(official: Official) -> dict[str, Any]:
    return {"id": official_peer_id(official.id), "role": "official", "name": official.name}


def official_peer_id(official_id: uuid.UUID) -> str:
    return f"official:{official_id}"


def is_official_peer(peer_id: str) -> bool:
    return _OFFICIAL_PEER.fullmatch(peer_id) is not None


def room_peers(appointment: Appointment, exclude: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """The participants whose stored state is ``in_call`` (the others in the call)."""
    return [peer_of(p) for p in appointment.participants if p.state == rooms.IN_CALL and p.id != exclude]
