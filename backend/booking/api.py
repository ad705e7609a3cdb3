"""JSON API under /api/v1: services, free slots, appointments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import service as booking
from backend.booking.flow import book_and_confirm
from backend.booking.schemas import AppointmentIn, AppointmentOut, Problem, ServiceOut, SlotOut
from backend.booking.tokens import appointment_for_manage_token
from backend.booking.validation import as_utc, clean_text, email_error, name_error, plausible_day
from backend.db.models import Service
from backend.errors import PROBLEM_JSON, problem
from backend.timefmt import AMSTERDAM, iso_local

MAX_RANGE_DAYS = 62
INVALID = "Invalid input; `errors` names each field."


def problems(described: dict[int, str]) -> dict[int, ResponseSpec]:
    """The problem answers of one operation, for the OpenAPI document."""
    return {
        status: ResponseSpec(data_container=Problem, description=text, media_type=PROBLEM_JSON)
        for status, text in described.items()
    }


START_FORMAT = "Geef een tijd met tijdzone tussen 2000 en 2200, bv. 2026-03-03T10:30:00+01:00."


def _appointment_out(appointment: Any, manage_token: str | None = None) -> AppointmentOut:
    return AppointmentOut(
        reference=appointment.reference,
        start=iso_local(appointment.start_at),
        end=iso_local(appointment.end_at),
        status=appointment.status,
        service_id=appointment.service_id,
        manage_token=manage_token,
    )


class BookingApi(Controller):
    path = "/api/v1"
    tags = ("booking",)

    @get("/services")
    async def list_services(self, db_session: AsyncSession) -> list[ServiceOut]:
        services = await db_session.scalars(select(Service).order_by(Service.name))
        return [
            ServiceOut(
                id=s.id,
                slug=s.slug,
                name=s.name,
                team=s.team.name,
                municipality=s.team.municipality.name,
                duration=s.duration_minutes,
            )
            for s in services
        ]

    @get("/services/{service_id:uuid}/slots", responses=problems({404: "Unknown service.", 422: INVALID}))
    async def list_slots(
        self,
        db_session: AsyncSession,
        service_id: UUID,
        from_: Annotated[dt.date | None, Parameter(query="from")] = None,
        to: dt.date | None = None,
    ) -> list[SlotOut]:
        service = await booking.get_service(db_session, service_id)
        if service is None:
            raise NotFoundException("Onbekende dienst.")
        today = dt.datetime.now(AMSTERDAM).date()
        first = from_ or today
        if not (plausible_day(first) and (to is None or plausible_day(to))):
            raise ValidationException("'from' en 'to' moeten datums tussen 2000 en 2200 zijn.")
        last = to or first + dt.timedelta(days=14)
        if last < first:
            raise ValidationException("'to' ligt voor 'from'.")
        if (last - first).days > MAX_RANGE_DAYS:
            raise ValidationException(f"Vraag hoogstens {MAX_RANGE_DAYS} dagen tegelijk op.")
        starts = await booking.free_slots(db_session, service, first, last, dt.datetime.now(dt.UTC))
        duration = dt.timedelta(minutes=service.duration_minutes)
        return [SlotOut(start=iso_local(s), end=iso_local(s + duration)) for s in starts]

    @post(
        "/appointments",
        status_code=201,
        responses=problems({409: "The slot was just taken: choose another.", 422: INVALID}),
    )
    async def create_appointment(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: AppointmentIn
    ) -> Response[Any] | AppointmentOut:
        name, email = clean_text(data.citizen.name), data.citizen.email.strip()
        errors = [
            {"field": f, "message": m}
            for f, m in (("citizen.name", name_error(name)), ("citizen.email", email_error(email)))
            if m
        ]
        if as_utc(data.start) is None:
            errors.append({"field": "start", "message": START_FORMAT})
        if errors:
            return problem(422, "Ongeldige invoer", "Controleer de gemarkeerde velden.", errors=errors)
        service = await booking.get_service(db_session, data.service_id)
        if service is None:
            return problem(
                422,
                "Ongeldige invoer",
                "Onbekende dienst.",
                errors=[{"field": "service_id", "message": "Onbekende dienst."}],
            )
        try:
            result = await book_and_confirm(
                db_session,
                request.app.state,
                service,
                data.start,
                booking.Citizen(name=name, email=email),
                intake=data.intake,
                locale=data.locale,
            )
        except booking.SlotTaken as exc:
            return problem(409, "Tijdstip al bezet", exc.message)
        except booking.SlotNotOffered as exc:
            return problem(
                422, "Ongeldige invoer", exc.message, errors=[{"field": "start", "message": exc.message}]
            )
        return _appointment_out(result.appointment, result.manage_token)

    @get(
        "/appointments/{reference:str}",
        responses=problems({404: "No appointment with this reference and manage token."}),
    )
    async def read_appointment(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, reference: str
    ) -> Response[Any] | AppointmentOut:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        appointment = await appointment_for_manage_token(db_session, token) if token else None
        if appointment is None or appointment.reference != reference:
            return problem(404, "Niet gevonden", "Geen afspraak met deze code en dit beheertoken.")
        return _appointment_out(appointment)
