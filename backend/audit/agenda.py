"""A team admin changed the agenda or the catalogue: the team, its exceptions, a service."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _record, official_actor, origin_of
from backend.db.models import Official, Service, StaffInvitation, Team


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


def service_changed(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    official: Official,
    service: Service,
    what: str,
    **details: str,
) -> None:
    """The service editor: ``what`` is ``created``, ``edited``, ``published``, ``withdrawn``,
    ``question_added``, ``question_changed``, ``question_removed``, ``question_moved`` or
    ``email_texts``; ``details`` say which (a question's key), never the texts."""
    _record(
        session,
        actor=official_actor(official.id),
        action="service.changed",
        object_type="service",
        object_id=service.id,
        municipality_id=service.team.municipality_id,
        origin=origin_of(request),
        details={"what": what, "team": str(service.team_id), **details},
    )


def team_created(
    session: AsyncSession, request: Request[Any, Any, Any], official: Official, team: Team
) -> None:
    """A municipality admin made a new team."""
    _record(
        session,
        actor=official_actor(official.id),
        action="team.created",
        object_type="team",
        object_id=team.id,
        municipality_id=team.municipality_id,
        origin=origin_of(request),
        details={},
    )


def staff_changed(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    official: Official,
    team: Team,
    what: str,
    **details: str,
) -> None:
    """A team admin about the team's officials: ``what`` is ``invited``, ``invitation_revoked``,
    ``role``, ``deactivated`` or ``reactivated``; ``details`` name the membership or invitation and
    the role, never the e-mail address."""
    _record(
        session,
        actor=official_actor(official.id),
        action="staff.changed",
        object_type="team",
        object_id=team.id,
        municipality_id=team.municipality_id,
        origin=origin_of(request),
        details={"what": what, **details},
    )


def invitation_accepted(
    session: AsyncSession, request: Request[Any, Any, Any], official: Official, invitation: StaffInvitation
) -> None:
    """An official signed in through a staff invitation and joined its team (or, without a team,
    became an admin of its municipality)."""
    team_id = invitation.team_id
    _record(
        session,
        actor=official_actor(official.id),
        action="staff.invitation_accepted",
        object_type="team" if team_id is not None else "municipality",
        object_id=team_id if team_id is not None else invitation.for_municipality,
        municipality_id=invitation.for_municipality,
        origin=origin_of(request),
        details={"invitation": str(invitation.id), "role": invitation.role},
    )
