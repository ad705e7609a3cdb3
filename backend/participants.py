"""Who may join an appointment: inviting a partner or an interpreter, and withdrawing the invitation.

:func:`invite` is the one way to add someone: the official's desk and call pages use it, and the
booking can use it for an ondertrouw partner. It works inside the caller's transaction (the caller
commits, then tells the live pages with :meth:`backend.live.LivePages.desks_changed`), so the participant and
the invitation email exist together or not at all.

A call is a mesh of at most four people, the official included (docs/adr/0001): the service's
``max_participants`` counts everyone in the call and :data:`HARD_LIMIT` caps it. Invitations stop
when every seat has a link; admission checks the seats again (backend.calls.admit).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, rooms
from backend.booking.tokens import hash_token, join_window, new_token
from backend.booking.validation import is_email_address
from backend.clock import Clock, system_clock
from backend.db.locks import lock_appointment
from backend.db.models import Appointment, Participant, ParticipantRole, Service
from backend.email.messages import queue_invitation
from backend.i18n import N_
from backend.live import LivePages
from backend.settings import Settings

HARD_LIMIT: Final = 4
"""People in one call, the official included: each browser sends a stream to every other one."""
INVITABLE_ROLES: Final = (ParticipantRole.PARTNER.value, ParticipantRole.INTERPRETER.value)
_MAX_NAME: Final = 200


def capacity(service: Service) -> int:
    """How many people fit in this service's calls, the official included (2 to 4)."""
    return max(2, min(int(service.max_participants or 2), HARD_LIMIT))


