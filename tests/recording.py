"""A recording fake of the live pages port (backend.live.LivePages), for domain tests.

Every event is kept as ``(name, arguments)`` in call order, so a test asserts the exact sequence
the domain told the pages (as aiortc's tests record track states), without sockets or a hub."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from backend.live import Origin

Event = tuple[str, dict[str, Any]]


class RecordingPages:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def _keep(self, name: str, **arguments: Any) -> None:
        self.events.append((name, arguments))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    async def participant_state(
        self, appointment_id: UUID, participant_id: UUID, state: str, *, origin: Origin = None
    ) -> None:
        self._keep("participant_state", participant_id=participant_id, state=state, origin=origin)

    async def desks_changed(self, team_id: UUID, appointment_id: UUID, *, origin: Origin = None) -> None:
        self._keep("desks_changed", appointment_id=appointment_id, origin=origin)

    async def peer_joined(
        self, appointment_id: UUID, peer: Mapping[str, Any], session_id: str | None, *, origin: Origin = None
    ) -> None:
        self._keep("peer_joined", peer=dict(peer), session_id=session_id, origin=origin)

    async def peer_left(self, appointment_id: UUID, participant_id: UUID, *, origin: Origin = None) -> None:
        self._keep("peer_left", participant_id=participant_id, origin=origin)

    async def call_ended(self, appointment_id: UUID, outcome: str, *, origin: Origin = None) -> None:
        self._keep("call_ended", outcome=outcome, origin=origin)

    async def taken_over(self, appointment_id: UUID, official_id: UUID, *, origin: Origin = None) -> None:
        self._keep("taken_over", official_id=official_id, origin=origin)

    async def revoked(self, appointment_id: UUID, participant_id: UUID) -> None:
        self._keep("revoked", participant_id=participant_id)

    async def document_changed(self, appointment_id: UUID, action: str, info: Mapping[str, Any]) -> None:
        self._keep("document_changed", action=action, info=dict(info))

    async def payment_changed(self, appointment_id: UUID, info: Mapping[str, Any]) -> None:
        self._keep("payment_changed", info=dict(info))

    async def identify_requested(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        self._keep("identify_requested", participant_id=participant_id, level=level)

    async def identified(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        self._keep("identified", participant_id=participant_id, level=level)

    async def signed_out(self, team_ids: Sequence[UUID], official_id: UUID) -> None:
        self._keep("signed_out", official_id=official_id)

    async def mandate_ended(self, team_ids: Sequence[UUID], mandate_id: UUID) -> None:
        self._keep("mandate_ended", mandate_id=mandate_id)

    async def team_access_ended(self, team_id: UUID, official_id: UUID) -> None:
        self._keep("team_access_ended", team_id=team_id, official_id=official_id)
