"""The live pages port (:class:`backend.live.LivePages`) over the hub: each domain event becomes its
protocol message (signalling.protocol) on the appointment's or the team's channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from backend.live import Origin
from signalling import protocol
from signalling.hub import SERVER_ORIGIN, Hub, appointment_channel, team_channel


class HubPages:
    """Implements :class:`backend.live.LivePages`; ``origin`` None is the server."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def _to_appointment(
        self, appointment_id: UUID, event: dict[str, Any], *, to: UUID | None = None, origin: Origin = None
    ) -> None:
        await self.hub.emit(
            appointment_channel(appointment_id),
            event,
            to=None if to is None else str(to),
            origin=origin or SERVER_ORIGIN,
        )

    async def participant_state(
        self, appointment_id: UUID, participant_id: UUID, state: str, *, origin: Origin = None
    ) -> None:
        await self._to_appointment(appointment_id, protocol.state(state), to=participant_id, origin=origin)

    async def desks_changed(self, team_id: UUID, appointment_id: UUID, *, origin: Origin = None) -> None:
        await self.hub.emit(
            team_channel(team_id), protocol.refresh(appointment_id), origin=origin or SERVER_ORIGIN
        )

    async def peer_joined(
        self, appointment_id: UUID, peer: Mapping[str, Any], session_id: str | None, *, origin: Origin = None
    ) -> None:
        await self._to_appointment(appointment_id, protocol.announcement(peer, session_id), origin=origin)

    async def peer_left(self, appointment_id: UUID, participant_id: UUID, *, origin: Origin = None) -> None:
        await self._to_appointment(appointment_id, protocol.peer_left(str(participant_id)), origin=origin)

    async def call_ended(self, appointment_id: UUID, outcome: str, *, origin: Origin = None) -> None:
        await self._to_appointment(appointment_id, protocol.ended(outcome), origin=origin)

    async def taken_over(self, appointment_id: UUID, official_id: UUID, *, origin: Origin = None) -> None:
        await self._to_appointment(appointment_id, protocol.taken_over(official_id), origin=origin)

    async def revoked(self, appointment_id: UUID, participant_id: UUID) -> None:
        await self._to_appointment(appointment_id, protocol.revoked(), to=participant_id)

    async def document_changed(self, appointment_id: UUID, action: str, info: Mapping[str, Any]) -> None:
        await self._to_appointment(appointment_id, protocol.document(action, info))

    async def payment_changed(self, appointment_id: UUID, info: Mapping[str, Any]) -> None:
        await self._to_appointment(appointment_id, protocol.payment(info))

    async def identify_requested(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        await self._to_appointment(appointment_id, protocol.identify(level), to=participant_id)

    async def identified(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        await self._to_appointment(appointment_id, protocol.identity(str(participant_id), level))

    async def signed_out(self, team_ids: Sequence[UUID], official_id: UUID) -> None:
        for team_id in team_ids:  # the desk and call sockets listen on their teams' channels
            await self.hub.emit(team_channel(team_id), protocol.signed_out(official_id), origin=SERVER_ORIGIN)

    async def mandate_ended(self, team_ids: Sequence[UUID], mandate_id: UUID) -> None:
        for team_id in team_ids:  # sockets acting under the mandate listen on its teams' channels
            await self.hub.emit(
                team_channel(team_id), protocol.mandate_ended(mandate_id), origin=SERVER_ORIGIN
            )

    async def team_access_ended(self, team_id: UUID, official_id: UUID) -> None:
        await self.hub.emit(
            team_channel(team_id), protocol.team_access_ended(team_id, official_id), origin=SERVER_ORIGIN
        )
