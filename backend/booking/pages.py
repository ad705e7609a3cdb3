"""The citizen's booking pages: municipality -> team -> service -> slot -> details -> confirmation."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
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

from backend.booking import service as booking
from backend.booking.flow import book_and_confirm
from backend.booking.tokens import appointment_for_manage_token
from backend.booking.validation import clean_text, email_error, name_error, parse_moment
from backend.db.models import Municipality, Service
from backend.i18n import N_
from backend.timefmt import AMSTERDAM, clock, local, long_date, long_datetime
from backend.web import NO_STORE, page, request_locale, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
DAYS_SHOWN = 14
CONSENT_MISSING = N_("Geef toestemming om verder te gaan.")


async def _service_or_404(db_session: AsyncSession, service_id: UUID) -> Service:
    service = await booking.get_service(db_session, service_id)
    if service is None:
        raise NotFoundException()
    return service


class BookingPages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
        municipalities = list(await db_session.scalars(select(Municipality).order_by(Municipality.name)))
        return page(request, "pages/home.html", municipalities=municipalities)

    @get("/g/{slug:str}")
    async def municipality(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, slug: str
    ) -> Template:
        municipality = await db_session.scalar(select(Municipality).where(Municipality.slug == slug))
        if municipality is None:
            raise NotFoundException()
        return page(request, "pages/municipality.html", municipality=municipality)

    @get("/diensten/{service_id:uuid}")
    async def slots(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, service_id: UUID
    ) -> Template:
        service = await _service_or_404(db_session, service_id)
        locale = request_locale(request)
        today = dt.datetime.now(AMSTERDAM).date()
        starts = await booking.free_slots(
            db_session, service, today, today + dt.timedelta(days=DAYS_SHOWN), dt.datetime.now(dt.UTC)
        )
        days = [
            {
                "label": long_date(day, locale),
                "slots": [{"iso": s.isoformat(), "time": clock(s)} for s in group],
            }
            for day, group in groupby(starts, key=lambda s: local(s).date())
        ]
        return page(request, "pages/slots.html", service=service, days=days, days_shown=DAYS_SHOWN)

    @get("/diensten/{service_id:uuid}/boeken")
    async def form(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, service_id: UUID, start: str = ""
    ) -> Template | Redirect:
        service = await _service_or_404(db_session, service_id)
        moment = parse_moment(start)
        if moment is None:
            return see_other(f"/diensten/{service.id}")
        return self._form(request, service, moment, values={}, errors={})

    def _form(
        self,
        request: Request[Any, Any, Any],
        service: Service,
        start: dt.datetime,
        *,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/book_form.html",
            status_code=status_code,
            here=f"/diensten/{service.id}/boeken?{urlencode({'start': start.isoformat()})}",
            service=service,
            start_iso=start.isoformat(),
            start_text=long_datetime(start, request_locale(request)),
            values=values,
            errors=errors,
        )

    @post("/diensten/{service_id:uuid}/boeken")
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        service = await _service_or_404(db_session, service_id)
        start = parse_moment(str(data.get("start", "")))
        if start is None:
            return see_other(f"/diensten/{service.id}")
        values = {"name": clean_text(str(data.get("name", ""))), "email": str(data.get("email", "")).strip()}
        errors = {
            key: message
            for key, message in (
                ("name", name_error(values["name"])),
                ("email", email_error(values["email"])),
                (
                    "consent",
                    None if data.get("consent") == "yes" else N_("Geef toestemming om verder te gaan."),
                ),
            )
            if message
        }
        if errors:
            return self._form(request, service, start, values=values, errors=errors, status_code=422)
        try:
            result = await book_and_confirm(
                db_session,
                request.app.state,
                service,
                start,
                booking.Citizen(name=values["name"], email=values["email"]),
                locale=request_locale(request),
            )
        except (booking.SlotTaken, booking.SlotNotOffered) as exc:
            return page(
                request, "pages/slot_gone.html", status_code=409, service=service, message=exc.message
            )
        return see_other(f"/afspraak/{result.manage_token}?nieuw=1")

    @get("/afspraak/{token:str}", cache_control=NO_STORE)
    async def manage(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, token: str, nieuw: str = ""
    ) -> Template:
        appointment = await appointment_for_manage_token(db_session, token)
        if appointment is None:
            return page(request, "pages/link_invalid.html", status_code=404)
        return page(
            request,
            "pages/appointment.html",
            appointment=appointment,
            start_text=long_datetime(appointment.start_at, request_locale(request)),
            just_booked=nieuw == "1",
        )
