"""A team's officials as its team admin manages them: invited by e-mail with a one-time link, given
a role, taken off the team and put back.

An invitation is a link token (stored as its hash) for one team and role, valid for
:data:`INVITATION_DAYS` days and used once. Whoever signs in with the staff identity provider through
it is bound to the team with a membership of source ``app`` (kept by later sign-ins; the provider's
own group for the team takes it over). When the provider sends an e-mail address it must be the
invited one, so a forwarded link binds no one else. Deactivating a membership takes effect at the
next request and closes the official's desk and call sockets of that team at once
(``LivePages.team_access_ended``); a sign-in does not bring it back, the team admin can.

An invitation without a team is a platform admin's: it makes its holder the admin of a new
municipality (``MunicipalityAdmin`` of source ``app``, kept by later sign-ins).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from backend.booking.agenda_form import Checker
from backend.booking.tokens import hash_token, new_token
from backend.booking.validation import email_error
from backend.db.models import (
    Membership,
    Municipality,
    MunicipalityAdmin,
    Official,
    StaffInvitation,
    Team,
)
from backend.i18n import N_

INVITATION_DAYS: Final = 7
INVITATION_KEY: Final = "staff_invitation"
"""The session key holding the invitation token while its holder signs in."""
ROLES: Final = {"official": N_("Medewerker"), "admin": N_("Teambeheerder")}
MANAGEMENT_ROLE: Final = "municipality_admin"
"""The role of an invitation without a team: the municipality's admin (functioneel beheerder)."""
ROLE_NAMES: Final = {**ROLES, MANAGEMENT_ROLE: N_("Beheerder van de gemeente")}
OTHER_EMAIL: Final = N_(
    "Deze uitnodiging is voor een ander e-mailadres dan waarmee u bent ingelogd. Vraag uw teambeheerder "
    "om een nieuwe uitnodiging voor uw eigen adres."
)

OTHER_MUNICIPALITY: Final = N_(
    "U logde in bij de inlogdienst van een andere gemeente dan die van het team. Log in bij de "
    "inlogdienst van de gemeente van het team."
)


@dataclass(frozen=True)
class Invite:
    email: str
    role: str


def invite_form(data: Mapping[str, str]) -> Invite:
    """The e-mail address and role of a new invitation; :class:`FormErrors` otherwise."""
    check = Checker(data)
    email = check.text("email").strip()
    if error := email_error(email):
        check.fail("email", error)
    role = check.text("role") or "official"
    if role not in ROLES:
        check.fail("role", N_("Kies een van de mogelijkheden."))
    check.done()
    return Invite(email.lower(), role)


