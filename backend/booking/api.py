"""JSON API under /api/v1: services and their free slots (:mod:`api_services`), appointments
(create, read, move, cancel) here.

Every text follows the request's language (``?lang=``, else ``Accept-Language``; Dutch by
default): names of services, teams and municipalities, intake questions, and every message of a
problem. What each operation answers, with every status it can send, is in :mod:`api_answers`.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, Router, get, post
from litestar.params import Parameter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import idempotency
from backend.booking import service as booking
from backend.booking.api_answers import APPOINTMENT, CREATED, LANGUAGE, MANAGED, WITH_TOKEN, absent_or
from backend.booking.api_services import UNKNOWN_SERVICE, ServicesApi
from backend.booking.explain import explain
from backend.booking.flow import book_and_confirm, cancel_and_notify, move_and_notify
from backend.booking.intake import check_answers, parse_questions
from backend.booking.schemas import AppointmentIn, AppointmentOut, CancelIn, RescheduleIn
from backend.booking.tokens import working_manage_token
from backend.booking.validation import as_utc, clean_text, email_error, name_error
from backend.clock import Clock, local_today
from backend.db.models import Appointment
from backend.errors import api_translator, invalid, problem
from backend.i18n import N_, Translate, translator
from backend.invalid_input import INVALID_DETAIL, INVALID_TITLE
from backend.notify import Notify
from backend.settings import Settings
from backend.timefmt import iso_local
from backend.web import NO_STORE, request_locale

START_FORMAT = N_("Geef een tijd met tijdzone tussen 2000 en 2200, bv. 2026-03-03T10:30:00+01:00.")
NOT_FOUND = N_("Geen afspraak met deze code en dit beheertoken.")


def _appointment_out(appointment: Appointment, manage_token: str | None = None) -> AppointmentOut:
    return AppointmentOut(
        reference=appointment.reference,
        start=iso_local(appointment.start_at),
        end=iso_local(appointment.end_at),
        status=appointment.status,
        service_id=appointment.service_id,
        manage_token=manage_token,
    )


def _refused(exc: booking.BookingError, locale: str) -> Response[Any]:
    _, message = translator(locale), explain(exc, locale)
    if isinstance(exc, booking.SlotTaken):
        return problem(409, _(N_("Tijdstip al bezet")), message, code=exc.code)
    if isinstance(exc, booking.NotChangeable):
        return problem(409, _(N_("Niet meer te wijzigen")), message, code=exc.code)
    field = "citizen.email" if isinstance(exc, booking.TooManyBookings) else "start"
    errors = [{"field": field, "message": message}]
    return problem(422, _(INVALID_TITLE), _(INVALID_DETAIL), errors=errors, code=exc.code)


def bearer_token(request: Request[Any, Any, Any]) -> str:
    """The token of the ``Authorization: Bearer <token>`` header; "" without one (or another scheme).

    The scheme is matched whatever its case (RFC 7235 section 2.1, RFC 6750 section 2.1).
    """
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _managed(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    reference: str,
    settings: Settings,
    clock: Clock,
) -> Appointment | Response[Any]:
    """The appointment of the bearer's manage token, while it works (as on the pages: until the end
    of the appointment plus the grace window); else the problem to answer: 401 without a bearer
    token (RFC 6750 section 3), 404 for a wrong or expired one (so nobody learns which codes exist)."""
    _ = api_translator(request)
    token = bearer_token(request)
    if not token:
        response = problem(
            401,
            _(N_("Beheertoken ontbreekt")),
            _(N_("Stuur het beheertoken van de afspraak mee als Authorization: Bearer <token>.")),
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    appointment = await working_manage_token(db_session, token, settings.join, clock())
    if appointment is None or appointment.reference != reference:
        return problem(404, _(N_("Niet gevonden")), _(NOT_FOUND))
    return appointment


class AppointmentsApi(Controller):
    path = "/appointments"

    @post("/", status_code=201, cache_control=NO_STORE, responses=CREATED)
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
                header="Idempotency-Key",
                description="1-255 visible ASCII characters (a UUID, say): a replay with the same body "
                "gets the first answer and sends no second e-mail; with another body it is a 422.",
                schema_extra=absent_or("string", pattern="^[!-~]{1,255}$"),
            ),
        ] = None,
    ) -> Response[Any]:
        """Book a free slot; the citizen gets a confirmation with the join link. Keep `manage_token`."""
        _ = api_translator(request)
        fingerprint = ""
        if idempotency_key is not None:
            if not idempotency.valid_key(idempotency_key):
                return invalid(
                    _, ("Idempotency-Key", _(N_("Gebruik 1-255 zichtbare ASCII-tekens, bv. een UUID.")))
                )
            fingerprint = idempotency.fingerprint(await request.body())
            earlier = await idempotency.find(db_session, idempotency_key)
            if earlier is not None:
                return self._replay(earlier, fingerprint, settings, _)

        name, email = clean_text(data.citizen.name), data.citizen.email.strip()
        errors = [
            (field, _(message))
            for field, message in (("citizen.name", name_error(name)), ("citizen.email", email_error(email)))
            if message
        ]
        if as_utc(data.start) is None:
            errors.append(("start", _(START_FORMAT)))
        service = await booking.get_service(db_session, data.service_id)
        if service is None:
            errors.append(("service_id", _(UNKNOWN_SERVICE)))
        else:
            checked = check_answers(parse_questions(service.intake), data.intake, local_today(clock))
            errors += [(f"intake.{key}", _(message)) for key, message in checked.errors.items()]
        if errors or service is None:
            return invalid(_, *errors)

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
            return _refused(exc, request_locale(request))
        except IntegrityError:
            # The same Idempotency-Key arrived twice at once and the other request won.
            await db_session.rollback()
            earlier = await idempotency.find(db_session, idempotency_key) if idempotency_key else None
            if earlier is None:
                raise
            return self._replay(earlier, fingerprint, settings, _)
        return Response(_appointment_out(result.appointment, result.manage_token), status_code=201)

    @staticmethod
    def _remember(key: str, fingerprint: str, settings: Settings) -> booking.OnBooked:
        """Keep the answer for replays of ``key``, in the booking's own commit."""

        async def remember(session: AsyncSession, made: booking.Booking) -> None:
            answer = msgspec.to_builtins(_appointment_out(made.appointment, made.manage_token))
            idempotency.remember(session, key, fingerprint, made.appointment.id, answer, settings)

        return remember

    @staticmethod
    def _replay(earlier: Any, fingerprint: str, settings: Settings, _: Translate) -> Response[Any]:
        if earlier.fingerprint != fingerprint:
            used = _(N_("Deze sleutel is al gebruikt voor een andere aanvraag."))
            return invalid(_, ("Idempotency-Key", used))
        return Response(idempotency.replay(earlier, settings), status_code=201)

    @get("/{reference:str}", cache_control=NO_STORE, security=WITH_TOKEN, responses=APPOINTMENT)
    async def read_appointment(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        clock: Clock,
        reference: str,
    ) -> Response[Any]:
        """The appointment of this code, with its manage token as the bearer token."""
        found = await _managed(request, db_session, reference, settings, clock)
        return found if isinstance(found, Response) else Response(_appointment_out(found))

    @post(
        "/{reference:str}/reschedule",
        status_code=200,
        cache_control=NO_STORE,
        security=WITH_TOKEN,
        responses=MANAGED,
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
    ) -> Response[Any]:
        """Move the appointment to another free slot; everyone gets an e-mail with a new join link
        (the old links stop working)."""
        found = await _managed(request, db_session, reference, settings, clock)
        if isinstance(found, Response):
            return found
        if as_utc(data.start) is None:
            _ = api_translator(request)
            return invalid(_, ("start", _(START_FORMAT)))
        try:
            await move_and_notify(
                db_session,
                settings,
                notify,
                found,
                data.start,
                manage_token=bearer_token(request),
                clock=clock,
            )
        except booking.BookingError as exc:
            return _refused(exc, request_locale(request))
        return Response(_appointment_out(found))

    @post(
        "/{reference:str}/cancel",
        status_code=200,
        cache_control=NO_STORE,
        security=WITH_TOKEN,
        responses=MANAGED,
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
    ) -> Response[Any]:
        """Cancel: the slot is free at once and everyone gets a cancellation."""
        found = await _managed(request, db_session, reference, settings, clock)
        if isinstance(found, Response):
            return found
        try:
            await cancel_and_notify(
                db_session, settings, notify, found, reason=clean_text(data.reason), clock=clock
            )
        except booking.BookingError as exc:
            return _refused(exc, request_locale(request))
        return Response(_appointment_out(found))


BookingApi = Router(
    path="/api/v1", route_handlers=[ServicesApi, AppointmentsApi], tags=["booking"], parameters=LANGUAGE
)
"""The whole API; every operation takes the language parameters (backend/booking/api_answers.py)."""
