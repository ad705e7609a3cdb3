"""The call lifecycle: waiting room, admission, call and end, for sockets and desk pages alike.

Every function changes the database under a row lock on the appointment, writes an audit event,
commits, and only then publishes: the database is the truth, the events only tell the live pages.
``origin`` is the socket that caused the change (its own events are not echoed back to it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, metrics, presence, rooms
from backend.clock import Clock, system_clock
from backend.crypto import Keyring
from backend.db.locks import lock_appointment
from backend.db.models import Appointment, AppointmentStatus, Participant
from backend.identity import binding
from backend.live import LivePages, Origin
from backend.participants import capacity
from backend.rooms import NotAllowed
from backend.timefmt import AMSTERDAM, iso_local

__all__ = [
    "CallIsFull",
    "NotAllowed",
    "admit",
    "desk_queue",
    "end_call",
    "enter_waiting_room",
    "join_call",
    "leave",
    "led_by_colleague",
    "take_over",
]


class CallIsFull(NotAllowed):
    """Admitting would put more people in the call than the service (and the mesh) allows."""


def peer_of(participant: Participant) -> dict[str, Any]:
    """How other pages in the call see this participant."""
    return {"id": str(participant.id), "role": participant.role, "name": participant.name}


async def _locked_appointment(session: AsyncSession, appointment_id: UUID, event: str) -> Appointment:
    """The appointment, freshly read and locked (PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE)."""
    appointment = await lock_appointment(session, appointment_id)
    if appointment is None:
        raise NotAllowed("missing", event, "the appointment does not exist")
    if not appointment.is_active:
        raise NotAllowed(appointment.status, event, f"the appointment is {appointment.status}")
    return appointment


def _member(appointment: Appointment, participant_id: UUID, event: str) -> Participant:
    for participant in appointment.participants:
        if participant.id == participant_id:
            return participant
    raise NotAllowed("missing", event, "not a participant of this appointment")


async def _tell_team(live: LivePages, appointment: Appointment, origin: Origin) -> None:
    await live.desks_changed(appointment.team_id, appointment.id, origin=origin)


async def enter_waiting_room(
    session: AsyncSession,
    live: LivePages,
    participant: Participant,
    *,
    origin: Origin = None,
    clock: Clock = system_clock,
) -> None:
    """``invited``/``left`` -> ``waiting`` (idempotent in ``waiting``); the appointment -> ``waiting``."""
    appointment = await _locked_appointment(session, participant.appointment_id, "enter")
    participant = _member(appointment, participant.id, "enter")
    if not binding.may_enter(participant):
        await session.commit()
        raise NotAllowed(participant.state, "enter", "identify with DigiD first")
    new_state = rooms.transition(participant.state, "enter")
    if new_state == participant.state:
        await session.commit()
        return
    now = clock()
    participant.state, participant.waiting_since = new_state, now
    appointment.status = rooms.appointment_status_after(appointment.status, "enter")
    appointment.waiting_since = appointment.waiting_since or now
    audit.waiting_room_entered(session, appointment, participant)
    await session.commit()
    await live.participant_state(appointment.id, participant.id, new_state, origin=origin)
    await _tell_team(live, appointment, origin)


async def admit(
    session: AsyncSession,
    live: LivePages,
    appointment: Appointment,
    official_id: UUID,
    participant_id: UUID | None = None,
    *,
    origin: Origin = None,
    client: str = "",
    clock: Clock = system_clock,
) -> list[Participant]:
    """Admit one waiting participant, or all of them when ``participant_id`` is None."""
    appointment = await _locked_appointment(session, appointment.id, "admit")
    waiting = [
        p
        for p in appointment.participants
        if p.state == rooms.WAITING and (participant_id is None or p.id == participant_id)
    ]
    refusal: NotAllowed | None = None
    present = [p for p in appointment.participants if p.state in (rooms.ADMITTED, rooms.IN_CALL)]
    if not waiting:
        refusal = NotAllowed(appointment.status, "admit", "nobody is waiting")
    elif len(present) + len(waiting) > capacity(appointment.service) - 1:  # - 1: the official's seat
        refusal = CallIsFull(appointment.status, "admit", "the call is full")
    if refusal is not None:
        reason = "call_full" if isinstance(refusal, CallIsFull) else "nobody_waiting"
        audit.admission_refused(session, appointment, official_id, reason=reason, origin=client)
        await session.commit()
        raise refusal
    now = clock()
    for participant in waiting:
        participant.state, participant.admitted_at = rooms.transition(participant.state, "admit"), now
    appointment.status = rooms.appointment_status_after(appointment.status, "admit")
    appointment.call_started_at = appointment.call_started_at or now
    appointment.assigned_official_id = appointment.assigned_official_id or official_id
    audit.participants_admitted(session, appointment, official_id, waiting, origin=client)
    await session.commit()
    metrics.admitted(appointment.team_id, [now - p.waiting_since for p in waiting if p.waiting_since])
    for participant in waiting:
        await live.participant_state(appointment.id, participant.id, rooms.ADMITTED, origin=origin)
    await _tell_team(live, appointment, origin)
    return waiting


async def join_call(
    session: AsyncSession,
    live: LivePages,
    participant: Participant,
    *,
    origin: Origin = None,
    session_id: str | None = None,
) -> None:
    """``admitted`` -> ``in_call``; again in ``in_call`` (a reconnected page) it only announces the peer.

    The others get an internal ``peer-joined`` carrying ``session_id``; each socket turns it into
    ``peer-joined`` or ``peer-reconnected`` depending on the session it knew (signalling.presence).
    """
    appointment = await _locked_appointment(session, participant.appointment_id, "join-call")
    participant = _member(appointment, participant.id, "join-call")
    old_state = participant.state
    participant.state = rooms.transition(old_state, "join-call")
    if participant.state != old_state:
        audit.call_joined(session, appointment, participant)
    await session.commit()
    if participant.state != old_state:
        await live.participant_state(appointment.id, participant.id, participant.state, origin=origin)
        await _tell_team(live, appointment, origin)
    await live.peer_joined(appointment.id, peer_of(participant), session_id, origin=origin)


async def leave(
    session: AsyncSession, live: LivePages, participant: Participant, *, origin: Origin = None
) -> None:
    """``waiting``/``admitted``/``in_call`` -> ``left`` (idempotent in ``left``)."""
    appointment = await _locked_appointment(session, participant.appointment_id, "leave")
    participant = _member(appointment, participant.id, "leave")
    new_state = rooms.transition(participant.state, "leave")
    if new_state == participant.state:
        await session.commit()
        return
    participant.state, participant.waiting_since = new_state, None
    audit.call_left(session, appointment, participant)
    await session.commit()
    await live.participant_state(appointment.id, participant.id, new_state, origin=origin)
    await live.peer_left(appointment.id, participant.id, origin=origin)
    await _tell_team(live, appointment, origin)


async def end_call(
    session: AsyncSession,
    live: LivePages,
    appointment: Appointment,
    official_id: UUID,
    outcome: str,
    *,
    origin: Origin = None,
    client: str = "",
    clock: Clock = system_clock,
) -> None:
    """End the appointment with ``outcome`` (``completed`` or ``no_show``); everyone -> ``ended``."""
    if outcome not in rooms.OUTCOMES:
        raise ValueError(f"outcome must be completed or no_show, not {outcome!r}")
    appointment = await _locked_appointment(session, appointment.id, "end")
    appointment.status = rooms.appointment_status_after(appointment.status, "end", outcome)
    appointment.ended_at = clock()
    appointment.assigned_official_id = appointment.assigned_official_id or official_id
    for participant in appointment.participants:
        participant.state = rooms.transition(participant.state, "end")
    audit.call_ended(session, appointment, official_id, outcome=outcome, origin=client)
    await session.commit()
    await live.call_ended(appointment.id, outcome, origin=origin)
    await _tell_team(live, appointment, origin)


def led_by_colleague(appointment: Appointment, official_id: UUID) -> bool:
    """Whether another official leads this running call (the one who admitted first, or took it
    over): a call has one official, so a colleague's page offers to take it over instead."""
    return (
        appointment.status in (AppointmentStatus.WAITING, AppointmentStatus.IN_CALL)
        and appointment.call_started_at is not None
        and appointment.assigned_official_id not in (None, official_id)
    )


