"""HTTP for payments: the citizen's (by their join link), the official's (in the call), the page the
provider sends the citizen back to, and the provider's webhook.

The call pages speak JSON (``Accept: application/json``) and hear every change live through the
``payment`` event (docs/signalling.md); every refusal is a problem body in the visitor's language.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.db.models import Appointment, Official, Participant, Payment
from backend.desk.auth import current_official, request_scope
from backend.desk.pages import appointment_for_official
from backend.documents.routes import participant_of_link
from backend.errors import problem
from backend.i18n import translator
from backend.localized import localized
from backend.payments import states
from backend.payments.money import euro, euro_input
from backend.payments.provider import ProviderUnavailable
from backend.payments.refusals import PaymentRefused
from backend.payments.service import Asker, Payments, fees_for_call, payment_info
from backend.web import NO_STORE, default_locale_for, page, request_locale, see_other, wants_json

log = logging.getLogger(__name__)
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


def refused(request: Request[Any, Any, Any], refusal: PaymentRefused) -> Response[Any]:
    _ = translator(request_locale(request))
    detail = _(refusal.message, **refusal.values) if refusal.values else _(refusal.message)
    headers = {"Retry-After": "60"} if refusal.status == 503 else None
    answer = problem(refusal.status, _(refusal.title), detail, code=refusal.code)
    if headers:
        answer.headers.update(headers)
    return answer


def _listing(payments: list[Payment], locale: str) -> list[dict[str, Any]]:
    return [payment_info(p, locale) for p in payments]


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


# -- the citizen's side ------------------------------------------------------------------------------


class CitizenPayments(Controller):
    path = "/j/{token:str}/betalingen"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"participant": Provide(participant_of_link)}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        participant: Participant,
    ) -> Response[Any]:
        found = await payments.list_for(db_session, participant.appointment_id)
        return Response({"payments": _listing(found, request_locale(request))})

    @get("/{payment_id:uuid}/betalen")
    async def pay(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        participant: Participant,
        payment_id: UUID,
    ) -> Redirect:
        """To the provider's checkout while the payment is open (a link that opens a new tab, so the
        call keeps running); otherwise to the page that says where it stands."""
        payment = await payments.find(db_session, participant.appointment_id, payment_id)
        if payment is None:
            raise NotFoundException()
        if payment.status == "open" and payment.checkout_url:
            return Redirect(path=payment.checkout_url, status_code=303)
        return see_other(f"/betaling/{payment.id}")

    @post("/{payment_id:uuid}/opnieuw", status_code=201)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        participant: Participant,
        payment_id: UUID,
    ) -> Response[Any]:
        payment = await payments.find(db_session, participant.appointment_id, payment_id)
        if payment is None:
            return refused(request, PaymentRefused("gone", status=404))
        try:
            again = await payments.retry(
                db_session,
                payment,
                Asker(audit.participant_actor(participant.id)),
                origin=audit.origin_of(request),
            )
        except PaymentRefused as refusal:
            return refused(request, refusal)
        return Response({"payment": payment_info(again, request_locale(request))}, status_code=201)


# -- the official's side -----------------------------------------------------------------------------


class DeskPayments(Controller):
    path = "/balie/afspraken/{appointment_id:uuid}/betalingen"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
    ) -> Response[Any]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        locale = request_locale(request)
        fees = fees_for_call(await payments.fees_of(db_session, appointment.service_id))
        found = await payments.list_for(db_session, appointment.id)
        body = {
            "fees": [
                {
                    "id": str(fee.id),
                    "description": localized(fee, "description", locale),
                    "article": fee.ordinance_article,
                    "amount_cents": fee.amount_cents,
                    "amount": euro(fee.amount_cents, locale),
                    "open": fee.is_open,
                    "suggestion": euro_input(fee.amount_cents),
                    "min": euro(fee.min_cents or 1, locale) if fee.is_open else None,
                    "max": euro(fee.max_cents, locale) if fee.max_cents is not None else None,
                }
                for fee in fees
            ],
            "payments": _listing(found, locale),
            "can_refund": appointment.team_id in request_scope(request).admin_team_ids,
        }
        return Response(body)

    @post("/", status_code=201)
    async def ask(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        data: dict[str, str] = FORM,
    ) -> Response[Any] | Redirect:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        try:
            payment = await payments.request(
                db_session,
                appointment.id,
                official.id,
                _uuid(data.get("fee", "")),
                str(data.get("amount", "")),
                origin=audit.origin_of(request),
            )
        except PaymentRefused as refusal:
            return refused(request, refusal)
        if not wants_json(request):
            return see_other(f"/balie/afspraken/{appointment.id}/gesprek")
        return Response({"payment": payment_info(payment, request_locale(request))}, status_code=201)

    async def _payment(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        payment_id: UUID,
    ) -> tuple[Appointment, Payment]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        payment = await payments.find(db_session, appointment.id, payment_id)
        if payment is None:
            await audit.access_denied(db_session, official, "payment", payment_id, request)
            raise NotFoundException()
        return appointment, payment

    @post("/{payment_id:uuid}/stoppen", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        payment_id: UUID,
    ) -> Response[Any]:
        _, payment = await self._payment(request, payments, db_session, official, appointment_id, payment_id)
        try:
            payment = await payments.cancel(db_session, payment, official.id, origin=audit.origin_of(request))
        except PaymentRefused as refusal:
            return refused(request, refusal)
        return Response({"payment": payment_info(payment, request_locale(request))})

    @post("/{payment_id:uuid}/terugbetalen", status_code=200)
    async def refund(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        payment_id: UUID,
    ) -> Response[Any]:
        appointment, payment = await self._payment(
            request, payments, db_session, official, appointment_id, payment_id
        )
        if appointment.team_id not in request_scope(request).admin_team_ids:
            await audit.access_denied(db_session, official, "payment_refund", payment_id, request)
            return refused(request, PaymentRefused("not_admin", status=403))
        try:
            payment = await payments.refund(db_session, payment, official.id, origin=audit.origin_of(request))
        except PaymentRefused as refusal:
            return refused(request, refusal)
        return Response({"payment": payment_info(payment, request_locale(request))})


# -- the provider's side -----------------------------------------------------------------------------


class PaymentReturn(Controller):
    """``/betaling/{id}``: where the provider sends the citizen's tab after paying; and the webhook."""

    path = "/betaling"
    include_in_schema = False
    cache_control = NO_STORE

    @get("/{payment_id:uuid}")
    async def returned(
        self, request: Request[Any, Any, Any], payments: Payments, db_session: AsyncSession, payment_id: UUID
    ) -> Template:
        """Says where the payment stands (asking the provider, the webhook may come later). Shows
        nothing personal: the id in the address is all someone holding it has."""
        payment = await db_session.get(Payment, payment_id)
        if payment is None or payment.status == "new":
            raise NotFoundException()
        appointment = await db_session.get(Appointment, payment.appointment_id)
        default_locale_for(request, appointment.locale if appointment else None)
        if payment.status in states.UNSETTLED:
            try:
                payment = await payments.refresh(
                    db_session, payment, source="return", origin=audit.origin_of(request)
                )
            except (ProviderUnavailable, PaymentRefused):
                await db_session.rollback()
        return page(
            request,
            "pages/payment_return.html",
            payment=payment,
            amount=euro(payment.amount_cents, request_locale(request)),
            unsettled=payment.status in states.UNSETTLED,
            municipality=appointment.team.municipality if appointment else None,
        )

    @post("/webhook", status_code=200, opt={"throttle": False})
    async def webhook(
        self,
        request: Request[Any, Any, Any],
        payments: Payments,
        db_session: AsyncSession,
        data: dict[str, str] = FORM,
    ) -> Response[Any]:
        """The provider's webhook: its body is the payment's id, nothing else. It is never believed:
        the status is fetched from the provider. Unknown ids get 200 and change nothing (a forger
        learns nothing); the provider unreachable gets 503, so it calls again."""
        provider_id = str(data.get("id", "")).strip()
        if not provider_id or len(provider_id) > 64:
            return problem(400, "Bad Request", "the body must be id=<payment id>")
        try:
            await payments.webhook(db_session, provider_id, origin=audit.origin_of(request))
        except ProviderUnavailable as exc:
            await db_session.rollback()
            log.warning("payment webhook for %s: the provider cannot be asked now (%s)", provider_id, exc)
            return problem(503, "Service Unavailable", "try again later")
        except PaymentRefused:  # the municipality's key was removed meanwhile
            await db_session.rollback()
        return Response(content=b"", media_type="text/plain")
