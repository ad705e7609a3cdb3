"""Who the official is, and which teams they may act for.

Officials sign in with OIDC (backend.identity.official); the server-side session holds their id.
Every staff query goes through :func:`team_ids` so officials never see another team's data.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar
from uuid import UUID

from litestar import Request
from litestar.exceptions import HTTPException, NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.db.models import Official

SESSION_KEY = "official_id"
SIGNED_IN_AT = "signed_in_at"
"""When the session was signed in, by the app's clock (seconds since the epoch)."""


class SignInRequired(HTTPException):
    status_code = 401


async def current_official(request: Request[Any, Any, Any], db_session: AsyncSession) -> Official:
    raw = request.session.get(SESSION_KEY) if request.session else None
    try:
        official_id = UUID(str(raw))
    except ValueError:
        raise SignInRequired() from None
    official = await db_session.get(Official, official_id)
    if official is None or ended_by_provider(official, request.session.get(SIGNED_IN_AT)):
        request.clear_session()
        raise SignInRequired()
    return official


def ended_by_provider(official: Official, signed_in_at: object) -> bool:
    """Whether the provider ended this session (back-channel logout) after it was signed in."""
    if official.signed_out_at is None:
        return False
    if not isinstance(signed_in_at, int | float) or isinstance(signed_in_at, bool):
        return True  # a session that cannot say when it signed in does not outlive a logout
    return signed_in_at <= official.signed_out_at.timestamp()


def team_ids(official: Official) -> set[UUID]:
    return {membership.team_id for membership in official.memberships}


def admin_team_ids(official: Official) -> set[UUID]:
    return {membership.team_id for membership in official.memberships if membership.role == "admin"}


class TeamOwned(Protocol):
    @property
    def team_id(self) -> UUID: ...


T = TypeVar("T", bound=TeamOwned)


async def of_own_team(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    official: Official,
    model: type[T],
    object_id: UUID,
) -> T:
    """The object if it belongs to one of the official's teams; 404 otherwise, and the attempt is
    audited (another team's object and no object at all look the same)."""
    found = await db_session.get(model, object_id)
    if found is None or found.team_id not in team_ids(official):
        await audit.access_denied(db_session, official, model.__name__.lower(), object_id, request)
        raise NotFoundException()
    return found
