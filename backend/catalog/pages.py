"""``/balie/diensten``: a team admin sets up the team's services without a deploy.

A new service starts as a draft (offered nowhere); the editor holds what citizens read, what the
service asks of them, its slot rules, its intake questions, its documents checklist and the team's
own words in each email, with a preview of the real email. Publishing makes it bookable at once, on
every node (each request reads the catalogue from the database); withdrawing stops new bookings and
leaves booked appointments alone. Every form is checked whole (nothing is stored unless it is all
right) and every change is audited. A service of a team the official does not administer answers
404, audited, as every object outside the scope does.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID, uuid4

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
from backend.catalog import question_form, service_form
from backend.catalog.preview import preview_email
from backend.clock import Clock
from backend.db.models import DocumentRetention, Official, Service, ServiceState, Team
from backend.desk.auth import current_official, request_scope
from backend.i18n import N_
from backend.security import EMAIL_FRAME_PAGE_CSP
from backend.settings import Settings
from backend.web import NO_STORE, page, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
HERE: Final = "/balie/diensten"
STATE_NAMES: Final = {
    ServiceState.DRAFT: N_("Concept: nog niet te boeken"),
    ServiceState.PUBLISHED: N_("Gepubliceerd: te boeken"),
    ServiceState.WITHDRAWN: N_("Ingetrokken: niet meer te boeken"),
}
DONE: Final = {
    "aangemaakt": N_("De dienst is aangemaakt als concept. Vul alles in en publiceer hem dan."),
    "opgeslagen": N_("Opgeslagen."),
    "gepubliceerd": N_("De dienst is gepubliceerd. Inwoners kunnen hem nu boeken."),
    "ingetrokken": N_("De dienst is ingetrokken. Afspraken die al gemaakt zijn, blijven staan."),
    "vraag": N_("De vragen zijn opgeslagen."),
    "e-mails": N_("De teksten van de e-mails zijn opgeslagen."),
}


async def admin_service(
    request: Request[Any, Any, Any], db: AsyncSession, official: Official, service_id: UUID
) -> Service:
    """The service if the official administers its team; 404 and an audit event otherwise."""
    service = await db.get(Service, service_id)
    if service is None or service.team_id not in request_scope(request).admin_team_ids:
        await audit.access_denied(db, official, "service", service_id, request)
        raise NotFoundException()
    return service


async def _keep_days(db: AsyncSession, service: Service) -> int | None:
    row = await db.scalar(select(DocumentRetention).where(DocumentRetention.service_id == service.id))
    return None if row is None else row.keep_days


def _question_at(service: Service, key: str) -> int:
    for index, item in enumerate(service.intake or []):
        if item.get("key") == key:
            return index
    raise NotFoundException()


class ServicePages(Controller):
    path = HERE
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    # -- the list and a new draft ------------------------------------------------------------------

    @get("/")
    async def overview(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official
    ) -> Template:
        return await self._overview(request, db_session, official)

    async def _overview(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        *,
        status_code: int = 200,
        failed: dict[str, Any] | None = None,
    ) -> Template:
        teams = request_scope(request).admin_team_ids
        if not teams:
            await audit.access_denied(db_session, official, "services", "", request)
            raise NotFoundException()
        rows = list(await db_session.scalars(select(Team).where(Team.id.in_(teams)).order_by(Team.name)))
        return page(
            request,
            "pages/desk/services.html",
            status_code=status_code,
            here=HERE,
            teams=rows,
            state_names=STATE_NAMES,
            failed=failed or {},
        )

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        try:
            team_id = UUID(data.get("team", ""))
        except ValueError:
            team_id = uuid4()  # no team by that id: refused below like another team's
        if team_id not in request_scope(request).admin_team_ids:
            await audit.access_denied(db_session, official, "team", team_id, request)
            raise NotFoundException()
        team = await db_session.get(Team, team_id)
        if team is None:
            raise NotFoundException()
        name = " ".join(data.get("name", "").split())
        error = N_("Vul de naam van de dienst in.") if not name else None
        if len(name) > 120:
            error = N_("Dit is te lang (hoogstens {limit} tekens).")
        if error:
            failed = {"id": str(team.id), "errors": {"name": (error, {"limit": 120})}, "values": data}
            return await self._overview(request, db_session, official, status_code=422, failed=failed)
        taken = await db_session.scalars(select(Service.slug).where(Service.team_id == team.id))
        service = Service(
            team_id=team.id,
            team=team,
            name=name,
            slug=service_form.slug_for(name, taken),
            state=ServiceState.DRAFT,
        )
        db_session.add(service)
        await db_session.flush()
        audit.service_changed(db_session, request, official, service, "created")
        await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=aangemaakt")

    # -- the editor ---------------------------------------------------------------------------------

    async def _editor(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        service: Service,
        settings: Settings,
        *,
        status_code: int = 200,
        failed: dict[str, Any] | None = None,
        publish_refused: bool = False,
    ) -> Template:
        """The editor; ``failed`` is the one form that was not right (``id``, ``errors``, ``values``),
        shown again as typed with its messages; every other form shows what is stored."""
        done = request.query_params.get("klaar")
        return page(
            request,
            "pages/desk/service_edit.html",
            status_code=status_code,
            here=f"{HERE}/{service.id}",
            service=service,
            values=service_form.form_values(service, await _keep_days(db, service)),
            questions=[
                {"key": item["key"], "values": question_form.form_values(item)}
                for item in service.intake or []
            ],
            email_values=service_form.email_values(service),
            failed=failed or {},
            state_names=STATE_NAMES,
            problems=service_form.publish_problems(service),
            done=DONE.get(done or ""),
            levels=service_form.LEVEL_NAMES,
            deadlines={"": N_("Geen"), **service_form.DEADLINE_NAMES},
            publish_refused=publish_refused,
            types=question_form.TYPE_NAMES,
            email_kinds=service_form.EMAIL_KINDS,
            max_keep_days=settings.documents.keep_days,
        )

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        service: Service,
        settings: Settings,
        exc: FormErrors,
        form_id: str,
        data: dict[str, str],
    ) -> Template:
        await db.rollback()  # nothing of a refused form is kept
        await db.refresh(service)
        failed = {"id": form_id, "errors": exc.errors, "values": data}
        return await self._editor(request, db, service, settings, status_code=422, failed=failed)

    @get("/{service_id:uuid}")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        service_id: UUID,
    ) -> Template:
        service = await admin_service(request, db_session, official, service_id)
        return await self._editor(request, db_session, service, settings)

    @post("/{service_id:uuid}")
    async def save(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        service = await admin_service(request, db_session, official, service_id)
        try:
            draft = service_form.service_draft(data, max_keep_days=settings.documents.keep_days)
        except FormErrors as exc:
            return await self._refused(request, db_session, service, settings, exc, "service", data)
        service_form.apply(service, draft)
        retention = await db_session.scalar(
            select(DocumentRetention).where(DocumentRetention.service_id == service.id)
        )
        if draft.keep_days is None and retention is not None:
            await db_session.delete(retention)
        elif draft.keep_days is not None and retention is None:
            db_session.add(DocumentRetention(service_id=service.id, keep_days=draft.keep_days))
        elif draft.keep_days is not None and retention is not None:
            retention.keep_days = draft.keep_days
        audit.service_changed(db_session, request, official, service, "edited")
        await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=opgeslagen")

    @post("/{service_id:uuid}/publiceren")
    async def publish(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        service_id: UUID,
    ) -> Redirect | Template:
        service = await admin_service(request, db_session, official, service_id)
        if service_form.publish_problems(service):  # the page lists them; nothing changes
            return await self._editor(
                request, db_session, service, settings, status_code=422, publish_refused=True
            )
        service.state = ServiceState.PUBLISHED
        audit.service_changed(db_session, request, official, service, "published")
        await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=gepubliceerd")

    @post("/{service_id:uuid}/intrekken")
    async def withdraw(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, service_id: UUID
    ) -> Redirect:
        service = await admin_service(request, db_session, official, service_id)
        if service.state == ServiceState.PUBLISHED:
            service.state = ServiceState.WITHDRAWN
            audit.service_changed(db_session, request, official, service, "withdrawn")
            await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=ingetrokken")

    # -- intake questions ---------------------------------------------------------------------------

    @post("/{service_id:uuid}/vragen")
    async def add_question(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        service = await admin_service(request, db_session, official, service_id)
        existing = list(service.intake or [])
        try:
            if len(existing) >= question_form.MAX_QUESTIONS:
                raise FormErrors({"label": (N_("Een dienst heeft hoogstens {limit} vragen."), {"limit": 30})})
            item = question_form.question(data, others=[q["key"] for q in existing])
        except FormErrors as exc:
            return await self._refused(request, db_session, service, settings, exc, "new-question", data)
        service.intake = [*existing, item]
        audit.service_changed(db_session, request, official, service, "question_added", question=item["key"])
        await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=vraag#vragen")

    @post("/{service_id:uuid}/vragen/{key:str}")
    async def save_question(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        service_id: UUID,
        key: str,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        service = await admin_service(request, db_session, official, service_id)
        existing = list(service.intake or [])
        index = _question_at(service, key)
        try:
            item = question_form.question(data, others=[], key=key)
        except FormErrors as exc:
            return await self._refused(request, db_session, service, settings, exc, f"question-{key}", data)
        existing[index] = item
        service.intake = existing
        audit.service_changed(db_session, request, official, service, "question_changed", question=key)
        await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=vraag#vraag-{key}")

    @post("/{service_id:uuid}/vragen/{key:str}/verwijderen")
    async def remove_question(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        service_id: UUID,
        key: str,
    ) -> Redirect:
        service = await admin_service(request, db_session, official, service_id)
        index = _question_at(service, key)
        service.intake = [item for i, item in enumerate(service.intake or []) if i != index]
        audit.service_changed(db_session, request, official, service, "question_removed", question=key)
        await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=vraag#vragen")

    @post("/{service_id:uuid}/vragen/{key:str}/omhoog")
    async def move_question_up(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        service_id: UUID,
        key: str,
    ) -> Redirect:
        service = await admin_service(request, db_session, official, service_id)
        index = _question_at(service, key)
        if index > 0:
            items = list(service.intake or [])
            items[index - 1], items[index] = items[index], items[index - 1]
            service.intake = items
            audit.service_changed(db_session, request, official, service, "question_moved", question=key)
            await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=vraag#vraag-{key}")

    # -- email texts and their preview ----------------------------------------------------------------

    @post("/{service_id:uuid}/e-mails")
    async def save_email_texts(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        service = await admin_service(request, db_session, official, service_id)
        try:
            texts = service_form.email_texts(data)
        except FormErrors as exc:
            return await self._refused(request, db_session, service, settings, exc, "emails", data)
        service.email_texts = texts
        audit.service_changed(db_session, request, official, service, "email_texts")
        await db_session.commit()
        return see_other(f"{HERE}/{service.id}?klaar=e-mails#e-mails")

    @get("/{service_id:uuid}/e-mails/{kind:str}")
    async def email_preview(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        settings: Settings,
        clock: Clock,
        service_id: UUID,
        kind: str,
    ) -> Template:
        service = await admin_service(request, db_session, official, service_id)
        if kind not in service_form.EMAIL_KINDS:
            raise NotFoundException()
        language = request.query_params.get("taal", "nl")
        preview = preview_email(kind, service, settings, now=clock(), locale=language)
        return page(
            request,
            "pages/desk/email_preview.html",
            service=service,
            kind=kind,
            kind_name=service_form.EMAIL_KINDS[kind],
            preview=preview,
            language=preview.locale,
            headers={"Content-Security-Policy": EMAIL_FRAME_PAGE_CSP},
        )
