"""The citizen's booking pages: municipality -> service -> questions -> time -> details -> confirmation."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import journey
from backend.booking import service as booking
from backend.booking.flow import book_and_confirm
from backend.booking.steps import BookingSteps, refused
from backend.booking.validation import clean_text, email_error, name_error, parse_moment
from backend.clock import Clock, local_today
from backend.db.models import Municipality, Service
from backend.i18n import N_
from backend.notify import Notify
from backend.settings import Settings
from backend.timefmt import long_datetime
from backend.web import page, request_locale, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
CONSENT_MISSING = N_("Geef toestemming om verder te gaan.")
STEPS = BookingSteps(base="/diensten", start_of=lambda service: f"/{service.team.municipality.slug}")


async def _service_or_404(db_session: AsyncSession, service_id: UUID) -> Service:
    service = await booking.get_service(db_session, service_id)
    if service is None:
        raise NotFoundException()
    return service


def _origin(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def check_contact(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Name, email and consent from the details form: (values, errors by field)."""
    values = {"name": clean_text(str(data.get("name", ""))), "email": str(data.get("email", "")).strip()}
    if data.get("consent") == "yes":
        values["consent"] = "yes"  # shown ticked again when the form comes back
    errors = {
        key: message
        for key, message in (
            ("name", name_error(values["name"])),
            ("email", email_error(values["email"])),
            ("consent", None if data.get("consent") == "yes" else CONSENT_MISSING),
        )
        if message
    }
    return values, errors


class BookingPages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template | Redirect:
        """Every municipality citizens may find; with only one, straight to its page."""
        municipalities = list(
            await db_session.scalars(
                select(Municipality).where(Municipality.deactivated_at.is_(None)).order_by(Municipality.name)
            )
        )
        if len(municipalities) == 1:  # keeping the query: ?lang=en chooses the language there
            query = f"?{request.url.query}" if request.url.query else ""
            return Redirect(path=f"/{municipalities[0].slug}{query}", status_code=302)
        return page(request, "pages/home.html", municipalities=municipalities)

    @get("/g/{slug:str}")
    async def old_address(self, slug: str) -> Redirect:
        """The address the first emails linked to."""
        return Redirect(path=f"/{slug}", status_code=301)

    @get("/{slug:str}")
    async def municipality(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, slug: str
    ) -> Template:
        """The municipality's public page: its teams with a service to book."""
        municipality = await db_session.scalar(
            select(Municipality).where(Municipality.slug == slug, Municipality.deactivated_at.is_(None))
        )
        if municipality is None:
            raise NotFoundException()
        return page(request, "pages/municipality.html", municipality=municipality)

    # -- questions and free times (shared with the desk's booking for a caller) ------------------------

    @get("/diensten/{service_id:uuid}/vragen")
    async def questions(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, today: dt.date, service_id: UUID
    ) -> Template | Redirect:
        return STEPS.questions(request, await _service_or_404(db_session, service_id), today)

    @post("/diensten/{service_id:uuid}/vragen")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        today: dt.date,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        return STEPS.answer(request, await _service_or_404(db_session, service_id), data, today)

    @get("/diensten/{service_id:uuid}")
    async def slots(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        clock: Clock,
        service_id: UUID,
        vanaf: str = "",
    ) -> Template | Redirect:
        service = await _service_or_404(db_session, service_id)
        return await STEPS.slots(request, db_session, service, vanaf, clock)

    # -- details and booking ------------------------------------------------------------------------------

    @get("/diensten/{service_id:uuid}/boeken")
    async def form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        today: dt.date,
        service_id: UUID,
        start: str = "",
    ) -> Template | Redirect:
        service = await _service_or_404(db_session, service_id)
        moment = parse_moment(start)
        if (back := STEPS.unanswered(request, service, today)) is not None:
            return back
        answers = journey.remembered_answers(request, service, today)
        if moment is None:
            return see_other(f"/diensten/{service.id}")
        values = journey.remembered_contact(request, service)  # after "taken": what was typed
        return self._form(request, service, moment, answers or {}, values=values, errors={})

    def _form(
        self,
        request: Request[Any, Any, Any],
        service: Service,
        start: dt.datetime,
        answers: dict[str, Any],
        *,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        locale = request_locale(request)
        return page(
            request,
            "pages/book_form.html",
            status_code=status_code,
            here=f"/diensten/{service.id}/boeken?{urlencode({'start': start.isoformat()})}",
            service=service,
            start_iso=start.isoformat(),
            start_text=long_datetime(start, locale),
            answers=journey.answer_summary(service, answers, locale),
            questions_url=f"/diensten/{service.id}/vragen" if journey.needs_intake(service) else "",
            values=values,
            errors=errors,
        )

    @post("/diensten/{service_id:uuid}/boeken")
    async def submit(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        notify: Notify,
        clock: Clock,
        db_session: AsyncSession,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        service = await _service_or_404(db_session, service_id)
        start = parse_moment(str(data.get("start", "")))
        today = local_today(clock)
        if (back := STEPS.unanswered(request, service, today)) is not None:
            return back
        answers = journey.remembered_answers(request, service, today)
        if start is None:
            return see_other(f"/diensten/{service.id}")
        values, errors = check_contact(data)
        if errors:
            return self._form(
                request, service, start, answers or {}, values=values, errors=errors, status_code=422
            )
        locale = request_locale(request)
        try:
            result = await book_and_confirm(
                db_session,
                settings,
                notify,
                service,
                start,
                booking.Citizen(name=values["name"], email=values["email"]),
                intake=answers or {},
                locale=locale,
                origin=_origin(request),
                clock=clock,
            )
        except booking.BookingError as exc:
            journey.remember_contact(request, service.id, values)
            return refused(request, service, exc, STEPS.slots_url(service))
        journey.forget_answers(request)
        return see_other(f"/afspraak/{result.manage_token}?nieuw=1")