async def _revoke_open(db: AsyncSession, now: dt.datetime, *where: ColumnElement[bool]) -> None:
    """Revoke the open invitations that match ``where``: only the newest link works."""
    for old in await db.scalars(
        select(StaffInvitation).where(
            *where, StaffInvitation.accepted_at.is_(None), StaffInvitation.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now


async def invite(
    db: AsyncSession, team: Team, invite: Invite, by: Official, now: dt.datetime
) -> tuple[StaffInvitation, str]:
    """A new invitation and its link token (shown once, in the e-mail); an open invitation of the
    same address for the team is replaced, so only the newest link works."""
    await _revoke_open(db, now, StaffInvitation.team_id == team.id, StaffInvitation.email == invite.email)
    token = new_token()
    invitation = StaffInvitation(
        team_id=team.id,
        team=team,
        municipality_id=team.municipality_id,
        email=invite.email,
        role=invite.role,
        token_hash=hash_token(token),
        invited_by_official_id=by.id,
        expires_at=now + dt.timedelta(days=INVITATION_DAYS),
    )
    db.add(invitation)
    await db.flush()
    return invitation, token


async def invite_manager(
    db: AsyncSession, municipality: Municipality, email: str, by: Official, now: dt.datetime
) -> tuple[StaffInvitation, str]:
    """A platform admin's invitation to become ``municipality``'s admin, and its link token; an
    open one of the same address for the municipality is replaced."""
    await _revoke_open(
        db,
        now,
        StaffInvitation.team_id.is_(None),
        StaffInvitation.municipality_id == municipality.id,
        StaffInvitation.email == email,
    )
    token = new_token()
    invitation = StaffInvitation(
        team_id=None,
        municipality_id=municipality.id,
        municipality=municipality,
        email=email,
        role=MANAGEMENT_ROLE,
        token_hash=hash_token(token),
        invited_by_official_id=by.id,
        expires_at=now + dt.timedelta(days=INVITATION_DAYS),
    )
    db.add(invitation)
    await db.flush()
    return invitation, token


async def by_token(db: AsyncSession, token: str) -> StaffInvitation | None:
    if not token or len(token) > 200:
        return None
    return await db.scalar(select(StaffInvitation).where(StaffInvitation.token_hash == hash_token(token)))


async def held_by(db: AsyncSession, session: Mapping[str, Any], now: dt.datetime) -> StaffInvitation | None:
    """The open invitation whose link this browser followed before signing in, if any."""
    token = session.get(INVITATION_KEY)
    invitation = await by_token(db, token) if isinstance(token, str) else None
    return invitation if invitation is not None and invitation.open_at(now) else None


def refusal(
    invitation: StaffInvitation, claims: Mapping[str, Any], allowed: Collection[UUID] | None
) -> str | None:
    """Why this sign-in may not take the invitation (an audit reason), or None: the provider's
    e-mail address is another one, or a municipality's own provider signs in for another's team."""
    if not email_matches(invitation, claims.get("email")):
        return "invitation_other_email"
    if allowed is not None and invitation.for_municipality not in allowed:
        return "invitation_other_municipality"
    return None


def email_matches(invitation: StaffInvitation, claimed: object) -> bool:
    """The provider's e-mail address is the invited one (or the provider sends none)."""
    if not isinstance(claimed, str) or not claimed.strip():
        return True
    return claimed.strip().lower() == invitation.email.lower()


async def accept(
    db: AsyncSession, invitation: StaffInvitation, official: Official, now: dt.datetime
) -> Membership | MunicipalityAdmin:
    """Bind ``official`` to the invitation's team, or make them its municipality's admin (once);
    the caller checked it is open."""
    invitation.accepted_at = now
    invitation.accepted_by_official_id = official.id
    if invitation.team_id is None:
        return await _accept_management(db, invitation.for_municipality, official)
    membership = await db.scalar(
        select(Membership).where(
            Membership.official_id == official.id, Membership.team_id == invitation.team_id
        )
    )
    if membership is None:
        membership = Membership(
            official_id=official.id, team_id=invitation.team_id, role=invitation.role, source="app"
        )
        db.add(membership)
    elif membership.source == "app":
        membership.role = invitation.role
    membership.deactivated_at = None  # an invitation is the admin's word to let them in again
    await db.flush()
    await db.refresh(official, ["memberships"])
    return membership


async def _accept_management(
    db: AsyncSession, municipality_id: UUID, official: Official
) -> MunicipalityAdmin:
    admin = await db.scalar(
        select(MunicipalityAdmin).where(
            MunicipalityAdmin.official_id == official.id, MunicipalityAdmin.municipality_id == municipality_id
        )
    )
    if admin is None:  # made admin in the app: later sign-ins keep it (backend.identity.officials)
        admin = MunicipalityAdmin(official_id=official.id, municipality_id=municipality_id, source="app")
        db.add(admin)
        await db.flush()
    return admin


async def members(db: AsyncSession, team_id: UUID) -> list[Membership]:
    rows = await db.scalars(
        select(Membership)
        .join(Official)
        .options(contains_eager(Membership.official))
        .where(Membership.team_id == team_id)
        .order_by(Official.name)
    )
    return list(rows)


async def open_invitations(db: AsyncSession, team_id: UUID, now: dt.datetime) -> list[StaffInvitation]:
    rows = await db.scalars(
        select(StaffInvitation)
        .where(
            StaffInvitation.team_id == team_id,
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
            StaffInvitation.expires_at > now,
        )
        .order_by(StaffInvitation.email)
    )
    return list(rows)