async def take_over(
    session: AsyncSession,
    live: LivePages,
    appointment: Appointment,
    official_id: UUID,
    *,
    origin: Origin = None,
    client: str = "",
) -> None:
    """``official_id`` leads the call from now on; the page of the official before them closes."""
    appointment = await _locked_appointment(session, appointment.id, "take-over")
    before = appointment.assigned_official_id
    appointment.assigned_official_id = official_id
    if before != official_id:
        audit.call_taken_over(session, appointment, official_id, before=before, origin=client)
    await session.commit()
    if before not in (None, official_id):
        await live.taken_over(appointment.id, official_id, origin=origin)


async def desk_appointments(
    session: AsyncSession, team_ids: Collection[UUID], day_local: dt.date
) -> list[Appointment]:
    """What the desk lists: the appointments of ``team_ids`` on ``day_local`` (Europe/Amsterdam),
    and whoever waits or talks now whatever the day (a citizen who joins at 23:45 for an
    appointment at midnight is on the desk before the day turns)."""
    if not team_ids:
        return []
    start = dt.datetime.combine(day_local, dt.time(), AMSTERDAM).astimezone(dt.UTC)
    end = dt.datetime.combine(day_local + dt.timedelta(days=1), dt.time(), AMSTERDAM).astimezone(dt.UTC)
    rows = await session.scalars(
        select(Appointment)
        .where(
            Appointment.team_id.in_(team_ids),
            or_(
                and_(Appointment.start_at >= start, Appointment.start_at < end),
                Appointment.status.in_((AppointmentStatus.WAITING, AppointmentStatus.IN_CALL)),
            ),
        )
        .order_by(Appointment.start_at, Appointment.reference)
    )
    return list(rows.unique())


