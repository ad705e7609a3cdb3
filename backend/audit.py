"""One named function per auditable event, so every event carries the same fields.

Audit events are appended in the caller's transaction (they commit or roll back with the change
they describe); access refusals commit on their own, because the refused request changes nothing.
Never put a BSN, a token or free text from a citizen in ``details``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEvent, Document, Official, Participant


def origin_of(request: Request[Any, Any, Any] | None) -> str:
    if request is None or request.client is None:
        return ""
    return request.client.host


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    municipality_id: UUID | None = None,
    result: str = "success",
    origin: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        municipality_id=municipality_id,
        result=result,
        origin=origin,
        details=details or {},
    )
    session.add(event)
    return event


def official_actor(official_id: object) -> str:
    return f"official:{official_id}"


async def access_denied(
    session: AsyncSession,
    official: Official,
    object_type: str,
    object_id: object,
    request: Request[Any, Any, Any] | None,
) -> None:
    record(
        session,
        actor=official_actor(official.id),
        action="access.denied",
        object_type=object_type,
        object_id=object_id,
        result="denied",
        origin=origin_of(request),
    )
    await session.commit()


def official_municipality(official: Official) -> UUID | None:
    """The municipality an official works for (that of their first team)."""
    memberships = sorted(official.memberships, key=lambda m: str(m.team_id))
    return memberships[0].team.municipality_id if memberships else None


def signed_in(
    session: AsyncSession, official: Official, request: Request[Any, Any, Any], issuer: str
) -> None:
    """In the caller's transaction: the sign-in and the memberships it brought commit together."""
    record(
        session,
        actor=official_actor(official.id),
        action="session.sign_in",
        object_type="official",
        object_id=official.id,
        municipality_id=official_municipality(official),
        origin=origin_of(request),
        details={"method": "oidc", "issuer": issuer, "teams": len(official.memberships)},
    )


async def sign_in_failed(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    *,
    reason: str,
    actor: str = "anonymous",
    object_id: object = "",
    municipality_id: UUID | None = None,
) -> None:
    record(
        session,
        actor=actor,
        action="session.sign_in",
        object_type="official",
        object_id=object_id,
        municipality_id=municipality_id,
        result="failure",
        origin=origin_of(request),
        details={"reason": reason},
    )
    await session.commit()


async def signed_out(session: AsyncSession, official_id: object, request: Request[Any, Any, Any]) -> None:
    record(
        session,
        actor=official_actor(official_id),
        action="session.sign_out",
        object_type="official",
        object_id=official_id,
        origin=origin_of(request),
    )
    await session.commit()


def participant_actor(participant_id: object) -> str:
    return f"participant:{participant_id}"


def identity_verified(
    session: AsyncSession, participant: Participant, level: str, request: Request[Any, Any, Any]
) -> None:
    """The level only: the BSN never goes into the audit trail."""
    record(
        session,
        actor=participant_actor(participant.id),
        action="identity.verify",
        object_type="participant",
        object_id=participant.id,
        municipality_id=participant.appointment.municipality_id,
        origin=origin_of(request),
        details={"level": level, "appointment": str(participant.appointment_id)},
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
    record(
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
    record(
        session,
        actor=official_actor(official_id),
        action="identity.request",
        object_type="participant",
        object_id=participant.id,
        municipality_id=participant.appointment.municipality_id,
        origin=origin_of(request),
    )


# -- documents ---------------------------------------------------------------------------------------
# Type, size and hash identify a document in the trail; its name appears only when it is deleted
# (purged or removed), so the trail can say what went, after the document itself is gone.


def _document_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    document: Document,
    municipality_id: UUID | None,
    origin: str = "",
    **details: Any,
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        object_type="document",
        object_id=document.id,
        municipality_id=municipality_id,
        origin=origin,
        details={
            "appointment": str(document.appointment_id),
            "type": document.content_type,
            "size": document.size,
            "sha256": document.sha256,
            **details,
        },
    )


def document_shared(
    session: AsyncSession, actor: str, document: Document, municipality_id: UUID, origin: str
) -> None:
    _document_event(
        session,
        actor=actor,
        action="document.shared",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
        by=document.shared_by_role,
    )


def document_downloaded(
    session: AsyncSession, actor: str, document: Document, municipality_id: UUID, origin: str
) -> None:
    _document_event(
        session,
        actor=actor,
        action="document.downloaded",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
    )


def document_kept(
    session: AsyncSession, actor: str, document: Document, municipality_id: UUID, origin: str
) -> None:
    _document_event(
        session,
        actor=actor,
        action="document.kept" if document.kept_for_case else "document.unkept",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
        expires_at=document.expires_at.isoformat(),
    )


def document_deleted(
    session: AsyncSession,
    actor: str,
    document: Document,
    municipality_id: UUID | None,
    *,
    reason: str,
    origin: str = "",
) -> None:
    """``reason``: ``removed`` (by a participant or official), ``call_ended`` or ``expired`` (the
    retention worker, actor ``system``)."""
    _document_event(
        session,
        actor=actor,
        action="document.removed" if reason == "removed" else "document.purged",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
        name=document.name,
        reason=reason,
    )


async def document_refused(
    session: AsyncSession, actor: str, appointment_id: UUID, municipality_id: UUID, code: str, origin: str
) -> None:
    """An upload was refused (the reason code only: nothing of the file). Commits on its own."""
    record(
        session,
        actor=actor,
        action="document.refused",
        object_type="appointment",
        object_id=appointment_id,
        municipality_id=municipality_id,
        result="refused",
        origin=origin,
        details={"reason": code},
    )
    await session.commit()
