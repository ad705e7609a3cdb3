"""``/balie/medewerkers``: a team admin invites, lists, re-roles, deactivates and reactivates the
team's officials; ``/balie/uitnodiging/{token}``: the invited official's way in.

A team the official does not administer, or a membership or invitation of another team, answers
404 and is audited. The rules are in :mod:`backend.tenancy.staff`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.agenda_form import FormErrors
from backend.clock import Clock
from backend.db.models import Membership, Official, StaffInvitation, Team
from backend.desk.auth import current_official, request_scope
from backend.email.outbox import enqueue, outbox_keyring
from backend.email.render import build_message, render
from backend.i18n import N_, translator
from backend.live import LivePages
from backend.settings import Settings
from backend.tenancy import staff
from backend.timefmt import local, long_date
from backend.web import NO_STORE, page, request_locale, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
HERE: Final = "/balie/medewerkers"
DONE: Final = {
    "uitgenodigd": N_("De uitnodiging is verstuurd. De link werkt {days} dagen."),
    "ingetrokken": N_("De uitnodiging is ingetrokken. De link werkt niet meer."),
    "rol": N_("De rol is gewijzigd."),
    "uitgezet": N_("De medewerker kan niet meer bij dit team. Open pagina's van dit team zijn gesloten."),
    "aangezet": N_("De medewerker kan weer bij dit team."),
}


async def _admin_team(
    request: Request[Any, Any, Any], db: AsyncSession, official: Official, team_id: UUID
) -> Team:
    team = await db.get(Team, team_id)
    if team is None or team.id not in request_scope(request).admin_team_ids:
        await audit.access_denied(db, official, "team", team_id, request)
        raise NotFoundException()
    return team


async def _membership(
    request: Request[Any, Any, Any], db: AsyncSession, official: Official, team: Team, membership_id: UUID
) -> Membership:
    membership = await db.get(Membership, membership_id)
    if membership is None or membership.team_id != team.id:
        await audit.access_denied(db, official, "membership", membership_id, request)
        raise NotFoundException()
    return membership


async def queue_invitation_email(
    db: AsyncSession,
    invitation: StaffInvitation,
    token: str,
    inviter: Official,
    settings: Settings,
    locale: str,
    now: dt.datetime,
) -> None:
    """The invitation's e-mail with its one-time link, through the outbox: for a team, or (no team)
    to become the admin of a municipality."""
    _ = translator(locale)
    team = invitation.team
    municipality = team.municipality if team is not None else invitation.municipality
    if municipality is None:
        raise ValueError("an invitation without a team names its municipality")
    context = {
        "inviter": inviter.name,
        "team": team.name if team is not None else "",
        "municipality": municipality.name,
        "role": _(staff.ROLE_NAMES[invitation.role]).lower(),
        "link": f"{settings.public_url.rstrip('/')}/balie/uitnodiging/{token}",
        "until": long_date(local(invitation.expires_at).date(), locale),
    }
    subject = (
        _("Uitnodiging voor team {team} ({municipality})", team=team.name, municipality=municipality.name)
        if team is not None
        else _("Uitnodiging: beheer van {municipality} in de Digitale Balie", municipality=municipality.name)
    )
    message = build_message(
        sender=settings.email.sender,
        to_name="",
        to_address=invitation.email,
        subject=subject,
        body=render("staff_invitation", locale, context),
        now=now,
    )
    await enqueue(
        db,
        key=f"staff-invitation:{invitation.id}",
        recipient=invitation.email,
        message=message,
        keyring=outbox_keyring(settings),
        kind="staff_invitation",
        now=now,
    )


class StaffPages(Controller):
    path = HERE
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        official: Official,
        now: dt.datetime,
        *,
        status_code: int = 200,
        failed: dict[str, Any] | None = None,
    ) -> Template:
        teams = request_scope(request).admin_team_ids
        if not teams:
            await audit.access_denied(db, official, "staff", "", request)
            raise NotFoundException()
        rows = list(await db.scalars(select(Team).where(Team.id.in_(teams)).order_by(Team.name)))
        views = [
            {
                "team": team,
                "members": await staff.members(db, team.id),
                "invitations": await staff.open_invitations(db, team.id, now),
            }
            for team in rows
        ]
        done = DONE.get(request.query_params.get("klaar", ""))
        return page(
            request,
            "pages/desk/staff.html",
            status_code=status_code,
            here=HERE,
            teams=views,
            me=official,
            roles=staff.ROLES,
            failed=failed or {},
            done=done,
            days=staff.INVITATION_DAYS,
            long_date=lambda moment: long_date(local(moment).date(), request_locale(request)),
        )

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, clock: Clock
    ) -> Template:
        return await self._page(request, db_session, official, clock())

    @post("/{team_id:uuid}/uitnodigen")
    async def invite(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        clock: Clock,
        team_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        team = await _admin_team(request, db_session, official, team_id)
        now = clock()
        try:
            wanted = staff.invite_form(data)
        except FormErrors as exc:
            failed = {"id": f"invite-{team.id}", "errors": exc.errors, "values": data}
            return await self._page(request, db_session, official, now, status_code=422, failed=failed)
        invitation, token = await staff.invite(db_session, team, wanted, official, now)
        await queue_invitation_email(
            db_session, invitation, token, official, settings, request_locale(request), now
        )
        audit.staff_changed(
            db_session,
            request,
            official,
            team,
            "invited",
            invitation=str(invitation.id),
            role=invitation.role,
        )
        await db_session.commit()
        return see_other(f"{HERE}?klaar=uitgenodigd#team-{team.id}")

    @post("/{team_id:uuid}/uitnodigingen/{invitation_id:uuid}/intrekken")
    async def revoke_invitation(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        clock: Clock,
        team_id: UUID,
        invitation_id: UUID,
    ) -> Redirect:
        team = await _admin_team(request, db_session, official, team_id)
        invitation = await db_session.get(StaffInvitation, invitation_id)
        if invitation is None or invitation.team_id != team.id:
            await audit.access_denied(db_session, official, "staff_invitation", invitation_id, request)
            raise NotFoundException()
        if invitation.open_at(clock()):
            invitation.revoked_at = clock()
            audit.staff_changed(
                db_session, request, official, team, "invitation_revoked", invitation=str(invitation.id)
            )
            await db_session.commit()
        return see_other(f"{HERE}?klaar=ingetrokken#team-{team.id}")

    @post("/{team_id:uuid}/leden/{membership_id:uuid}/rol")
    async def change_role(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        clock: Clock,
        team_id: UUID,
        membership_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        team = await _admin_team(request, db_session, official, team_id)
        membership = await _membership(request, db_session, official, team, membership_id)
        role = data.get("role", "")
        error = None
        if role not in staff.ROLES:
            error = N_("Kies een van de mogelijkheden.")
        elif membership.source != "app":
            error = N_("Deze rol komt uit de groepen van uw organisatie. Wijzig hem daar.")
        elif membership.official_id == official.id:
            error = N_("Uw eigen rol kan een andere teambeheerder wijzigen, u niet.")
        if error:
            failed = {"id": f"member-{membership.id}", "errors": {"role": (error, {})}, "values": data}
            return await self._page(request, db_session, official, clock(), status_code=422, failed=failed)
        if membership.role != role:
            membership.role = role
            audit.staff_changed(
                db_session, request, official, team, "role", membership=str(membership.id), role=role
            )
            await db_session.commit()
        return see_other(f"{HERE}?klaar=rol#team-{team.id}")

    @post("/{team_id:uuid}/leden/{membership_id:uuid}/uitzetten")
    async def deactivate(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        clock: Clock,
        live: LivePages,
        team_id: UUID,
        membership_id: UUID,
    ) -> Redirect | Template:
        team = await _admin_team(request, db_session, official, team_id)
        membership = await _membership(request, db_session, official, team, membership_id)
        if membership.official_id == official.id:
            failed = {
                "id": f"member-{membership.id}",
                "errors": {"active": (N_("U kunt uzelf niet van het team halen."), {})},
                "values": {},
            }
            return await self._page(request, db_session, official, clock(), status_code=422, failed=failed)
        if membership.active:
            membership.deactivated_at = clock()
            audit.staff_changed(
                db_session, request, official, team, "deactivated", membership=str(membership.id)
            )
            await db_session.commit()
            await live.team_access_ended(team.id, membership.official_id)
        return see_other(f"{HERE}?klaar=uitgezet#team-{team.id}")

    @post("/{team_id:uuid}/leden/{membership_id:uuid}/aanzetten")
    async def reactivate(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        team_id: UUID,
        membership_id: UUID,
    ) -> Redirect:
        team = await _admin_team(request, db_session, official, team_id)
        membership = await _membership(request, db_session, official, team, membership_id)
        if not membership.active:
            membership.deactivated_at = None
            audit.staff_changed(
                db_session, request, official, team, "reactivated", membership=str(membership.id)
            )
            await db_session.commit()
        return see_other(f"{HERE}?klaar=aangezet#team-{team.id}")


class InvitationPages(Controller):
    """The invited official's way in: the link shows what it is for, then starts the sign-in."""

    path = "/balie/uitnodiging"
    include_in_schema = False
    cache_control = NO_STORE

    async def _open(self, db: AsyncSession, token: str, now: dt.datetime) -> StaffInvitation | None:
        invitation = await staff.by_token(db, token)
        await db.commit()  # end the read (SQLite) before the session store writes
        return invitation if invitation is not None and invitation.open_at(now) else None

    @get("/{token:str}")
    async def show(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, clock: Clock, token: str
    ) -> Template:
        invitation = await self._open(db_session, token, clock())
        if invitation is None:
            return page(request, "pages/desk/invitation.html", status_code=404, invitation=None)
        return page(
            request,
            "pages/desk/invitation.html",
            invitation=invitation,
            role=staff.ROLE_NAMES[invitation.role],
            token=token,
        )

    @get("/{token:str}/inloggen")
    async def sign_in(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, clock: Clock, token: str
    ) -> Redirect | Template:
        invitation = await self._open(db_session, token, clock())
        if invitation is None:
            return page(request, "pages/desk/invitation.html", status_code=404, invitation=None)
        request.session[staff.INVITATION_KEY] = token
        return see_other("/balie/inloggen?uitnodiging=1")
