"""What a committed change sets going: the outbox sends its mail now, the desks read again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from backend.db.models import Appointment
from backend.live import LivePages, NoLivePages


@runtime_checkable
class Wakeable(Protocol):
    def wake(self) -> None:
        """Do the next round now instead of at the next poll."""


@dataclass(frozen=True)
class Notify:
    """After a commit that queued mail or changed an appointment.

    ``outbox`` is the in-process outbox worker, or None where ``balie worker`` sends the mail (it
    finds the rows at its next poll).
    """

    live: LivePages = field(default_factory=NoLivePages)
    outbox: Wakeable | None = None

    def mail_queued(self) -> None:
        if self.outbox is not None:
            self.outbox.wake()

    async def appointment_changed(self, appointment: Appointment) -> None:
        self.mail_queued()
        await self.live.desks_changed(appointment.team_id, appointment.id)
