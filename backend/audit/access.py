"""Who gets in: an official's sign-in and sign-out, and access refused to what is not theirs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend import metrics
from backend.audit._writer import _record, official_actor, official_municipality, origin_of
from backend.db.models import Appointment, Official


async def access_denied(
    session: AsyncSession,
    official: Official,
    object_type: str,
    object_id: object,
    request: Request[Any, Any, Any] | None,
) -> None:
    _record(
        session,
        actor=official_actor(official.id),
        action="access.denied",
        object_type=object_type,
        object_id=object_id,
        result="denied",
        origin=origin_of(request),
    )
    await session.commit()


async def appointment_access_denied(
    session: AsyncSession,
    official_id: UUID,
    appointment_id: UUID,
    appointment: Appointment | None,
    *,
    via: str,
    origin: str,
) -> None:
    """An official's socket (``via`` ``ws/call`` or ``ws/desk``) asked for an appointment outside
    their teams; ``appointment`` is None when it does not exist. Commits on its own."""
    _record(
        session,
        actor=official_actor(official_id),
        action="access.denied",
        object_type="appointment",
        object_id=appointment_id,
        municipality_id=appointment.municipality_id if appointment else None,
        result="denied",
        origin=origin,
        details={"via": via},
    )
    await session.commit()


def signed_in(
    session: AsyncSession, official: Official, request: Request[Any, Any, Any], issuer: str
) -> None:
    """In the caller's transaction: the sign-in and the memberships it brought commit together."""
    metrics.sign_in("success")
    _record(
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
    provider_error: str = "",
    actor: str = "anonymous",
    object_id: object = "",
    municipality_id: UUID | None = None,
) -> None:
    """``provider_error``: the identity provider's own error code, where it gave one."""
    metrics.sign_in("failure", reason)  # balie_sign_ins_total{outcome="failure", reason}
    _record(
        session,
        actor=actor,
        action="session.sign_in",
        object_type="official",
        object_id=object_id,
        municipality_id=municipality_id,
        result="failure",
        origin=origin_of(request),
        details={"reason": reason, **({"provider_error": provider_error} if provider_error else {})},
    )
    await session.commit()


def signed_out_by_provider(session: AsyncSession, official_id: object, issuer: str, by: str) -> None:
    """The official's provider ended their sessions (back-channel logout, ``by`` ``sub`` or ``sid``)."""
    _record(
        session,
        actor="provider",
        action="session.sign_out",
        object_type="official",
        object_id=official_id,
        origin="",
        details={"by": by, "issuer": issuer[:200]},
    )


async def signed_out(session: AsyncSession, official_id: object, request: Request[Any, Any, Any]) -> None:
    _record(
        session,
        actor=official_actor(official_id),
        action="session.sign_out",
        object_type="official",
        object_id=official_id,
        origin=origin_of(request),
    )
    await session.commit()
