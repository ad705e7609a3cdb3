"""``/balie/gemeenten``: the platform admin makes, switches off and on the municipalities of the
deployment and invites each one's first admin; a municipality admin keeps its profile, its branding
and its logo.

A platform admin sees every municipality but none of their profiles, teams or appointments; a
municipality admin sees only the municipalities they manage. A municipality outside the official's
reach answers 404 and is audited, as every object outside the scope does. Every change is audited
with the values before and after (a logo by its type and size).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any, Final, NoReturn
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.agenda_form import FormErrors, Message
from backend.booking.validation import email_error
from backend.clock import Clock
from backend.db.models import Municipality, MunicipalityAdmin, MunicipalityLogo, Official, StaffInvitation
from backend.desk.auth import current_official, current_scope
from backend.documents.rejections import Rejected
from backend.documents.upload import UPLOAD_OVERHEAD, read_upload
from backend.i18n import N_
from backend.settings import Settings
from backend.tenancy import branding, municipality_form, staff
from backend.tenancy.scope import Scope
from backend.tenancy.staff_pages import queue_invitation_email
from backend.web import NO_STORE, page, request_locale, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
HERE: Final = "/balie/gemeenten"
DONE: Final = {
    "aangemaakt": N_("De gemeente is aangemaakt. De beheerder krijgt een uitnodiging per e-mail."),
    "uitgenodigd": N_("De uitnodiging is verstuurd. De link werkt {days} dagen."),
    "uitgezet": N_("De gemeente is uitgezet. Inwoners kunnen geen afspraken meer maken."),
    "aangezet": N_("De gemeente is weer aangezet. Inwoners kunnen weer afspraken maken."),
    "opgeslagen": N_("Opgeslagen."),
    "huisstijl": N_("De huisstijl is opgeslagen. Inwoners zien hem meteen."),
    "logo": N_("Het logo is opgeslagen."),
    "logo-weg": N_("Het logo is verwijderd."),
}
TAKEN_CODE: Final = N_("Er is al een gemeente met deze CBS-code.")
TAKEN_SLUG: Final = N_("Dit webadres heeft al een andere gemeente. Kies een ander.")
NO_FILE: Final = N_("Kies een bestand met het logo (PNG of SVG).")
LOGO_TOO_LARGE: Final[Message] = (branding.TOO_LARGE, {"size": f"{branding.MAX_LOGO_BYTES // 1024} kB"})


def _form(form_id: str, values: dict[str, str], errors: dict[str, Message] | None = None) -> dict[str, Any]:
    return {"id": form_id, "errors": errors or {}, "values": values}


def profile_values(municipality: Municipality) -> dict[str, str]:
    return {
        "name": municipality.name,
        "phone": municipality.phone,
        "website": municipality.website,
        "privacy_url": municipality.privacy_url,
        "email_sender_name": municipality.email_sender_name,
        "reply_to": municipality.reply_to,
        "name_en": municipality_form.stored_value(municipality, "name_en"),
    }


async def _brand_changed(
    db: AsyncSession,
    request: Request[Any, Any, Any],
    scope: Scope,
    municipality: Municipality,
    what: str,
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """A new ``brand_version`` (so the stylesheet's and logo's addresses change and caches
    refresh), the audit event, the commit."""
    municipality.brand_version += 1
    audit.municipality_changed(db, request, scope.official, municipality, what, changes)
    await db.commit()


async def _denied(
    request: Request[Any, Any, Any], db: AsyncSession, scope: Scope, object_id: object
) -> NoReturn:
    await audit.access_denied(db, scope.official, "municipality", object_id, request)
    raise NotFoundException()


class MunicipalityPages(Controller):
    path = HERE
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official), "staff_scope": Provide(current_scope)}

    # -- the list: every municipality for the platform admin, one's own for a municipality admin ----

    async def _list(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_scope: Scope,
        now: dt.datetime,
        *,
        status_code: int = 200,
        failed: dict[str, Any] | None = None,
    ) -> Template:
        platform = staff_scope.is_platform_admin
        managed = staff_scope.admin_municipality_ids
        if not platform and not managed:
            await _denied(request, db, staff_scope, "")
        query = select(Municipality).order_by(Municipality.name)
        if not platform:
            query = query.where(Municipality.id.in_(managed))
        rows = list(await db.scalars(query))
        admins: dict[UUID, list[str]] = {}
        invited: dict[UUID, list[str]] = {}
        if platform:
            for municipality_id, name in await db.execute(
                select(MunicipalityAdmin.municipality_id, Official.name)
                .join(Official, Official.id == MunicipalityAdmin.official_id)
                .order_by(Official.name)
            ):
                admins.setdefault(municipality_id, []).append(name)
            for invitation in await db.scalars(
                select(StaffInvitation)
                .where(
                    StaffInvitation.team_id.is_(None),
                    StaffInvitation.accepted_at.is_(None),
                    StaffInvitation.revoked_at.is_(None),
                    StaffInvitation.expires_at > now,
                )
                .order_by(StaffInvitation.email)
            ):
                if invitation.municipality_id is not None:
                    invited.setdefault(invitation.municipality_id, []).append(invitation.email)
        done = DONE.get(request.query_params.get("klaar", ""))
        return page(
            request,
            "pages/desk/municipalities.html",
            status_code=status_code,
            here=HERE,
            municipalities=rows,
            platform=platform,
            managed=managed,
            admins=admins,
            invited=invited,
            form=failed if failed and failed["id"] == "municipality" else _form("municipality", {}),
            failed=failed or {},
            done=done,
            days=staff.INVITATION_DAYS,
        )

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, staff_scope: Scope, clock: Clock
    ) -> Template | Redirect:
        managed = staff_scope.admin_municipality_ids
        if not staff_scope.is_platform_admin and len(managed) == 1 and not request.query_params:
            return see_other(f"{HERE}/{next(iter(managed))}")
        return await self._list(request, db_session, staff_scope, clock())

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        settings: Settings,
        clock: Clock,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        if not staff_scope.is_platform_admin:
            await _denied(request, db_session, staff_scope, "")
        now = clock()
        try:
            typed = municipality_form.new_municipality(data)
        except FormErrors as exc:
            failed = _form("municipality", data, exc.errors)
            return await self._list(request, db_session, staff_scope, now, status_code=422, failed=failed)
        errors: dict[str, Message] = {}
        if await db_session.scalar(select(Municipality.id).where(Municipality.cbs_code == typed.cbs_code)):
            errors["cbs_code"] = (TAKEN_CODE, {})
        if await db_session.scalar(select(Municipality.id).where(Municipality.slug == typed.slug)):
            errors["slug"] = (TAKEN_SLUG, {})
        if errors:
            failed = _form("municipality", data, errors)
            return await self._list(request, db_session, staff_scope, now, status_code=422, failed=failed)
        municipality = Municipality(
            cbs_code=typed.cbs_code, slug=typed.slug, timezone=typed.timezone, name=""
        )
        typed.profile.apply(municipality)
        db_session.add(municipality)
        await db_session.flush()
        audit.municipality_changed(
            db_session,
            request,
            staff_scope.official,
            municipality,
            "created",
            {
                "cbs_code": (None, typed.cbs_code),
                "slug": (None, typed.slug),
                "timezone": (None, typed.timezone),
                **{name: (None, value) for name, value in asdict(typed.profile).items() if value},
            },
        )
        await self._invite(request, db_session, staff_scope, settings, municipality, typed.admin_email, now)
        await db_session.commit()
        return see_other(f"{HERE}?klaar=aangemaakt#gemeente-{municipality.id}")

    async def _invite(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_scope: Scope,
        settings: Settings,
        municipality: Municipality,
        email: str,
        now: dt.datetime,
    ) -> None:
        invitation, token = await staff.invite_manager(db, municipality, email, staff_scope.official, now)
        await queue_invitation_email(
            db, invitation, token, staff_scope.official, settings, request_locale(request), now
        )
        audit.manager_invited(db, request, staff_scope.official, invitation)

    async def _for_platform(
        self, request: Request[Any, Any, Any], db: AsyncSession, staff_scope: Scope, municipality_id: UUID
    ) -> Municipality:
        municipality = await db.get(Municipality, municipality_id)
        if municipality is None or not staff_scope.is_platform_admin:
            await _denied(request, db, staff_scope, municipality_id)
        return municipality

    @post("/{municipality_id:uuid}/beheerder")
    async def invite_manager(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        settings: Settings,
        clock: Clock,
        municipality_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        municipality = await self._for_platform(request, db_session, staff_scope, municipality_id)
        now = clock()
        email = data.get("email", "").strip().lower()
        if error := email_error(email):
            failed = _form(f"manager-{municipality.id}", data, {"email": (error, {})})
            return await self._list(request, db_session, staff_scope, now, status_code=422, failed=failed)
        await self._invite(request, db_session, staff_scope, settings, municipality, email, now)
        await db_session.commit()
        return see_other(f"{HERE}?klaar=uitgenodigd#gemeente-{municipality.id}")

    @post("/{municipality_id:uuid}/uitzetten")
    async def deactivate(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        clock: Clock,
        municipality_id: UUID,
    ) -> Redirect:
        return await self._switch(request, db_session, staff_scope, municipality_id, clock())

    @post("/{municipality_id:uuid}/aanzetten")
    async def reactivate(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        municipality_id: UUID,
    ) -> Redirect:
        return await self._switch(request, db_session, staff_scope, municipality_id, None)

    async def _switch(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_scope: Scope,
        municipality_id: UUID,
        off_since: dt.datetime | None,
    ) -> Redirect:
        """Switch the municipality off (``off_since``: now) or on again (None); audited once."""
        municipality = await self._for_platform(request, db, staff_scope, municipality_id)
        turn_on = off_since is None
        if municipality.active != turn_on:
            municipality.deactivated_at = off_since
            what = "reactivated" if turn_on else "deactivated"
            changes = {"active": (not turn_on, turn_on)}
            audit.municipality_changed(db, request, staff_scope.official, municipality, what, changes)
            await db.commit()
        done = "aangezet" if turn_on else "uitgezet"
        return see_other(f"{HERE}?klaar={done}#gemeente-{municipality_id}")

    # -- one municipality: its admin keeps its profile, branding and logo ---------------------------

    async def _managed(
        self, request: Request[Any, Any, Any], db: AsyncSession, staff_scope: Scope, municipality_id: UUID
    ) -> Municipality:
        municipality = await db.get(Municipality, municipality_id)
        if municipality is None or municipality_id not in staff_scope.admin_municipality_ids:
            await _denied(request, db, staff_scope, municipality_id)
        return municipality

    def _profile_page(
        self,
        request: Request[Any, Any, Any],
        municipality: Municipality,
        *,
        status_code: int = 200,
        profile: dict[str, Any] | None = None,
        brand: dict[str, Any] | None = None,
        logo_error: Message | None = None,
    ) -> Template:
        return page(
            request,
            "pages/desk/municipality_profile.html",
            status_code=status_code,
            here=f"{HERE}/{municipality.id}",
            municipality=municipality,
            profile=profile or _form("profile", profile_values(municipality)),
            brand_form=brand or _form("brand", branding.form_values(municipality.brand_tokens)),
            brand_defaults=branding.FIELD_DEFAULTS,
            fonts=branding.FONT_NAMES,
            logo_error=logo_error,
            max_logo_kb=branding.MAX_LOGO_BYTES // 1024,
            failed=bool(profile or brand or logo_error),
            done=DONE.get(request.query_params.get("klaar", "")),
        )

    @get("/{municipality_id:uuid}")
    async def profile(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        municipality_id: UUID,
    ) -> Template:
        municipality = await self._managed(request, db_session, staff_scope, municipality_id)
        return self._profile_page(request, municipality)

    @post("/{municipality_id:uuid}")
    async def save_profile(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        municipality_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        municipality = await self._managed(request, db_session, staff_scope, municipality_id)
        try:
            typed = municipality_form.profile(data)
        except FormErrors as exc:
            return self._profile_page(
                request, municipality, status_code=422, profile=_form("profile", data, exc.errors)
            )
        changes = typed.changes(municipality)
        if changes:
            typed.apply(municipality)
            audit.municipality_changed(
                db_session, request, staff_scope.official, municipality, "profile", dict(changes)
            )
            await db_session.commit()
        return see_other(f"{HERE}/{municipality_id}?klaar=opgeslagen")

    @post("/{municipality_id:uuid}/huisstijl")
    async def save_branding(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        municipality_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        municipality = await self._managed(request, db_session, staff_scope, municipality_id)
        tokens, errors = branding.check_tokens(data)
        if errors:
            return self._profile_page(
                request, municipality, status_code=422, brand=_form("brand", data, errors)
            )
        before = dict(municipality.brand_tokens or {})
        changed = {
            name: (before.get(name, branding.DEFAULTS[name]), value)
            for name, value in tokens.items()
            if before.get(name, branding.DEFAULTS[name]) != value
        }
        if changed:
            municipality.brand_tokens = tokens
            await _brand_changed(db_session, request, staff_scope, municipality, "branding", changed)
        return see_other(f"{HERE}/{municipality_id}?klaar=huisstijl#huisstijl")

    @post("/{municipality_id:uuid}/logo", request_max_body_size=branding.MAX_LOGO_BYTES + UPLOAD_OVERHEAD)
    async def upload_logo(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        municipality_id: UUID,
    ) -> Redirect | Template:
        municipality = await self._managed(request, db_session, staff_scope, municipality_id)
        await db_session.commit()  # nothing is held while the upload streams in
        try:
            upload = await read_upload(request, branding.MAX_LOGO_BYTES)
        except Rejected as rejected:
            error = LOGO_TOO_LARGE if rejected.code == "too_large" else (NO_FILE, {})
            return self._profile_page(request, municipality, status_code=422, logo_error=error)
        if upload.truncated:
            return self._profile_page(request, municipality, status_code=422, logo_error=LOGO_TOO_LARGE)
        try:
            data, content_type = branding.sanitise_logo(upload.data)
        except branding.LogoRefused as refused:
            return self._profile_page(request, municipality, status_code=422, logo_error=refused.message)
        before = municipality.logo_type
        logo = await db_session.scalar(
            select(MunicipalityLogo).where(MunicipalityLogo.municipality_id == municipality.id)
        )
        if logo is None:
            db_session.add(
                MunicipalityLogo(municipality_id=municipality.id, content_type=content_type, data=data)
            )
        else:
            logo.content_type, logo.data = content_type, data
        municipality.logo_type = content_type
        changes = {"logo": (before or None, f"{content_type}, {len(data)} bytes")}
        await _brand_changed(db_session, request, staff_scope, municipality, "logo", changes)
        return see_other(f"{HERE}/{municipality_id}?klaar=logo#logo")

    @post("/{municipality_id:uuid}/logo/verwijderen")
    async def remove_logo(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        municipality_id: UUID,
    ) -> Redirect:
        municipality = await self._managed(request, db_session, staff_scope, municipality_id)
        if municipality.logo_type:
            before = municipality.logo_type
            await db_session.execute(
                delete(MunicipalityLogo).where(MunicipalityLogo.municipality_id == municipality.id)
            )
            municipality.logo_type = ""
            await _brand_changed(
                db_session, request, staff_scope, municipality, "logo_removed", {"logo": (before, None)}
            )
        return see_other(f"{HERE}/{municipality_id}?klaar=logo-weg#logo")
