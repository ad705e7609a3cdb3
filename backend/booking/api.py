"""JSON API under /api/v1: services, free slots, appointments (create, read, move, cancel)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import idempotency
from backend.booking import service as booking
from backend.booking.explain import explain
from backend.booking.flow import book_and_confirm, cancel_and_notify, move_and_notify
from backend.booking.intake import check_answers, parse_questions
from backend.booking.schemas import (
    AppointmentIn,
    AppointmentOut,
    CancelIn,
    Problem,
    RescheduleIn,
    ServiceOut,
    SlotOut,
)
from backend.booking.tokens import working_manage_token
from backend.booking.validation import as_utc, clean_text, email_error, name_error, plausible_day
from backend.clock import Clock, local_today
from backend.db.models import Appointment, Municipality, Service, ServiceState, Team
from backend.errors import PROBLEM_JSON, problem
from backend.i18n import translator
from backend.notify import Notify
from backend.settings import Settings
from backend.timefmt import iso_local
from backend.web import NO_STORE

MAX_RANGE_DAYS = 62
START_FORMAT = "Geef een tijd met tijdzone tussen 2000 en 2200, bv. 2026-03-03T10:30:00+01:00."
INVALID = "Invalid input; `errors` names each field."
DUTCH = translator("nl")


def problems(described: dict[int, str]) -> dict[int, ResponseSpec]:
    """The problem answers of one operation, for the OpenAPI document."""
    return {
        status: ResponseSpec(data_container=Problem, description=text, media_type=PROBLEM_JSON)
        for status, text in described.items()
    }


def _appointment_out(appointment: Appointment, manage_token: str | None = None) -> AppointmentOut:
    return AppointmentOut(
        reference=appointment.reference,
        start=iso_local(appointment.start_at),
        end=iso_local(appointment.end_at),
        status=appointment.status,
        service_id=appointment.service_id,
        manage_token=manage_token,
    )


def _invalid(*errors: tuple[str, str]) -> Response[Any]:
    return problem(
        422,
        "Ongeldige invoer",
        "Controleer de gemarkeerde velden.",
        errors=[{"field": field, "message": message} for field, message in errors],
    )


def _refused(exc: booking.BookingError) -> Response[Any]:
    message = explain(exc, "nl")
    if isinstance(exc, booking.SlotTaken):
        return problem(409, "Tijdstip al bezet", message)
    if isinstance(exc, booking.NotChangeable):
        return problem(409, "Niet meer te wijzigen", message)
    field = "citizen.email" if isinstance(exc, booking.TooManyBookings) else "start"
    return _invalid((field, message))


def bearer_token(request: Request[Any, Any, Any]) -> str:
    """The token of the ``Authorization: Bearer <token>`` header; "" without one (or another scheme).

    The scheme is matched whatever its case (RFC 7235 section 2.1, RFC 6750 section 2.1).
    """
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _by_manage_token(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    reference: str,
    settings: Settings,
    clock: Clock,
) -> Appointment | None:
    """The appointment of the bearer's manage token, while it works (as on the pages: until the end
    of the appointment plus the grace window; it never expired on the API before)."""
    token = bearer_token(request)
    appointment = await working_manage_token(db_session, token, settings.join, clock()) if token else None
    return appointment if appointment is not None and appointment.reference == reference else None


NOT_FOUND = "Geen afspraak met deze code en dit beheertoken."


class BookingApi(Controller):
    path = "/api/v1"
    tags = ("booking",)

    @get("/services")
    async def list_services(self, db_session: AsyncSession) -> list[ServiceOut]:
        services = await db_session.scalars(
            select(Service)
            .join(Team, Team.id == Service.team_id)
            .join(Municipality, Municipality.id == Team.municipality_id)
            .where(Service.state == ServiceState.PUBLISHED, Municipality.deactivated_at.is_(None))
            .order_by(Service.name)
        )
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
        clock: Clock,
        service_id: UUID,
        from_: Annotated[dt.date | None, Parameter(query="from")] = None,
        to: dt.date | None = None,
        birth_date: Annotated[
            dt.date | None,
            Parameter(
                description="For a service with the birth-registration deadline: only slots inside it."
            ),
        ] = None,
    ) -> list[SlotOut]:
        service = await booking.get_service(db_session, service_id)
        if service is None:
            raise NotFoundException("Onbekende dienst.")
        now = clock()
        today = local_today(clock)
        first = from_ or today
        if not (plausible_day(first) and (to is None or plausible_day(to))):
            raise ValidationException("'from' en 'to' moeten datums tussen 2000 en 2200 zijn.")
        last = to or first + dt.timedelta(days=14)
        if last < first:
            raise ValidationException("'to' ligt voor 'from'.")
        if (last - first).days > MAX_RANGE_DAYS:
            raise ValidationException(f"Vraag hoogstens {MAX_RANGE_DAYS} dagen tegelijk op.")
        days = None
        if birth_date is not None and not (plausible_day(birth_date) and birth_date <= today):
            raise ValidationException("'birth_date' moet een datum tussen 2000 en vandaag zijn.")
        if birth_date is not None:
            days = booking.deadline_days(service, {"birth_date": birth_date.isoformat()})
        starts = await booking.free_slots(db_session, service, first, last, now, days=days)
        duration = dt.timedelta(minutes=service.duration_minutes)
        return [SlotOut(start=iso_local(s), end=iso_local(s + duration)) for s in starts]

    @post(
        "/appointments",
        status_code=201,
        cache_control=NO_STORE,  # it holds a manage token or an appointment
        responses={
            201: ResponseSpec(data_container=AppointmentOut, description="Booked; keep `manage_token`."),
            **problems(
                {
                    409: "The slot was just taken: choose another.",
                    422: INVALID + " Also for an Idempotency-Key sent before with another body.",
                }
            ),
        },
    )
    async def create_appointment(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        notify: Notify,
        clock: Clock,
        data: AppointmentIn,
        idempotency_key: Annotated[
            str | None,
            Parameter(
                header="Idempotency-Key", description="Replays return the first answer and send one email."
            ),
        ] = None,
    ) -> Response[Any]:
        fingerprint = ""
        if idempotency_key is not None:
            if not idempotency.valid_key(idempotency_key):
                return _invalid(("Idempotency-Key", "Gebruik 1-255 zichtbare ASCII-tekens, bv. een UUID."))
            fingerprint = idempotency.fingerprint(await request.body())
            earlier = await idempotency.find(db_session, idempotency_key)
            if earlier is not None:
                return self._replay(earlier, fingerprint, settings)

        name, email = clean_text(data.citizen.name), data.citizen.email.strip()
        errors = [
            (f, m)
            for f, m in (("citizen.name", name_error(name)), ("citizen.email", email_error(email)))
            if m
        ]
        if as_utc(data.start) is None:
            errors.append(("start", START_FORMAT))
        service = await booking.get_service(db_session, data.service_id)
        if service is None:
            errors.append(("service_id", "Onbekende dienst."))
        else:
            checked = check_answers(parse_questions(service.intake), data.intake, local_today(clock))
            errors += [(f"intake.{key}", DUTCH(message)) for key, message in checked.errors.items()]
        if errors or service is None:
            return _invalid(*((f, DUTCH(m)) for f, m in errors))

        remember = None if idempotency_key is None else self._remember(idempotency_key, fingerprint, settings)
        try:
            result = await book_and_confirm(
                db_session,
                settings,
                notify,
                service,
                data.start,
                booking.Citizen(name=name, email=email),
                intake=checked.answers,
                locale=data.locale,
                origin=request.client.host if request.client else "",
                on_booked=remember,
                clock=clock,
            )
        except booking.BookingError as exc:
            return _refused(exc)
        except IntegrityError:
            # The same Idempotency-Key arrived twice at once and the other request won.
            await db_session.rollback()
            earlier = await idempotency.find(db_session, idempotency_key) if idempotency_key else None
            if earlier is None:
                raise
            return self._replay(earlier, fingerprint, settings)
        return Response(
            msgspec.to_builtins(_appointment_out(result.appointment, result.manage_token)), status_code=201
        )

    @staticmethod
    def _remember(key: str, fingerprint: str, settings: Settings) -> booking.OnBooked:
        """Keep the answer for replays of ``key``, in the booking's own commit."""

        async def remember(session: AsyncSession, made: booking.Booking) -> None:
            answer = msgspec.to_builtins(_appointment_out(made.appointment, made.manage_token))
            idempotency.remember(session, key, fingerprint, made.appointment.id, answer, settings)

        return remember

    @staticmethod
    def _replay(earlier: Any, fingerprint: str, settings: Settings) -> Response[Any]:
        if earlier.fingerprint != fingerprint:
            return _invalid(("Idempotency-Key", "Deze sleutel is al gebruikt voor een andere aanvraag."))
        return Response(idempotency.replay(earlier, settings), status_code=201)

    @get(
        "/appointments/{reference:str}",
        cache_control=NO_STORE,  # it holds a manage token or an appointment
        responses=problems({404: "No appointment with this reference and manage token."}),
    )
    async def read_appointment(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        clock: Clock,
        reference: str,
    ) -> Response[Any] | AppointmentOut:
        appointment = await _by_manage_token(request, db_session, reference, settings, clock)
        if appointment is None:
            return problem(404, "Niet gevonden", NOT_FOUND)
        return _appointment_out(appointment)

    @post(
        "/appointments/{reference:str}/reschedule",
        status_code=200,
        cache_control=NO_STORE,  # it holds a manage token or an appointment
        responses=problems({404: NOT_FOUND, 409: "Taken, started or no longer booked.", 422: INVALID}),
    )
    async def reschedule_appointment(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        notify: Notify,
        clock: Clock,
        db_session: AsyncSession,
        reference: str,
        data: RescheduleIn,
    ) -> Response[Any] | AppointmentOut:
        """Move the appointment; everyone gets an email with a new join link (old links stop working)."""
        appointment = await _by_manage_token(request, db_session, reference, settings, clock)
        if appointment is None:
            return problem(404, "Niet gevonden", NOT_FOUND)
        if as_utc(data.start) is None:
            return _invalid(("start", START_FORMAT))
        try:
            await move_and_notify(
                db_session,
                settings,
                notify,
                appointment,
                data.start,
                manage_token=bearer_token(request),
                clock=clock,
            )
        except booking.BookingError as exc:
            return _refused(exc)
        return _appointment_out(appointment)

    @post(
        "/appointments/{reference:str}/cancel",
        status_code=200,
        cache_control=NO_STORE,  # it holds a manage token or an appointment
        responses=problems({404: NOT_FOUND, 409: "Started or no longer booked."}),
    )
    async def cancel_appointment(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        notify: Notify,
        clock: Clock,
        db_session: AsyncSession,
        reference: str,
        data: CancelIn,
    ) -> Response[Any] | AppointmentOut:
        """Cancel; the slot is free at once and everyone gets a cancellation."""
        appointment = await _by_manage_token(request, db_session, reference, settings, clock)
        if appointment is None:
            return problem(404, "Niet gevonden", NOT_FOUND)
        try:
            await cancel_and_notify(
                db_session, settings, notify, appointment, reason=clean_text(data.reason), clock=clock
            )
        except booking.BookingError as exc:
            return _refused(exc)
        return _appointment_out(appointment)
