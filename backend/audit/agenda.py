"""A team admin changed the agenda: the team, its exceptions or a service's slot rules."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _record, official_actor, origin_of
from backend.db.models import Official, Team


def agenda_changed(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    official: Official,
    team: Team,
    what: str,
    **details: str,
) -> None:
    """``what``: ``team``, ``exception``, ``exception_removed`` or ``service``; ``details`` say which
    (the day, the service id), not the values."""
    _record(
        session,
        actor=official_actor(official.id),
        action="agenda.changed",
        object_type="team",
        object_id=team.id,
        municipality_id=team.municipality_id,
        origin=origin_of(request),
        details={"what": what, **details},
    )
