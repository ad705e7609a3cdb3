"""Officials as the identity provider describes them: found or created, memberships kept in sync."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Membership, Municipality, MunicipalityAdmin, Official, Team
from backend.demo import DEV_ISSUER
from backend.identity.groups import TeamGrant


async def teams_for(db: AsyncSession, grants: list[TeamGrant]) -> dict[UUID, str]:
    """Team id -> role for the grants whose municipality and team exist here."""
    if not grants:
        return {}
    rows = await db.execute(
        select(Team.id, Municipality.cbs_code, Team.slug)
        .join(Municipality, Team.municipality_id == Municipality.id)
        .where(tuple_(Municipality.cbs_code, Team.slug).in_([(g.cbs_code, g.team_slug) for g in grants]))
    )
    roles = {(g.cbs_code, g.team_slug): g.role for g in grants}
    return {team_id: roles[(cbs, slug)] for team_id, cbs, slug in rows}


async def municipalities_for(db: AsyncSession, cbs_codes: list[str]) -> set[UUID]:
    """The ids of the municipalities with these CBS codes that exist here."""
    if not cbs_codes:
        return set()
    return set(await db.scalars(select(Municipality.id).where(Municipality.cbs_code.in_(cbs_codes))))


async def of_municipalities(db: AsyncSession, teams: dict[UUID, str], allowed: set[UUID]) -> dict[UUID, str]:
    """Only those of ``teams`` that belong to the ``allowed`` municipalities."""
    if not teams:
        return {}
    keep = set(await db.scalars(select(Team.id).where(Team.id.in_(teams), Team.municipality_id.in_(allowed))))
    return {team_id: role for team_id, role in teams.items() if team_id in keep}


async def find(db: AsyncSession, issuer: str, subject: str, *, dev_issuer: str | None) -> Official | None:
    official = await db.scalar(select(Official).where(Official.issuer == issuer, Official.subject == subject))
    if official is None and dev_issuer is not None and issuer == dev_issuer:
        # The demo and test officials are seeded under urn:balie:dev: they are the development
        # provider's accounts, whatever address that provider runs on.
        official = await db.scalar(
            select(Official).where(Official.issuer == DEV_ISSUER, Official.subject == subject)
        )
    return official


def display_name(claims: dict[str, Any]) -> str:
    for value in (
        claims.get("name"),
        " ".join(str(claims.get(k, "")) for k in ("given_name", "family_name")).strip(),
        claims.get("preferred_username"),
        claims.get("email"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return str(claims["sub"])[:200]


async def provision(
    db: AsyncSession,
    claims: dict[str, Any],
    teams: dict[UUID, str],
    *,
    dev_issuer: str | None,
    managed: set[UUID] | None = None,
    invited: bool = False,
    platform_admin: bool = False,
) -> Official | None:
    """The official for these claims with exactly ``teams`` as memberships and ``managed`` as the
    municipalities they administer; None without either.

    The provider is the truth about who belongs where: memberships and admin roles it no longer
    gives are removed, also when that leaves the official with none (and so without access).
    Memberships an admin granted in the app (``source="app"``) are not the provider's to remove, nor
    is a team admin's deactivation. ``invited``: the official signs in with a staff invitation, so
    they are made even without a team from the provider (the invitation gives one).
    ``platform_admin``: the deployment's settings name them (``BALIE_PLATFORM_ADMINS``); the flag
    follows the settings at every sign-in.
    """
    managed = managed or set()
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    official = await find(db, issuer, subject, dev_issuer=dev_issuer)
    if official is None and not teams and not managed and not invited and not platform_admin:
        return None
    if official is None:
        official = Official(issuer=issuer, subject=subject, name=display_name(claims))
        db.add(official)
        await db.flush()
    official.name = display_name(claims)
    official.is_platform_admin = platform_admin
    email = claims.get("email")
    if isinstance(email, str):
        official.email = email[:254]
    current = {
        m.team_id: m
        for m in await db.scalars(select(Membership).where(Membership.official_id == official.id))
    }
    for team_id, membership in current.items():
        if team_id in teams:  # what the provider gives, it decides (also over an app grant)
            membership.role, membership.source = teams[team_id], "provider"
        elif membership.source == "provider" and membership.active:
            await db.delete(membership)  # a deactivated one stays: the admin's word outlasts the groups
        # granted in the app: the provider never gave it, nor takes it
    for team_id, role in teams.items():
        if team_id not in current:
            db.add(Membership(official_id=official.id, team_id=team_id, role=role))
    admin_rows = {
        r.municipality_id: r
        for r in await db.scalars(
            select(MunicipalityAdmin).where(MunicipalityAdmin.official_id == official.id)
        )
    }
    for municipality_id, admin_row in admin_rows.items():
        if municipality_id in managed:
            admin_row.source = "provider"
        elif admin_row.source == "provider":
            await db.delete(admin_row)
        # made admin in the app (a platform admin's invitation): the provider never gave it, nor takes it
    db.add_all(
        MunicipalityAdmin(official_id=official.id, municipality_id=municipality_id)
        for municipality_id in managed - admin_rows.keys()
    )
    kept = any(r.source == "app" for r in admin_rows.values())
    await db.flush()
    await db.refresh(official, ["memberships"])
    # Access is an active membership (from either source), a municipality to manage, an invitation
    # or running the platform.
    if official.active_memberships or managed or kept or invited or platform_admin:
        return official
    return None