class InviteError(Exception):
    """An invitation that cannot be made. ``message`` is Dutch (marked with ``N_``) for the page."""

    code = "invalid"

    def __init__(self, message: str, errors: dict[str, str] | None = None, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.errors: dict[str, str] = errors or {}
        self.values = values
        """Placeholders in ``message`` (the page fills them in after translating)."""


class InvalidInvite(InviteError):
    code = "invalid"


class NoSeatLeft(InviteError):
    """Every seat of the call is taken: one is the official's, each other one has a working link."""

    code = "call_full"


class AppointmentOver(InviteError):
    code = "appointment_over"


@dataclass
class Invitation:
    participant: Participant
    join_token: str = field(repr=False)


@dataclass(frozen=True)
class InviteRequest:
    """What the official typed, cleaned."""

    name: str
    email: str
    role: str
    locale: str


def _clean(value: str) -> str:
    kept = "".join(ch for ch in value if unicodedata.category(ch) not in {"Cc", "Cf"})
    return " ".join(kept.split())


def check_invite(data: dict[str, Any], default_locale: str = "nl") -> InviteRequest:
    """The cleaned form; raises :class:`InvalidInvite` with a message per field."""
    name = _clean(str(data.get("name", "")))
    email = _clean(str(data.get("email", ""))).lower()
    role = str(data.get("role", ""))
    locale = str(data.get("locale", "") or default_locale)
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = N_("Vul de naam in van wie u uitnodigt.")
    elif len(name) > _MAX_NAME:
        errors["name"] = N_("De naam is te lang (hoogstens 200 tekens).")
    if not email:
        errors["email"] = N_("Vul het e-mailadres in. Daarheen sturen we de link naar het gesprek.")
    elif not is_email_address(email):
        errors["email"] = N_("Dit e-mailadres klopt niet. Een e-mailadres ziet eruit als naam@voorbeeld.nl.")
    if role not in INVITABLE_ROLES:
        errors["role"] = N_("Kies of u een partner of een tolk uitnodigt.")
    if locale not in ("nl", "en"):
        errors["locale"] = N_("Kies de taal van de uitnodiging.")
    if errors:
        raise InvalidInvite(N_("Controleer wat u heeft ingevuld."), errors)
    return InviteRequest(name=name, email=email, role=role, locale=locale)


async def _locked(session: AsyncSession, appointment_id: UUID) -> Appointment:
    # PostgreSQL: FOR UPDATE, so two officials inviting at once cannot both take the last seat;
    # SQLite: every transaction already starts with BEGIN IMMEDIATE (one writer at a time).
    appointment = await lock_appointment(session, appointment_id, reread=False)
    if appointment is None or not appointment.is_active:
        raise AppointmentOver(N_("Deze afspraak is al afgelopen. U kunt niemand meer uitnodigen."))
    return appointment


async def links_in_use(session: AsyncSession, appointment_id: UUID) -> int:
    """Participants with a link that still works (revoked ones give their seat back)."""
    count = await session.scalar(
        select(func.count(Participant.id)).where(
            Participant.appointment_id == appointment_id, Participant.revoked_at.is_(None)
        )
    )
    return int(count or 0)


async def invite(
    session: AsyncSession,
    appointment: Appointment,
    *,
    name: str,
    email: str,
    role: str,
    settings: Settings,
    locale: str | None = None,
    invited_by: UUID | None = None,
    origin: str = "",
    clock: Clock = system_clock,
) -> Invitation:
    """Add a participant with their own join link and queue the invitation email (HTML + text).

    Runs in the caller's transaction; the caller commits (and then tells the live pages with
    ``live.desks_changed``). ``locale`` is the email's language (default: the appointment's).
    Raises :class:`InvalidInvite` (a message per field), :class:`NoSeatLeft` when every seat of the
    call already has a link, and :class:`AppointmentOver` when the appointment no longer runs or
    its join window has closed.
    """
    request = check_invite(
        {"name": name, "email": email, "role": role, "locale": locale or ""},
        default_locale=appointment.locale if appointment.locale in ("nl", "en") else "nl",
    )
    if appointment.id is None:
        await session.flush()
    locked = await _locked(session, appointment.id)
    now = clock()
    if join_window(locked, settings.join).closes_at < now:
        raise AppointmentOver(N_("Deze afspraak is al afgelopen. U kunt niemand meer uitnodigen."))
    service = await session.get(Service, locked.service_id)
    if service is None:  # appointment.service_id is a foreign key
        raise RuntimeError(f"appointment {locked.id} has no service")
    seats = capacity(service)
    if await links_in_use(session, locked.id) + 1 >= seats:  # + 1: the official
        raise NoSeatLeft(
            N_("Het gesprek is vol. Er passen hoogstens {seats} mensen in dit gesprek."), seats=seats
        )
    token = new_token()
    participant = Participant(
        appointment_id=locked.id,
        role=request.role,
        name=request.name,
        email=request.email,
        join_token_hash=hash_token(token),
        state=rooms.INVITED,
    )
    session.add(participant)
    await session.flush()
    await queue_invitation(
        session, locked, participant, join_token=token, locale=request.locale, settings=settings, now=now
    )
    audit.participant_invited(session, locked, participant, invited_by=invited_by, origin=origin)
    return Invitation(participant, token)


async def revoke(
    session: AsyncSession,
    live: LivePages,
    appointment: Appointment,
    participant_id: UUID,
    official_id: UUID,
    *,
    origin: str = "",
    clock: Clock = system_clock,
) -> Participant:
    """Withdraw an invitation: the link stops working and an open page is closed. Commits.

    The appointment's own citizen cannot be removed this way (cancel the appointment instead).
    """
    locked = await _locked(session, appointment.id)
    participant = next((p for p in locked.participants if p.id == participant_id), None)
    if participant is None or participant.revoked_at is not None:
        raise InviteError(N_("Deze uitnodiging bestaat niet (meer)."))
    if participant.role not in INVITABLE_ROLES:
        raise InviteError(N_("De inwoner van de afspraak kunt u niet verwijderen."))
    was_in_call = participant.state == rooms.IN_CALL
    participant.revoked_at = clock()
    participant.state = rooms.transition(participant.state, "end")
    participant.waiting_since = None
    audit.participant_revoked(session, locked, participant, official_id, origin=origin)
    await session.commit()
    await live.revoked(locked.id, participant.id)
    if was_in_call:
        await live.peer_left(locked.id, participant.id)
    await live.desks_changed(locked.team_id, locked.id)
    return participant
