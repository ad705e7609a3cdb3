"""A call from the waiting room to its end (backend.calls, and housekeeping for calls left open).

Ids and outcomes only: no names, e-mail addresses, SDP or chat in the audit trail. The official's
events carry the client address of their page (``origin``); a participant's carry none.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _appointment_event, official_actor, participant_actor
from backend.db.models import Appointment, Participant


def waiting_room_entered(session: AsyncSession, appointment: Appointment, participant: Participant) -> None:
    _appointment_event(session, participant_actor(participant.id), "call.enter", appointment)


def participants_admitted(
    session: AsyncSession,
    appointment: Appointment,
    official_id: UUID,
    participants: Iterable[Participant],
    *,
    origin: str = "",
) -> None:
    _appointment_event(
        session,
        official_actor(official_id),
        "call.admit",
        appointment,
        origin=origin,
        participants=[str(p.id) for p in participants],
    )


def admission_refused(
    session: AsyncSession, appointment: Appointment, official_id: UUID, *, reason: str, origin: str = ""
) -> None:
    """``reason``: ``nobody_waiting`` or ``call_full``."""
    _appointment_event(
        session,
        official_actor(official_id),
        "call.admit",
        appointment,
        origin=origin,
        result="refused",
        reason=reason,
    )


def call_joined(session: AsyncSession, appointment: Appointment, participant: Participant) -> None:
    _appointment_event(session, participant_actor(participant.id), "call.join", appointment)


def call_left(session: AsyncSession, appointment: Appointment, participant: Participant) -> None:
    _appointment_event(session, participant_actor(participant.id), "call.leave", appointment)


def call_ended(
    session: AsyncSession, appointment: Appointment, official_id: UUID, *, outcome: str, origin: str = ""
) -> None:
    """The official ended the call: ``outcome`` ``completed`` or ``no_show``."""
    _appointment_event(
        session, official_actor(official_id), "call.end", appointment, origin=origin, outcome=outcome
    )


def forgotten_call_closed(session: AsyncSession, appointment: Appointment, *, outcome: str) -> None:
    """Housekeeping ended a call left open past its planned end (also ``call.end``, by ``system``)."""
    _appointment_event(
        session, "system", "call.end", appointment, automatic=True, outcome=outcome, left_open=True
    )


def call_taken_over(
    session: AsyncSession,
    appointment: Appointment,
    official_id: UUID,
    *,
    before: UUID | None,
    origin: str = "",
) -> None:
    """``before``: the official who led the call until now (``"None"`` when nobody did)."""
    _appointment_event(
        session,
        official_actor(official_id),
        "call.take_over",
        appointment,
        origin=origin,
        before=str(before),
    )
