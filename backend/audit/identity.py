"""DigiD in a call: the official asks, the citizen signs in, and the level is bound or not."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _record, official_actor, origin_of, participant_actor
from backend.db.models import Participant


def identity_verified(
    session: AsyncSession,
    participant: Participant,
    level: str,
    request: Request[Any, Any, Any],
    *,
    represented: bool = False,
) -> None:
    """The level only (and whether someone identified for the participant under an
    authorisation): no BSN goes into the audit trail."""
    _record(
        session,
        actor=participant_actor(participant.id),
        action="identity.verify",
        object_type="participant",
        object_id=participant.id,
        municipality_id=participant.appointment.municipality_id,
        origin=origin_of(request),
        details={"level": level, "appointment": str(participant.appointment_id)}
        | ({"represented": True} if represented else {}),
    )


async def identity_failed(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    *,
    reason: str,
    participant: Participant | None,
    result: str = "failure",
    details: dict[str, Any] | None = None,
) -> None:
    """A DigiD sign-in that did not bind: ``result`` is ``failure`` (untrusted answer) or ``refused``."""
    _record(
        session,
        actor=participant_actor(participant.id) if participant else "anonymous",
        action="identity.verify",
        object_type="participant",
        object_id=participant.id if participant else "",
        municipality_id=participant.appointment.municipality_id if participant else None,
        result=result,
        origin=origin_of(request),
        details={"reason": reason, **(details or {})},
    )
    await session.commit()


def identity_requested(
    session: AsyncSession, official_id: object, participant: Participant, request: Request[Any, Any, Any]
) -> None:
    _record(
        session,
        actor=official_actor(official_id),
        action="identity.request",
        object_type="participant",
        object_id=participant.id,
        municipality_id=participant.appointment.municipality_id,
        origin=origin_of(request),
    )
