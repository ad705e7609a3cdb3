"""Mandates (uitwijk): granted, answered, revoked, and the official who starts acting under one.

Each event is written in the grantor's trail and shared with the grantee's (``shared_with_id``), so
both municipalities see it; ``before`` and ``after`` hold the mandate's values (ids, dates and marks:
never free text other than the reason the admin wrote).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _record, official_actor
from backend.db.models import Mandate, Official


def mandate_values(mandate: Mandate) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "grantor": str(mandate.grantor_id),
        "grantee": str(mandate.grantee_id),
        "teams": list(mandate.team_ids),
        "officials": list(mandate.official_ids),
        "starts_at": when(mandate.starts_at),
        "ends_at": when(mandate.ends_at),
        "reason": mandate.reason,
        "accepted_at": when(mandate.accepted_at),
        "declined_at": when(mandate.declined_at),
        "revoked_at": when(mandate.revoked_at),
    }


def mandate_changed(
    session: AsyncSession,
    mandate: Mandate,
    official: Official,
    action: str,
    *,
    before: dict[str, Any] | None,
    origin: str = "",
) -> None:
    """``action``: ``mandate.granted``, ``mandate.accepted``, ``mandate.declined`` or
    ``mandate.revoked``."""
    _record(
        session,
        actor=official_actor(official.id),
        action=action,
        object_type="mandate",
        object_id=mandate.id,
        municipality_id=mandate.grantor_id,
        shared_with_id=mandate.grantee_id,
        mandate_id=mandate.id,
        origin=origin,
        details={"before": before, "after": mandate_values(mandate)},
    )


def acting_started(session: AsyncSession, mandate: Mandate, official: Official, *, origin: str = "") -> None:
    """An official of the grantee switched their desk to act for the grantor."""
    _record(
        session,
        actor=official_actor(official.id),
        action="mandate.acting",
        object_type="mandate",
        object_id=mandate.id,
        municipality_id=mandate.grantor_id,
        shared_with_id=mandate.grantee_id,
        mandate_id=mandate.id,
        origin=origin,
    )
