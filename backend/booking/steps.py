"""The steps of a booking as pages, shared by the citizen (``/diensten``) and the desk that books for
a caller (``/balie/afspraak-maken``): questions -> free times. Controllers keep only their routes,
who may see a service, and what happens at the end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import journey
from backend.booking.explain import explain
from backend.booking.intake import check_answers, parse_date, parse_questions
from backend.booking.service import BookingError, SlotTaken
from backend.clock import Clock, local_today
from backend.db.models import Service
from backend.web import page, request_locale, see_other


@dataclass(frozen=True)
class BookingSteps:
    base: str
    """``/diensten`` or ``/balie/afspraak-maken``: the steps live at ``{base}/{service id}...``."""
    start_of: Callable[[Service], str]
    """Where "back" leads from the first step."""
    by_official: bool = False
    """An official books for a caller: notice and horizon do not apply (capacity does)."""

    def questions_url(self, service: Service) -> str:
        return f"{self.base}/{service.id}/vragen"

    def slots_url(self, service: Service) -> str:
        return f"{self.base}/{service.id}"

    def book_url(self, service: Service) -> str:
        return f"{self.base}/{service.id}/boeken"

    def unanswered(
        self, request: Request[Any, Any, Any], service: Service, today: dt.date
    ) -> Redirect | None:
        """The way back to the questions when the service has some and this session has no answers."""
        if journey.needs_intake(service) and journey.remembered_answers(request, service, today) is None:
            return see_other(self.questions_url(service))
        return None

    def questions(
        self,
        request: Request[Any, Any, Any],
        service: Service,
        today: dt.date,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template | Redirect:
        if not journey.needs_intake(service):
            return see_other(self.slots_url(service))
        if values is None:
            values = journey.remembered_answers(request, service, today) or {}
        errors = errors or {}
        return page(
            request,
            "pages/intake.html",
            status_code=status_code,
            here=self.questions_url(service),
            service=service,
            action=self.questions_url(service),
            back=self.start_of(service),
            fields=journey.intake_fields(
                service, request_locale(request), values, errors, for_official=self.by_official
            ),
            error_count=len(errors),
        )

    def answer(
        self, request: Request[Any, Any, Any], service: Service, data: dict[str, str], today: dt.date
    ) -> Template | Redirect:
        questions = parse_questions(service.intake)
        raw = {q.key: data[q.key] for q in questions if q.key in data}
        checked = check_answers(questions, raw, today)
        if not checked.ok:
            return self.questions(request, service, today, raw, checked.errors, status_code=422)
        journey.remember_answers(request, service.id, checked.answers)
        return see_other(self.slots_url(service))

    async def slots(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        service: Service,
        vanaf: str,
        clock: Clock,
    ) -> Template | Redirect:
        today = local_today(clock)
        if (back := self.unanswered(request, service, today)) is not None:
            return back
        listing = await journey.slot_listing(
            db_session,
            service,
            request_locale(request),
            first_day=parse_date(vanaf) if vanaf else None,
            answers=journey.remembered_answers(request, service, today) or {},
            now=clock(),
            by_official=self.by_official,
        )
        return page(
            request,
            "pages/slots.html",
            service=service,
            listing=listing,
            slots_url=self.slots_url(service),
            book_url=self.book_url(service),
            back=self.questions_url(service) if journey.needs_intake(service) else self.start_of(service),
        )


def refused(
    request: Request[Any, Any, Any], service: Service, error: BookingError, retry_url: str
) -> Template:
    """The page for a booking or a move that could not be made: why, in the visitor's language, and
    the way to another time (409 when someone else was faster, 422 when the time is not possible)."""
    taken = isinstance(error, SlotTaken)
    return page(
        request,
        "pages/slot_gone.html",
        status_code=409 if taken else 422,
        service=service,
        message=explain(error, request_locale(request)),
        taken=taken,
        retry_url=retry_url,
    )
