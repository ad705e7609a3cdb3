"""Who the official is, and which teams they may act for.

Officials sign in with OIDC (backend.identity.official); the server-side session holds their id.
Signing in also works out their scope for the request (backend/tenancy/scope.py): every staff query
goes through it, so officials never see another team's data, and under a mandate only the teams it
names (docs/adr/0011-tenancy.md).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar
from uuid import UUID

from litestar import Request
from litestar.exceptions import HTTPException, NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.clock import Clock
from backend.db.models import Official
from backend.tenancy.scope import MANDATE_KEY, Scope, scope_of

SESSION_KEY = "official_id"
SIGNED_IN_AT = "signed_in_at"
"""When the session was signed in, by the app's clock (seconds since the epoch)."""


class SignInRequired(HTTPException):
    status_code = 401


async def current_official(
    request: Request[Any, Any, Any], db_session: AsyncSession, clock: Clock
) -> Official:
    """The signed-in official; their scope for this request is at :func:`request_scope`."""
    raw = request.session.get(SESSION_KEY) if request.session else None
    try:
        official_id = UUID(str(raw))
    except ValueError:
        raise SignInRequired() from None
    official = await db_session.get(Official, official_id)
    if official is None or ended_by_provider(official, request.session.get(SIGNED_IN_AT)):
        request.clear_session()
        raise SignInRequired()
    chosen = request.session.get(MANDATE_KEY)
    scope = await scope_of(db_session, official, chosen, clock())
    if chosen and scope.mandate is None:  # revoked or ended since: back to their own work
        request.session.pop(MANDATE_KEY, None)
        request.state.mandate_ended = True
    request.state.scope = scope
    return official


async def current_scope(request: Request[Any, Any, Any], official: Official) -> Scope:
    """The ``staff_scope`` dependency (``scope`` is taken by ASGI; it needs ``official``, which works
    it out)."""
    return request_scope(request)


def request_scope(request: Request[Any, Any, Any]) -> Scope:
    scope: Scope = request.state.scope
    return scope


def ended_by_provider(official: Official, signed_in_at: object) -> bool:
    """Whether the provider ended this session (back-channel logout) after it was signed in."""
    if official.signed_out_at is None:
        return False
    if not isinstance(signed_in_at, int | float) or isinstance(signed_in_at, bool):
        return True  # a session that cannot say when it signed in does not outlive a logout
    return signed_in_at <= official.signed_out_at.timestamp()


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
    """The object if it belongs to a team in the official's scope; 404 otherwise, and the attempt is
    audited (another team's object and no object at all look the same)."""
    found = await db_session.get(model, object_id)
    if found is None or found.team_id not in request_scope(request).team_ids:
        await audit.access_denied(db_session, official, model.__name__.lower(), object_id, request)
        raise NotFoundException()
    return found