async def desk_queue(
    session: AsyncSession,
    team_ids: list[UUID],
    day_local: dt.date,
    keyring: Keyring | None = None,
    *,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The ``queue`` payload: the appointments of ``team_ids`` on ``day_local`` (Europe/Amsterdam).

    With ``keyring``, each participant carries ``identity``: the DigiD badge (masked BSN, level, time).
    Each participant says whether a page of theirs is open at ``now`` (backend/presence.py).
    """
    appointments = await desk_appointments(session, team_ids, day_local)
    return [_queue_entry(a, now, keyring) for a in appointments]


def _queue_entry(
    appointment: Appointment, now: dt.datetime, keyring: Keyring | None = None
) -> dict[str, Any]:
    return {
        "id": str(appointment.id),
        "reference": appointment.reference,
        "service": appointment.service.name,
        "start": iso_local(appointment.start_at),
        "end": iso_local(appointment.end_at),
        "status": appointment.status,
        "citizen_name": appointment.citizen_name,
        "created_by": appointment.created_by.name if appointment.created_by else None,
        "participants": [
            {
                "id": str(p.id),
                "name": p.name,
                "role": p.role,
                "state": p.state,
                "waiting_since": iso_local(p.waiting_since) if p.waiting_since else None,
                "present": presence.is_present(p, now),
                "gone_since": iso_local(gone) if (gone := presence.gone_since(p, now)) else None,
                "identity": binding.badge(keyring, p) if keyring else None,
            }
            for p in appointment.participants
        ],
    }
