"""The services of /api/v1: what citizens can book, each service's intake, and its free slots.

Texts follow the request's language (``?lang=``, else ``Accept-Language``; Dutch by default).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import service as booking
from backend.booking.api_answers import INTAKE_SCHEMA, SERVICE, SERVICES, SLOTS, absent_or
from backend.booking.intake import parse_questions
from backend.booking.schemas import ServiceOut, SlotOut, intake_json_schema, question_out
from backend.booking.validation import plausible_day
from backend.clock import Clock, local_today
from backend.db.models import Municipality, Service, ServiceState, Team
from backend.errors import api_translator, invalid, problem
from backend.i18n import N_, Translate
from backend.localized import localized, localized_list
from backend.timefmt import iso_local
from backend.web import request_locale

MAX_RANGE_DAYS = 62
UNKNOWN_SERVICE = N_("Onbekende dienst.")
SCHEMA_JSON = "application/schema+json"
DAY = absent_or("string", format="date")


def _service_out(service: Service, locale: str) -> ServiceOut:
    team = service.team
    return ServiceOut(
        id=service.id,
        slug=service.slug,
        name=localized(service, "name", locale),
        description=localized(service, "description", locale),
        team=localized(team, "name", locale),
        municipality=localized(team.municipality, "name", locale),
        duration=service.duration_minutes,
        digid_level=service.required_loa or "none",
        documents=localized_list(service, "documents", locale),
        intake=[question_out(q, locale) for q in parse_questions(service.intake)],
        intake_schema=f"/api/v1/services/{service.id}/intake-schema",
    )


def _unknown_service(_: Translate) -> Response[Any]:
    return problem(404, _(N_("Niet gevonden")), _(UNKNOWN_SERVICE))


def _wrong_days(
    _: Translate, first: dt.date, last: dt.date | None, birth_date: dt.date | None, today: dt.date
) -> tuple[str, str] | None:
    """The first of the query's days that is wrong, with why; None if they all fit."""
    if not plausible_day(first):
        return "from", _(N_("Geef een datum tussen 2000 en 2200."))
    if last is not None and not plausible_day(last):
        return "to", _(N_("Geef een datum tussen 2000 en 2200."))
    if last is not None and last < first:
        return "to", _(N_("Deze dag ligt voor 'from'."))
    if last is not None and (last - first).days > MAX_RANGE_DAYS:
        return "to", _(N_("Vraag hoogstens {days} dagen tegelijk op."), days=MAX_RANGE_DAYS)
    if birth_date is not None and not (plausible_day(birth_date) and birth_date <= today):
        return "birth_date", _(N_("Geef een datum tussen 2000 en vandaag."))
    return None


class ServicesApi(Controller):
    path = "/services"

    @get("/", responses=SERVICES)
    async def list_services(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
        """The services citizens can book now, in the request's language, with their intake questions."""
        locale = request_locale(request)
        services = await db_session.scalars(
            select(Service)
            .join(Team, Team.id == Service.team_id)
            .join(Municipality, Municipality.id == Team.municipality_id)
            .where(Service.state == ServiceState.PUBLISHED, Municipality.deactivated_at.is_(None))
        )
        answer = sorted(
            (_service_out(s, locale) for s in services), key=lambda s: (s.name.casefold(), str(s.id))
        )
        return Response(answer)

    @get("/{service_id:uuid}", responses=SERVICE)
    async def read_service(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, service_id: UUID
    ) -> Response[Any]:
        """One service citizens can book: its DigiD level, documents and intake questions."""
        service = await booking.get_service(db_session, service_id)
        if service is None:
            return _unknown_service(api_translator(request))
        return Response(_service_out(service, request_locale(request)))

    @get("/{service_id:uuid}/intake-schema", responses=INTAKE_SCHEMA)
    async def intake_schema(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, service_id: UUID
    ) -> Response[Any]:
        """The JSON Schema (draft 2020-12) of `intake` when booking this service: a property per
        question (its title and description in the request's language), which are required, and
        nothing else."""
        service = await booking.get_service(db_session, service_id)
        if service is None:
            return _unknown_service(api_translator(request))
        locale = request_locale(request)
        title = localized(service, "name", locale)
        return Response(
            intake_json_schema(parse_questions(service.intake), locale, title), media_type=SCHEMA_JSON
        )

    @get("/{service_id:uuid}/slots", responses=SLOTS)
    async def list_slots(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        clock: Clock,
        service_id: UUID,
        from_: Annotated[
            dt.date | None,
            Parameter(query="from", description="The first day; default: today.", schema_extra=DAY),
        ] = None,
        to: Annotated[
            dt.date | None,
            Parameter(
                description=f"The last day; default: `from` + 14 days, at most `from` + {MAX_RANGE_DAYS}.",
                schema_extra=DAY,
            ),
        ] = None,
        birth_date: Annotated[
            dt.date | None,
            Parameter(
                description="For a service with the birth-registration deadline: only slots inside it.",
                schema_extra=DAY,
            ),
        ] = None,
    ) -> Response[Any]:
        """The service's free start times from `from` to `to` (days in the Netherlands), in order."""
        _ = api_translator(request)
        service = await booking.get_service(db_session, service_id)
        if service is None:
            return _unknown_service(_)
        today = local_today(clock)
        first = from_ or today
        if wrong := _wrong_days(_, first, to, birth_date, today):
            return invalid(_, wrong)
        last = to or first + dt.timedelta(days=14)
        days = None
        if birth_date is not None:
            days = booking.deadline_days(service, {"birth_date": birth_date.isoformat()})
        starts = await booking.free_slots(db_session, service, first, last, clock(), days=days)
        duration = dt.timedelta(minutes=service.duration_minutes)
        return Response([SlotOut(start=iso_local(s), end=iso_local(s + duration)) for s in starts])
