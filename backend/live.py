"""The domain's one port to the live pages: waiting rooms, desks and call pages.

The domain changes the database, commits, and only then tells the pages through :class:`LivePages`,
one named method per event in the words of the domain. It never builds a protocol message, names a
channel or knows the transport: ``signalling.live.HubPages`` implements the port (protocol messages
over the channels hub) and ``backend/app.py``, the composition root, wires the two. So imports run
one way, backend <- signalling, the way Litestar's channels plugin knows its backends only through
``ChannelsBackend`` (docs/adr/0009-live-port.md).

Telling is best effort: the database stays the truth and a page that missed an event reads the
state again when it reconnects. No method raises for a failing transport.

``origin`` is the opaque id of the page (socket) that caused the event; that page does not hear its
own event back. ``None``: the server caused it (an HTTP handler, the housekeeper).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

Origin = str | None


@runtime_checkable
class LivePages(Protocol):
    async def participant_state(
        self, appointment_id: UUID, participant_id: UUID, state: str, *, origin: Origin = None
    ) -> None:
        """The participant's own pages: their state is ``state`` now (backend.rooms)."""

    async def desks_changed(self, team_id: UUID, appointment_id: UUID, *, origin: Origin = None) -> None:
        """The team's desks and call pages: the appointment or its participants changed."""

    async def peer_joined(
        self, appointment_id: UUID, peer: Mapping[str, Any], session_id: str | None, *, origin: Origin = None
    ) -> None:
        """The call: ``peer`` (backend.calls.peer_of) entered it from the page ``session_id``."""

    async def peer_left(self, appointment_id: UUID, participant_id: UUID, *, origin: Origin = None) -> None:
        """The call: the participant hung up or was removed."""

    async def call_ended(self, appointment_id: UUID, outcome: str, *, origin: Origin = None) -> None:
        """Everyone in the appointment: it ended with ``outcome`` (backend.rooms.OUTCOMES)."""

    async def taken_over(self, appointment_id: UUID, official_id: UUID, *, origin: Origin = None) -> None:
        """The call: ``official_id`` leads it now; the call page of the official before them closes."""

    async def revoked(self, appointment_id: UUID, participant_id: UUID) -> None:
        """The participant's pages: their link was withdrawn."""

    async def document_changed(self, appointment_id: UUID, action: str, info: Mapping[str, Any]) -> None:
        """Everyone in the appointment: a document was ``added``, ``updated`` or ``removed``."""

    async def payment_changed(self, appointment_id: UUID, info: Mapping[str, Any]) -> None:
        """Everyone in the appointment: a payment was asked, or its status changed."""

    async def identify_requested(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        """The participant's pages: the official asks them to identify with DigiD at ``level``."""

    async def identified(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        """The appointment's call pages: the participant identified with DigiD at ``level``."""

    async def signed_out(self, team_ids: Sequence[UUID], official_id: UUID) -> None:
        """The official's desk and call pages (in ``team_ids``): their provider ended their sessions."""

    async def mandate_ended(self, team_ids: Sequence[UUID], mandate_id: UUID) -> None:
        """The desk and call pages acting under the mandate (for ``team_ids``): it was revoked."""

    async def team_access_ended(self, team_id: UUID, official_id: UUID) -> None:
        """The official's desk and call pages that reach ``team_id``: a team admin took them off it."""


class NoLivePages:
    """The port where no page listens (the separate worker process, scripts): every event is dropped."""

    async def participant_state(
        self, appointment_id: UUID, participant_id: UUID, state: str, *, origin: Origin = None
    ) -> None:
        return None

    async def desks_changed(self, team_id: UUID, appointment_id: UUID, *, origin: Origin = None) -> None:
        return None

    async def peer_joined(
        self, appointment_id: UUID, peer: Mapping[str, Any], session_id: str | None, *, origin: Origin = None
    ) -> None:
        return None

    async def peer_left(self, appointment_id: UUID, participant_id: UUID, *, origin: Origin = None) -> None:
        return None

    async def call_ended(self, appointment_id: UUID, outcome: str, *, origin: Origin = None) -> None:
        return None

    async def taken_over(self, appointment_id: UUID, official_id: UUID, *, origin: Origin = None) -> None:
        return None

    async def revoked(self, appointment_id: UUID, participant_id: UUID) -> None:
        return None

    async def document_changed(self, appointment_id: UUID, action: str, info: Mapping[str, Any]) -> None:
        return None

    async def payment_changed(self, appointment_id: UUID, info: Mapping[str, Any]) -> None:
        return None

    async def identify_requested(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        return None

    async def identified(self, appointment_id: UUID, participant_id: UUID, level: str) -> None:
        return None

    async def signed_out(self, team_ids: Sequence[UUID], official_id: UUID) -> None:
        return None

    async def mandate_ended(self, team_ids: Sequence[UUID], mandate_id: UUID) -> None:
        return None

    async def team_access_ended(self, team_id: UUID, official_id: UUID) -> None:
        return None
