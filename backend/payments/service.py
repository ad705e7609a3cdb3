"""Asking, following, retrying, stopping and refunding the payments of one appointment.

The provider is the truth about a payment: a webhook only says *look again* (its body is the
provider's id, nothing else), so every status comes from asking the provider (:meth:`refresh`),
and the state machine (``states``) keeps a late or repeated answer from moving a payment back. The
same webhook ten times changes nothing after the first.

Nothing slow happens inside a transaction (on SQLite every transaction holds the write lock): a
payment is written as ``new`` and committed, the provider is asked, and only then is its answer
recorded. If the provider cannot be reached the ``new`` row is removed again, so nothing
half-recorded stays behind, and asking again is safe: the row's id is the idempotency key, so a
provider that did make the payment hands back the same one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, rooms
from backend.clock import Clock, system_clock
from backend.db.locks import lock_appointment
from backend.db.models import (
    Appointment,
    AppointmentStatus,
    Fee,
    FeeDue,
    Municipality,
    ParticipantRole,
    Payment,
    PaymentStatus,
)
from backend.live import LivePages, NoLivePages
from backend.localized import localized
from backend.notify import Wakeable
from backend.payments import states
from backend.payments.keys import ProviderFor
from backend.payments.money import AmountError, euro, parse_euro
from backend.payments.provider import (
    NewPayment,
    PaymentProvider,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
    UnknownAtProvider,
)
from backend.payments.receipts import queue_receipt
from backend.payments.refusals import PaymentRefused
from backend.settings import Settings
from backend.timefmt import iso_local

log = logging.getLogger(__name__)

PROVIDER_LOCALES = {"nl": "nl_NL", "en": "en_GB"}
NEW_ROW_MINUTES = 5
"""A ``new`` row older than this never reached the provider (a process died in between): removed."""


@dataclass(frozen=True)
class Asker:
    """Who asks: the official in the call, or the citizen trying again after a failure."""

    actor: str
    official_id: UUID | None = None


def asked_in_call(fee: Fee) -> bool:
    return fee.active and fee.due == FeeDue.CALL


def fees_for_call(fees: Sequence[Fee]) -> list[Fee]:
    return [fee for fee in fees if asked_in_call(fee)]


def payment_info(payment: Payment, locale: str = "nl") -> dict[str, Any]:
    """How pages see a payment (the ``payment`` of the signalling event and of the lists)."""
    return {
        "id": str(payment.id),
        "description": payment.description,
        "amount_cents": payment.amount_cents,
        "amount": euro(payment.amount_cents, locale),
        "status": payment.status,
        "final": payment.status in states.FINAL,
        "can_retry": payment.status in states.RETRYABLE,
        "paid_at": iso_local(payment.paid_at) if payment.paid_at else None,
        "refunded_cents": payment.refunded_cents,
        "refund_status": payment.refund_status,
        "requested_at": iso_local(payment.created_at),
        "retry_of": str(payment.retry_of_id) if payment.retry_of_id else None,
    }


def amount_for(fee: Fee, typed: str) -> int:
    """The amount asked for ``fee``: its own for a fixed fee, what the official typed (within the
    bounds the admin set) for an open one."""
    if not fee.is_open:
        return fee.amount_cents
    try:
        cents = parse_euro(typed) if typed.strip() else fee.amount_cents
    except AmountError as exc:
        raise PaymentRefused(f"amount_{exc.reason}") from None
    low, high = fee.min_cents or 1, fee.max_cents or fee.amount_cents
    if not low <= cents <= high:
        raise PaymentRefused("amount_out_of_bounds", min=euro(low), max=euro(high))
    return cents


def citizen_in_call(appointment: Appointment) -> bool:
    return any(
        p.role == ParticipantRole.CITIZEN
        and p.revoked_at is None
        and p.state in (rooms.ADMITTED, rooms.IN_CALL)
        for p in appointment.participants
    )


class Payments:
    """The payments service of one app (or worker) process."""

    def __init__(
        self,
        settings: Settings,
        providers: ProviderFor,
        live: LivePages | None = None,
        outbox: Wakeable | None = None,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.providers = providers
        self.live: LivePages = live or NoLivePages()
        self.outbox = outbox
        self.clock = clock

    # -- reading -----------------------------------------------------------------------------------

    async def list_for(self, session: AsyncSession, appointment_id: UUID) -> list[Payment]:
        rows = await session.scalars(
            select(Payment)
            .where(Payment.appointment_id == appointment_id, Payment.status != PaymentStatus.NEW)
            .order_by(Payment.created_at, Payment.id)
        )
        return list(rows)

    async def find(self, session: AsyncSession, appointment_id: UUID, payment_id: UUID) -> Payment | None:
        payment = await session.get(Payment, payment_id, populate_existing=True)
        if payment is None or payment.appointment_id != appointment_id or payment.status == PaymentStatus.NEW:
            return None
        return payment

    async def fees_of(self, session: AsyncSession, service_id: UUID) -> list[Fee]:
        rows = await session.scalars(
            select(Fee).where(Fee.service_id == service_id).order_by(Fee.created_at, Fee.id)
        )
        return list(rows)

    # -- asking ------------------------------------------------------------------------------------

    async def request(
        self,
        session: AsyncSession,
        appointment_id: UUID,
        official_id: UUID,
        fee_id: UUID | None,
        typed_amount: str,
        *,
        origin: str,
    ) -> Payment:
        """The official asks the citizen in the call to pay ``fee_id``."""
        appointment = await lock_appointment(session, appointment_id)
        if appointment is None or not appointment.is_active:
            raise PaymentRefused("appointment_over", status=409)
        fee = await session.get(Fee, fee_id) if fee_id is not None else None
        if fee is None or fee.service_id != appointment.service_id or not asked_in_call(fee):
            raise PaymentRefused("fee_unknown")
        cents = amount_for(fee, typed_amount)
        if appointment.status != AppointmentStatus.IN_CALL or not citizen_in_call(appointment):
            raise PaymentRefused("citizen_left", status=409)
        description = self._description(appointment, fee)
        payment = await self._new_row(
            session,
            appointment,
            fee_id=fee.id,
            description=description,
            article=fee.ordinance_article,
            cents=cents,
            due=FeeDue.CALL,
            official_id=official_id,
        )
        return await self._ask_provider(
            session, payment, Asker(audit.official_actor(official_id), official_id), origin
        )

    async def retry(self, session: AsyncSession, failed: Payment, asker: Asker, *, origin: str) -> Payment:
        """A new try for a payment that failed, was stopped or expired: same fee, same amount."""
        appointment = await lock_appointment(session, failed.appointment_id)
        failed = await self._reread(session, failed.id)
        if appointment is None or not appointment.is_active:
            raise PaymentRefused("appointment_over", status=409)
        if failed.status not in states.RETRYABLE or await self._retried(session, failed):
            raise PaymentRefused("not_retryable", status=409)
        payment = await self._new_row(
            session,
            appointment,
            fee_id=failed.fee_id,
            description=failed.description,
            article=failed.ordinance_article,
            cents=failed.amount_cents,
            due=failed.due,
            official_id=failed.requested_by_official_id,
            retry_of=failed.id,
        )
        return await self._ask_provider(session, payment, asker, origin)

    def _description(self, appointment: Appointment, fee: Fee) -> str:
        what = localized(fee, "description", appointment.locale)
        return f"{what} ({appointment.reference})"[:255]

    async def _retried(self, session: AsyncSession, payment: Payment) -> bool:
        found = await session.scalar(select(Payment.id).where(Payment.retry_of_id == payment.id).limit(1))
        return found is not None

    async def _new_row(
        self,
        session: AsyncSession,
        appointment: Appointment,
        *,
        fee_id: UUID | None,
        description: str,
        article: str,
        cents: int,
        due: str,
        official_id: UUID | None,
        retry_of: UUID | None = None,
    ) -> Payment:
        """Checked under the appointment's lock: one unsettled payment at a time."""
        unsettled = await session.scalar(
            select(Payment.id)
            .where(Payment.appointment_id == appointment.id, Payment.status.in_(states.UNSETTLED))
            .limit(1)
        )
        if unsettled is not None:
            raise PaymentRefused("already_open", status=409)
        municipality = await session.get(Municipality, appointment.municipality_id)
        if municipality is None or self.providers(municipality) is None:
            raise PaymentRefused("payments_off", status=409)
        payment = Payment(
            appointment_id=appointment.id,
            municipality_id=appointment.municipality_id,
            fee_id=fee_id,
            retry_of_id=retry_of,
            description=description,
            ordinance_article=article,
            amount_cents=cents,
            due=due,
            status=PaymentStatus.NEW,
            status_changed_at=self.clock(),
            requested_by_official_id=official_id,
        )
        session.add(payment)
        await session.commit()
        return payment

    async def _ask_provider(
        self, session: AsyncSession, payment: Payment, asker: Asker, origin: str
    ) -> Payment:
        appointment = await session.get(Appointment, payment.appointment_id)
        provider = await self._provider(session, payment)
        base = self.settings.public_url.rstrip("/")
        locale = appointment.locale if appointment else "nl"
        try:
            created = await provider.create(
                NewPayment(
                    amount_cents=payment.amount_cents,
                    description=payment.description,
                    redirect_url=f"{base}/betaling/{payment.id}",
                    webhook_url=f"{base}/betaling/webhook",
                    idempotency_key=str(payment.id),
                    locale=PROVIDER_LOCALES.get(locale, "nl_NL"),
                    metadata={
                        "payment": str(payment.id),
                        "appointment": appointment.reference if appointment else "",
                    },
                )
            )
        except (ProviderUnavailable, ProviderRefused) as exc:
            await session.delete(payment)
            await session.commit()
            if isinstance(exc, ProviderRefused):
                log.warning("the payment provider refused payment %s: %s", payment.id, exc.detail)
                raise PaymentRefused("provider_refused", status=502, detail=exc.detail[:120]) from None
            log.warning("the payment provider is unreachable: %s", exc)
            raise PaymentRefused("provider_down", status=503) from None
        payment.provider = provider.name
        payment.provider_payment_id = created.id
        payment.checkout_url = created.checkout_url
        payment.status = created.status if created.status in states.KNOWN else PaymentStatus.OPEN
        payment.status_changed_at = self.clock()
        audit.payment_requested(session, asker.actor, payment, origin)
        await session.commit()
        await self._tell(payment)
        return payment

    async def _provider(self, session: AsyncSession, payment: Payment) -> PaymentProvider:
        """The payment's provider; ends the transaction, since the provider is asked next and no
        transaction may wait on it (on SQLite it would hold the write lock)."""
        municipality = await session.get(Municipality, payment.municipality_id)
        await session.commit()
        provider = self.providers(municipality) if municipality is not None else None
        if provider is None:
            raise PaymentRefused("payments_off", status=409)
        return provider

    # -- following ---------------------------------------------------------------------------------

    async def webhook(
        self, session: AsyncSession, provider_payment_id: str, *, origin: str
    ) -> Payment | None:
        """The provider says payment ``provider_payment_id`` changed: ask it. An id we do not know
        changes nothing (None): a forged or misdirected webhook learns nothing either."""
        payment = await session.scalar(
            select(Payment).where(Payment.provider_payment_id == provider_payment_id)
        )
        if payment is None:
            return None
        return await self.refresh(session, payment, source="webhook", origin=origin)

    async def refresh(
        self, session: AsyncSession, payment: Payment, *, source: str, origin: str = ""
    ) -> Payment:
        """Ask the provider where ``payment`` stands and record what moved (raises
        :class:`ProviderUnavailable` when it cannot be asked)."""
        if payment.provider_payment_id is None:
            return payment
        provider = await self._provider(session, payment)
        try:
            found = await provider.get(payment.provider_payment_id)
        except UnknownAtProvider:
            log.warning("payment %s is unknown at its provider", payment.id)
            return payment
        except ProviderRefused as exc:
            raise ProviderUnavailable(exc.detail) from exc
        return await self.record(session, payment.id, found, source=source, origin=origin)

    async def record(
        self,
        session: AsyncSession,
        payment_id: UUID,
        found: ProviderPayment,
        *,
        source: str,
        origin: str = "",
    ) -> Payment:
        """Record the provider's answer under the appointment's lock (a webhook and the worker may
        answer at the same moment: one of them moves the payment, the other sees it moved)."""
        payment = await self._reread(session, payment_id)
        await lock_appointment(session, payment.appointment_id)
        payment = await self._reread(session, payment_id)
        changed = False
        before = payment.status
        if states.can_move(payment.status, found.status):
            payment.status = found.status
            payment.status_changed_at = self.clock()
            if found.status == PaymentStatus.PAID:
                payment.paid_at = found.paid_at or self.clock()
                await queue_receipt(session, payment, self.settings, now=self.clock())
            audit.payment_status_changed(session, payment, before, source=source, origin=origin)
            changed = True
        if (
            payment.refund_id
            and payment.refund_status != "refunded"
            and found.refunded_cents >= payment.amount_cents
        ):
            payment.refund_status = "refunded"
            changed = True
        await session.commit()
        if changed:
            if payment.status == PaymentStatus.PAID and self.outbox is not None:
                self.outbox.wake()
            await self._tell(payment)
        return payment

    async def expire(self, session: AsyncSession, payment: Payment, *, source: str) -> Payment:
        """Give up a payment still open after ``BALIE_PAYMENTS_EXPIRE_MINUTES``: stopped at the
        provider (so it can no longer be paid) and recorded as expired."""
        provider = await self._provider(session, payment)
        if payment.provider_payment_id is None:
            return payment
        try:
            found = await provider.cancel(payment.provider_payment_id)
        except ProviderRefused:  # not cancelable any more: it moved; its own status tells how
            found = await provider.get(payment.provider_payment_id)
        except UnknownAtProvider:
            return payment
        if found.status == PaymentStatus.CANCELED:
            found = ProviderPayment(
                id=found.id, status=PaymentStatus.EXPIRED, amount_cents=found.amount_cents
            )
        return await self.record(session, payment.id, found, source=source)

    # -- the official stops or refunds ------------------------------------------------------------

    async def cancel(
        self, session: AsyncSession, payment: Payment, official_id: UUID, *, origin: str
    ) -> Payment:
        if payment.status not in (PaymentStatus.OPEN,) or payment.provider_payment_id is None:
            raise PaymentRefused("not_cancelable", status=409)
        provider = await self._provider(session, payment)
        try:
            found = await provider.cancel(payment.provider_payment_id)
        except ProviderRefused:
            raise PaymentRefused("not_cancelable", status=409) from None
        except ProviderUnavailable:
            raise PaymentRefused("provider_down", status=503) from None
        return await self.record(session, payment.id, found, source="official", origin=origin)

    async def refund(
        self, session: AsyncSession, payment: Payment, official_id: UUID, *, origin: str
    ) -> Payment:
        """Pay back the whole amount (a team admin's decision, audited)."""
        if payment.status != PaymentStatus.PAID or payment.refund_id or payment.provider_payment_id is None:
            raise PaymentRefused("not_refundable", status=409)
        provider = await self._provider(session, payment)
        try:
            refund = await provider.refund(
                payment.provider_payment_id,
                payment.amount_cents,
                f"Terugbetaling: {payment.description}"[:140],
            )
        except ProviderUnavailable:
            raise PaymentRefused("provider_down", status=503) from None
        except ProviderRefused as exc:
            raise PaymentRefused("provider_refused", status=502, detail=exc.detail[:120]) from None
        except UnknownAtProvider:
            raise PaymentRefused("gone", status=404) from None
        await lock_appointment(session, payment.appointment_id)
        payment = await self._reread(session, payment.id)
        payment.refund_id = refund.id
        payment.refund_status = refund.status
        payment.refunded_cents = refund.amount_cents or payment.amount_cents
        payment.refunded_by_official_id = official_id
        audit.payment_refunded(session, audit.official_actor(official_id), payment, origin)
        await session.commit()
        await self._tell(payment)
        return payment

    # -- the worker --------------------------------------------------------------------------------

    async def reconcile(self, session: AsyncSession, *, settled_after_seconds: float = 30.0) -> int:
        """One round: ask the provider about every payment still unsettled for a while (a missed
        webhook), give up those open too long, remove ``new`` rows that never reached the provider.
        Returns how many payments moved."""
        now = self.clock()
        await self._drop_stranded(session, now)
        rows = await session.scalars(
            select(Payment)
            .where(
                Payment.status.in_([s for s in states.UNSETTLED if s != PaymentStatus.NEW]),
                Payment.status_changed_at <= now - dt.timedelta(seconds=settled_after_seconds),
            )
            .order_by(Payment.status_changed_at)
            .limit(200)
        )
        unsettled = list(rows)
        await session.commit()
        moved = 0
        expire_after = dt.timedelta(minutes=self.settings.payments.expire_minutes)
        for payment in unsettled:
            before = payment.status
            try:
                payment = await self.refresh(session, payment, source="reconcile")
                if payment.status in states.UNSETTLED and payment.created_at <= now - expire_after:
                    payment = await self.expire(session, payment, source="reconcile")
            except (ProviderUnavailable, ProviderRefused, PaymentRefused) as exc:
                await session.rollback()
                log.info("payment %s could not be reconciled now: %s", payment.id, exc)
                continue
            moved += payment.status != before
        return moved

    async def _drop_stranded(self, session: AsyncSession, now: dt.datetime) -> None:
        stranded = await session.scalars(
            select(Payment).where(
                Payment.status == PaymentStatus.NEW,
                Payment.status_changed_at <= now - dt.timedelta(minutes=NEW_ROW_MINUTES),
            )
        )
        for payment in stranded:
            await session.delete(payment)
        await session.commit()

    async def _reread(self, session: AsyncSession, payment_id: UUID) -> Payment:
        """The payment as stored now, in this session (whoever held the lock before may have moved it)."""
        payment = await session.get(Payment, payment_id, populate_existing=True)
        if payment is None:
            raise PaymentRefused("gone", status=404)
        return payment

    async def _tell(self, payment: Payment) -> None:
        await self.live.payment_changed(payment.appointment_id, payment_info(payment))
