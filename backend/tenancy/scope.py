"""What an official may reach in this request: their teams, or under a mandate A's teams only.

Every staff query is scoped by a :class:`Scope` (docs/adr/0011-tenancy.md). Signed in, an official
acts for their own municipality: the teams they are a member of, the teams they manage as team
admin, the municipalities they manage. Switched to "Namens Gemeente A" (the session names the
mandate), they act for A instead: A's teams of the mandate and nothing else, no settings, no audit
trail, none of their own teams. A mandate that was revoked or ended falls away on the next request
(and its sockets close): the official is back in their own scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Mandate, Municipality, MunicipalityAdmin, Official, Team
from backend.tenancy import acting, mandates

MANDATE_KEY: Final = "acting_under"
"""The session key naming the mandate the official switched to."""


@dataclass(frozen=True)
class Scope:
    official: Official
    team_ids: frozenset[UUID]
    """Teams whose appointments the official may see, book, admit and call."""
    admin_team_ids: frozenset[UUID] = frozenset()
    """Teams whose agenda, services and officials the official may change: those they are team admin
    of, and every team of a municipality they manage (its functioneel beheerder sets teams up)."""
    admin_municipality_ids: frozenset[UUID] = frozenset()
    """Municipalities whose profile, teams and mandates the official manages."""
    mandate: Mandate | None = None
    """The mandate the official acts under, if any."""
    available: tuple[Mandate, ...] = field(default=())
    """Mandates the official could switch to now."""

    @property
    def acting_for(self) -> Municipality | None:
        return self.mandate.grantor if self.mandate is not None else None

    @property
    def is_platform_admin(self) -> bool:
        """Runs the deployment (creates and deactivates municipalities); never under a mandate."""
        return self.mandate is None and self.official.is_platform_admin

    @property
    def is_admin(self) -> bool:
        return bool(self.admin_team_ids or self.admin_municipality_ids or self.is_platform_admin)

    def may_reach_team(self, team_id: UUID) -> bool:
        return team_id in self.team_ids


def own_scope(
    official: Official,
    managed: frozenset[UUID],
    available: tuple[Mandate, ...] = (),
    managed_teams: frozenset[UUID] = frozenset(),
) -> Scope:
    return Scope(
        official=official,
        team_ids=frozenset(m.team_id for m in official.active_memberships),
        admin_team_ids=frozenset(m.team_id for m in official.active_memberships if m.role == "admin")
        | managed_teams,
        admin_municipality_ids=managed,
        available=available,
    )


def mandate_scope(official: Official, mandate: Mandate, available: tuple[Mandate, ...]) -> Scope:
    return Scope(
        official=official, team_ids=mandates.team_ids_of(mandate), mandate=mandate, available=available
    )


async def managed_by(db: AsyncSession, official_id: UUID) -> frozenset[UUID]:
    rows = await db.scalars(
        select(MunicipalityAdmin.municipality_id).where(MunicipalityAdmin.official_id == official_id)
    )
    return frozenset(rows)


def mandate_id_of(raw: object) -> UUID | None:
    try:
        return UUID(str(raw)) if raw else None
    except ValueError:
        return None


async def scope_of(db: AsyncSession, official: Official, chosen: object, now: dt.datetime) -> Scope:
    """The official's scope now; ``chosen`` is the session's mandate id (or nothing).

    Also tells the audit trail (backend.tenancy.acting) under which mandate this request acts.
    """
    managed = await managed_by(db, official.id)
    home = {m.team.municipality_id for m in official.active_memberships} | managed
    available = tuple(await mandates.running_for(db, official.id, now, home=home))
    mandate_id = mandate_id_of(chosen)
    mandate = next((m for m in available if m.id == mandate_id), None)
    if mandate is not None:
        acting.set_acting(acting.ActingFor(mandate.id, mandate.grantor_id, mandate.grantee_id))
        return mandate_scope(official, mandate, available)
    acting.set_acting(None)
    managed_teams = (
        frozenset(await db.scalars(select(Team.id).where(Team.municipality_id.in_(managed))))
        if managed
        else frozenset()
    )
    return own_scope(official, managed, available, managed_teams)
