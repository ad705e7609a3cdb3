"""A platform admin or a municipality admin changed a municipality: made it, its profile, its
branding, its logo, switched it off or on, invited its first admin."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _record, official_actor, origin_of
from backend.db.models import Municipality, Official, StaffInvitation


def municipality_changed(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    official: Official,
    municipality: Municipality,
    what: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    """``what``: ``created``, ``profile``, ``branding``, ``logo``, ``logo_removed``, ``deactivated``
    or ``reactivated``; ``changes``: field -> (before, after) of what changed (a logo by its type
    and size, never its bytes)."""
    changed = changes or {}
    _record(
        session,
        actor=official_actor(official.id),
        action="municipality.changed",
        object_type="municipality",
        object_id=municipality.id,
        municipality_id=municipality.id,
        origin=origin_of(request),
        details={
            "what": what,
            "before": {name: before for name, (before, _after) in changed.items()},
            "after": {name: after for name, (_before, after) in changed.items()},
        },
    )


def manager_invited(
    session: AsyncSession, request: Request[Any, Any, Any], official: Official, invitation: StaffInvitation
) -> None:
    """A platform admin invited someone to become a municipality's admin (never their e-mail address)."""
    _record(
        session,
        actor=official_actor(official.id),
        action="municipality.manager_invited",
        object_type="municipality",
        object_id=invitation.for_municipality,
        municipality_id=invitation.for_municipality,
        origin=origin_of(request),
        details={"invitation": str(invitation.id)},
    )
