"""``/balie/afspraak-maken``: an official books for a citizen who phones.

The same journey as the citizen's (questions, free times, details), with the same availability,
except that the official may book without the service's notice and beyond its horizon (never over
capacity). The appointment records who made it, and the citizen gets the same emails.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import journey
from backend.booking import service as booking
from backend.booking.flow import book_and_confirm
from backend.booking.pages import check_contact
from backend.booking.steps import BookingSteps, refused
from backend.booking.validation import parse_moment
from backend.clock import Clock, local_today
from backend.db.models import Appointment, Official, Service, ServiceState
from backend.desk.auth import current_official, of_own_team, request_scope
from backend.i18n import LOCALES
from backend.notify import Notify
from backend.settings import Settings
from backend.timefmt import long_datetime
from backend.web import NO_STORE, page, request_locale, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
BASE = "/balie/afspraak-maken"
STEPS = BookingSteps(base=BASE, start_of=lambda _service: BASE, by_official=True)


async def _service_for(
    request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, service_id: UUID
) -> Service:
    service = await of_own_team(request, db_session, official, Service, service_id)
    if not service.is_bookable:  # a draft, a withdrawn one or one of a switched-off municipality
        raise NotFoundException()
    return service


class PhoneBooking(Controller):
    path = BASE
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    @get("/")
    async def choose_service(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official
    ) -> Template:
        services = list(
            await db_session.scalars(
                select(Service)
                .where(
                    Service.team_id.in_(request_scope(request).team_ids),
                    Service.state == ServiceState.PUBLISHED,
                )
                .order_by(Service.name)
            )
        )
        services = [s for s in services if s.is_bookable]
        return page(request, "pages/desk/phone_services.html", services=services, base=BASE)

    @get("/{service_id:uuid}/vragen")
    async def questions(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        today: dt.date,
        service_id: UUID,
    ) -> Template | Redirect:
        return STEPS.questions(request, await _service_for(request, db_session, official, service_id), today)

    @post("/{service_id:uuid}/vragen")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        today: dt.date,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        service = await _service_for(request, db_session, official, service_id)
        return STEPS.answer(request, service, data, today)

    @get("/{service_id:uuid}")
    async def slots(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        clock: Clock,
        service_id: UUID,
        vanaf: str = "",
    ) -> Template | Redirect:
        service = await _service_for(request, db_session, official, service_id)
        return await STEPS.slots(request, db_session, service, vanaf, clock)

    @get("/{service_id:uuid}/boeken")
    async def form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        today: dt.date,
        service_id: UUID,
        start: str = "",
    ) -> Template | Redirect:
        service = await _service_for(request, db_session, official, service_id)
        moment = parse_moment(start)
        if moment is None:
            return see_other(f"{BASE}/{service.id}")
        return self._form(request, service, moment, today, {}, {})

    def _form(
        self,
        request: Request[Any, Any, Any],
        service: Service,
        start: Any,
        today: dt.date,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        locale = request_locale(request)
        return page(
            request,
            "pages/desk/phone_form.html",
            status_code=status_code,
            service=service,
            start_iso=start.isoformat(),
            start_text=long_datetime(start, locale),
            answers=journey.answer_summary(
                service,
                journey.remembered_answers(request, service, today) or {},
                locale,
                for_official=True,
            ),
            action=f"{BASE}/{service.id}/boeken",
            back=f"{BASE}/{service.id}",
            values=values,
            errors=errors,
        )

    @post("/{service_id:uuid}/boeken")
    async def submit(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        notify: Notify,
        db_session: AsyncSession,
        official: Official,
        clock: Clock,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        service = await _service_for(request, db_session, official, service_id)
        start = parse_moment(str(data.get("start", "")))
        today = local_today(clock)
        if (back := STEPS.unanswered(request, service, today)) is not None:
            return back
        answers = journey.remembered_answers(request, service, today)
        if start is None:
            return see_other(f"{BASE}/{service.id}")
        values, errors = check_contact(data)
        language = str(data.get("language", "nl"))
        values["language"] = language if language in LOCALES else "nl"
        if errors:
            return self._form(request, service, start, today, values, errors, status_code=422)
        try:
            result = await book_and_confirm(
                db_session,
                settings,
                notify,
                service,
                start,
                booking.Citizen(name=values["name"], email=values["email"]),
                intake=answers or {},
                locale=values["language"],
                created_by=official.id,
                origin=request.client.host if request.client else "",
                clock=clock,
            )
        except booking.BookingError as exc:
            return refused(request, service, exc, STEPS.slots_url(service))
        journey.forget_answers(request)
        return see_other(f"{BASE}/gemaakt/{result.appointment.id}")

    @get("/gemaakt/{appointment_id:uuid}")
    async def made(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
    ) -> Template:
        appointment = await of_own_team(request, db_session, official, Appointment, appointment_id)
        locale = request_locale(request)
        return page(
            request,
            "pages/desk/phone_done.html",
            appointment=appointment,
            start_text=long_datetime(appointment.start_at, locale),
            answers=journey.answer_summary(
                appointment.service, appointment.intake, locale, for_official=True
            ),
            base=BASE,
        )
