"""The manage link (``/afspraak/<token>``): see the appointment, move it to another time, cancel it.

The manage token is the booker's own (separate from the join tokens) and works until the end of the
appointment plus the grace window; after that its page names the municipality to call, an unknown
token gets the general text (backend/booking/link_errors.py). GETs change nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post, route
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import journey
from backend.booking import service as booking
from backend.booking.explain import explain
from backend.booking.flow import cancel_and_notify, move_and_notify
from backend.booking.intake import parse_date
from backend.booking.link_errors import link_invalid
from backend.booking.steps import refused
from backend.booking.tokens import appointment_for_manage_token, working_manage_token
from backend.booking.validation import clean_text, parse_moment
from backend.clock import Clock
from backend.db.models import Appointment
from backend.localized import localized_list
from backend.notify import Notify
from backend.settings import Settings
from backend.timefmt import long_datetime
from backend.web import LINK_METHODS, NO_STORE, page, request_locale, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
MAX_REASON = 500


async def _appointment(
    settings: Settings, db_session: AsyncSession, token: str, now: dt.datetime
) -> Appointment | None:
    """The appointment of a manage token that still works at ``now``, else None."""
    return await working_manage_token(db_session, token, settings.join, now)


def _changeable(appointment: Appointment, now: dt.datetime) -> bool:
    try:
        booking.check_changeable(appointment, now)
    except booking.NotChangeable:
        return False
    return True


async def _invalid(request: Request[Any, Any, Any], db_session: AsyncSession, token: str) -> Template:
    """The link no longer works (or never did): the municipality's number when we know the token."""
    return link_invalid(request, await appointment_for_manage_token(db_session, token))


class ManagePages(Controller):
    path = "/afspraak/{token:str}"
    include_in_schema = False
    cache_control = NO_STORE

    @route("/", http_method=LINK_METHODS)
    async def show(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
        token: str,
        nieuw: str = "",
        gewijzigd: str = "",
    ) -> Template:
        appointment = await _appointment(settings, db_session, token, clock())
        if appointment is None:
            return await _invalid(request, db_session, token)
        locale = request_locale(request)
        return page(
            request,
            "pages/appointment.html",
            appointment=appointment,
            token=token,
            start_text=long_datetime(appointment.start_at, locale),
            status=journey.status_label(appointment.status, locale),
            documents=localized_list(appointment.service, "documents", locale),
            answers=journey.answer_summary(appointment.service, appointment.intake, locale),
            just_booked=nieuw == "1",
            changed=gewijzigd,
            changeable=_changeable(appointment, clock()),
        )

    @get("/verzetten")
    async def choose_time(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
        token: str,
        start: str = "",
        vanaf: str = "",
    ) -> Template | Redirect:
        appointment = await _appointment(settings, db_session, token, clock())
        if appointment is None:
            return await _invalid(request, db_session, token)
        if not _changeable(appointment, clock()):
            return see_other(f"/afspraak/{token}")
        locale = request_locale(request)
        moment = parse_moment(start) if start else None
        if moment is not None:
            return page(
                request,
                "pages/reschedule_confirm.html",
                appointment=appointment,
                token=token,
                start_iso=moment.isoformat(),
                old_text=long_datetime(appointment.start_at, locale),
                new_text=long_datetime(moment, locale),
            )
        listing = await journey.slot_listing(
            db_session,
            appointment.service,
            locale,
            first_day=parse_date(vanaf) if vanaf else None,
            answers=appointment.intake,
            now=clock(),
        )
        return page(
            request,
            "pages/slots.html",
            service=appointment.service,
            listing=listing,
            slots_url=f"/afspraak/{token}/verzetten",
            book_url=f"/afspraak/{token}/verzetten",
            back=f"/afspraak/{token}",
            rescheduling=True,
        )

    @post("/verzetten")
    async def move(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        notify: Notify,
        db_session: AsyncSession,
        token: str,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        appointment = await _appointment(settings, db_session, token, clock())
        if appointment is None:
            return await _invalid(request, db_session, token)
        start = parse_moment(str(data.get("start", "")))
        if start is None:
            return see_other(f"/afspraak/{token}/verzetten")
        try:
            await move_and_notify(
                db_session, settings, notify, appointment, start, manage_token=token, clock=clock
            )
        except booking.BookingError as exc:
            return refused(request, appointment.service, exc, f"/afspraak/{token}/verzetten")
        return see_other(f"/afspraak/{token}?gewijzigd=verzet")

    @get("/annuleren")
    async def confirm_cancel(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
        token: str,
    ) -> Template | Redirect:
        appointment = await _appointment(settings, db_session, token, clock())
        if appointment is None:
            return await _invalid(request, db_session, token)
        if not _changeable(appointment, clock()):
            return see_other(f"/afspraak/{token}")
        return page(
            request,
            "pages/cancel_confirm.html",
            appointment=appointment,
            token=token,
            start_text=long_datetime(appointment.start_at, request_locale(request)),
            max_reason=MAX_REASON,
        )

    @post("/annuleren")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        notify: Notify,
        db_session: AsyncSession,
        token: str,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        appointment = await _appointment(settings, db_session, token, clock())
        if appointment is None:
            return await _invalid(request, db_session, token)
        reason = clean_text(str(data.get("reason", "")))[:MAX_REASON]
        try:
            await cancel_and_notify(db_session, settings, notify, appointment, reason=reason, clock=clock)
        except booking.BookingError as exc:
            return page(
                request,
                "pages/error.html",
                status_code=409,
                title=booking.NOT_CHANGEABLE_TITLE,
                message=explain(exc, request_locale(request)),
            )
        return see_other(f"/afspraak/{token}?gewijzigd=geannuleerd")
