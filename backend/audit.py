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

from backend.db.models import AuditEvent, Official


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


async def signed_in(session: AsyncSession, official: Official, request: Request[Any, Any, Any]) -> None:
    record(
        session,
        actor=official_actor(official.id),
        action="session.sign_in",
        object_type="official",
        object_id=official.id,
        origin=origin_of(request),
        details={"method": "development"},
    )
    await session.commit()
