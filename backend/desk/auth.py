"""Who the official is, and which teams they may act for.

The development sign-in below picks a demo official; real OIDC sign-in replaces it (issue 4).
Every staff query goes through :func:`team_ids` so officials never see another team's data.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.exceptions import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Official

SESSION_KEY = "official_id"


class SignInRequired(HTTPException):
    status_code = 401


async def current_official(request: Request[Any, Any, Any], db_session: AsyncSession) -> Official:
    raw = request.session.get(SESSION_KEY) if request.session else None
    try:
        official_id = UUID(str(raw))
    except ValueError:
        raise SignInRequired() from None
    official = await db_session.get(Official, official_id)
    if official is None:
        request.clear_session()
        raise SignInRequired()
    return official


def team_ids(official: Official) -> set[UUID]:
    return {membership.team_id for membership in official.memberships}


def sign_in(request: Request[Any, Any, Any], official: Official) -> None:
    request.clear_session()
    request.set_session({SESSION_KEY: str(official.id)})
