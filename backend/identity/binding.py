"""A DigiD result bound to one participant of one appointment: level, time and the sealed BSN.

The BSN is sealed with AES-GCM under the identity keyring (``BALIE_IDENTITY_KEYS``; derived from
the secret key in development), bound to its row by associated data, and only ever shown masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from backend.crypto import Keyring, SealError
from backend.db.models import Appointment, Participant, ParticipantRole
from backend.identity import bsn as bsn_rules
from backend.identity import levels
from backend.settings import Settings
from backend.timefmt import iso_local

IDENTIFYING_ROLES: Final = frozenset({ParticipantRole.CITIZEN, ParticipantRole.PARTNER})
"""Who a service's DigiD requirement applies to; an interpreter takes part without DigiD."""


class Refused(Exception):
    """The identity is genuine but may not be bound here; ``reason`` is a short code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def identity_keyring(settings: Settings) -> Keyring:
    identity = settings.identity
    if identity.keys:
        return Keyring.from_secrets(identity.keys, identity.key_id)
    return Keyring.derived(settings.secret_key.reveal(), "bsn")


def required_level(participant: Participant) -> str:
    if participant.role not in IDENTIFYING_ROLES:
        return levels.NONE
    return participant.appointment.service.required_loa or levels.NONE


def requested_level(participant: Participant) -> str:
    """The level to ask for: the service's, and at least Basis when the official asks in the call."""
    return levels.stricter(required_level(participant), levels.BASIS)


def may_enter(participant: Participant) -> bool:
    return levels.satisfies(participant.identity_level, required_level(participant))


def _participant_context(participant_id: object) -> bytes:
    return f"participant:{participant_id}:bsn".encode()


def _representative_context(participant_id: object) -> bytes:
    return f"participant:{participant_id}:representative".encode()


def _appointment_context(appointment_id: object) -> bytes:
    return f"appointment:{appointment_id}:bsn".encode()


def seal_for_appointment(keyring: Keyring, appointment: Appointment, bsn: str) -> None:
    """For a booking made after DigiD: whoever joins as the citizen must then have this BSN."""
    appointment.bsn_sealed = keyring.seal(bsn.encode(), context=_appointment_context(appointment.id))


def bsn_of(keyring: Keyring, participant: Participant) -> str | None:
    if participant.bsn_sealed is None:
        return None
    try:
        return keyring.open(participant.bsn_sealed, context=_participant_context(participant.id)).decode()
    except SealError:
        return None


def _appointment_bsn(keyring: Keyring, appointment: Appointment) -> str | None:
    if appointment.bsn_sealed is None:
        return None
    return keyring.open(appointment.bsn_sealed, context=_appointment_context(appointment.id)).decode()


def bind(
    keyring: Keyring,
    participant: Participant,
    *,
    bsn: str,
    level: str,
    now: dt.datetime,
    representative: str | None = None,
) -> None:
    """Record a verified identity on ``participant`` (the caller commits), or raise :class:`Refused`."""
    if not bsn_rules.is_valid(bsn):
        raise Refused("invalid_bsn")
    need = requested_level(participant) if participant.identity_requested_at else required_level(participant)
    if not levels.satisfies(level, need) or level == levels.NONE:
        raise Refused("level_too_low")
    # Fail closed: a stored BSN that cannot be read (its key is gone) cannot be compared, so
    # nobody can take the link over with another BSN; the citizen is asked to call.
    try:
        known = (
            keyring.open(participant.bsn_sealed, context=_participant_context(participant.id)).decode()
            if participant.bsn_sealed is not None
            else None
        )
        expected = (
            _appointment_bsn(keyring, participant.appointment)
            if participant.role == ParticipantRole.CITIZEN
            else None
        )
    except SealError:
        raise Refused("bsn_unreadable") from None
    if known is not None and known != bsn:
        raise Refused("bsn_changed")  # someone else is trying to take this link over
    if expected is not None and expected != bsn:
        raise Refused("bsn_mismatch")
    participant.bsn_sealed = keyring.seal(bsn.encode(), context=_participant_context(participant.id))
    participant.representative_sealed = (
        keyring.seal(representative.encode(), context=_representative_context(participant.id))
        if representative
        else None
    )
    participant.identity_level = levels.stricter(level, participant.identity_level or levels.NONE)
    participant.identity_verified_at = now
    participant.identity_requested_at = None


def badge(keyring: Keyring, participant: Participant) -> dict[str, Any] | None:
    """What the official sees: masked BSN, level and time; None when not identified."""
    if participant.identity_level is None or participant.identity_verified_at is None:
        return None
    number = bsn_of(keyring, participant)
    return {
        "level": participant.identity_level,
        "verified_at": iso_local(participant.identity_verified_at),
        "bsn_masked": bsn_rules.masked(number) if number else None,
        "representative_masked": _representative_masked(keyring, participant),
    }


def _representative_masked(keyring: Keyring, participant: Participant) -> str | None:
    """Who identified for the participant, masked like a BSN (``*****1234``)."""
    if participant.representative_sealed is None:
        return None
    try:
        who = keyring.open(
            participant.representative_sealed, context=_representative_context(participant.id)
        ).decode()
    except SealError:
        return "*****"
    return bsn_rules.masked(who)


def panel_rows(keyring: Keyring, appointment: Appointment) -> list[dict[str, Any]]:
    """The identity panel of the official's call page: every participant with their badge."""
    return [
        {
            "id": str(p.id),
            "name": p.name,
            "role": p.role,
            "badge": badge(keyring, p),
            "level_label": levels.LABELS.get(p.identity_level or levels.NONE, levels.LABELS[levels.NONE]),
            "requested": p.identity_requested_at is not None,
        }
        for p in appointment.participants
        if p.revoked_at is None
    ]
