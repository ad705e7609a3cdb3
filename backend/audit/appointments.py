"""An appointment's life before and around the call: booked, moved, cancelled, missed; and who is
invited to it.

``actor`` is ``official:<id>`` when an official did it at the desk, ``citizen:<appointment id>``
when the citizen did it with their own link (booking.flow), ``system`` for the housekeeping jobs.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _appointment_event, official_actor
from backend.db.models import Appointment, Participant


def appointment_booked(
    session: AsyncSession,
    appointment: Appointment,
    *,
    actor: str,
    service_id: UUID,
    by_official: bool,
    origin: str = "",
) -> None:
    _appointment_event(
        session,
        actor,
        "appointment.booked",
        appointment,
        origin=origin,
        by_official=by_official,
        service=str(service_id),
    )


def appointment_rescheduled(
    session: AsyncSession, appointment: Appointment, *, actor: str, moved_from: dt.datetime, origin: str = ""
) -> None:
    """``from`` and ``to``: the old and the new start."""
    details = {"from": moved_from.isoformat(), "to": appointment.start_at.isoformat()}
    _appointment_event(session, actor, "appointment.rescheduled", appointment, origin=origin, **details)


def appointment_cancelled(
    session: AsyncSession, appointment: Appointment, *, actor: str, with_reason: bool, origin: str = ""
) -> None:
    """Whether a reason was given, not the reason (free text)."""
    _appointment_event(
        session, actor, "appointment.cancelled", appointment, origin=origin, with_reason=with_reason
    )


def no_show_marked(session: AsyncSession, appointment: Appointment) -> None:
    """Housekeeping: nobody came before the join window closed."""
    _appointment_event(session, "system", "appointment.no_show", appointment, automatic=True)


# Ids and the role only: the name and address of whoever was invited stay out of the trail.


def participant_invited(
    session: AsyncSession,
    appointment: Appointment,
    participant: Participant,
    *,
    invited_by: UUID | None,
    origin: str = "",
) -> None:
    """``invited_by`` None: the booking invited the partner itself (actor ``system``)."""
    _appointment_event(
        session,
        official_actor(invited_by) if invited_by else "system",
        "participant.invite",
        appointment,
        origin=origin,
        participant=str(participant.id),
        role=participant.role,
    )


def participant_revoked(
    session: AsyncSession,
    appointment: Appointment,
    participant: Participant,
    official_id: UUID,
    *,
    origin: str = "",
) -> None:
    _appointment_event(
        session,
        official_actor(official_id),
        "participant.revoke",
        appointment,
        origin=origin,
        participant=str(participant.id),
        role=participant.role,
    )
