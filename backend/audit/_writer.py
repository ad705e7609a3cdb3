"""The one writer of audit events, private to this package (the package docstring says why)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment, AuditEvent, Official
from backend.tenancy import acting


def origin_of(connection: ASGIConnection[Any, Any, Any, Any] | None) -> str:
    """The client address of a request or a socket, or ``""``."""
    if connection is None or connection.client is None:
        return ""
    return connection.client.host


def official_actor(official_id: object) -> str:
    return f"official:{official_id}"


def participant_actor(participant_id: object) -> str:
    return f"participant:{participant_id}"


def official_municipality(official: Official) -> UUID | None:
    """The municipality an official works for (that of their first team)."""
    memberships = sorted(official.memberships, key=lambda m: str(m.team_id))
    return memberships[0].team.municipality_id if memberships else None


def _record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    municipality_id: UUID | None = None,
    shared_with_id: UUID | None = None,
    mandate_id: UUID | None = None,
    result: str = "success",
    origin: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add the event to the caller's session (it commits or rolls back with the caller's change).
    Its place in its municipality's hash chain and its hash are written when the session flushes it
    (``chain._chain_pending``), under the chain's turn."""
    under = acting.current()
    if under is not None and mandate_id is None:
        # Acting for another municipality: A's trail has it (A's data), B's too (B's official).
        municipality_id = municipality_id or under.grantor_id
        shared_with_id, mandate_id = under.grantee_id, under.mandate_id
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        municipality_id=municipality_id,
        shared_with_id=shared_with_id,
        mandate_id=mandate_id,
        result=result,
        origin=origin,
        details=details or {},
    )
    session.add(event)
    return event


def _appointment_event(
    session: AsyncSession,
    actor: str,
    action: str,
    appointment: Appointment,
    *,
    origin: str = "",
    result: str = "success",
    **details: Any,
) -> None:
    """An event about an appointment, in the appointment's municipality."""
    _record(
        session,
        actor=actor,
        action=action,
        object_type="appointment",
        object_id=appointment.id,
        municipality_id=appointment.municipality_id,
        result=result,
        origin=origin,
        details=details,
    )
