"""Fees and payments: a fee set by a team admin, a payment asked, each status it reached, a refund,
and a municipality's payment key set or removed (never the key itself).

A payment's events carry its amount in cents, the appointment and the provider's reference: enough
to reconcile the trail with the provider's settlement. Never anything about the payer's account.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _record
from backend.db.models import Fee, Payment


def fee_changed(
    session: AsyncSession, actor: str, fee: Fee, municipality_id: UUID, what: str, origin: str
) -> None:
    """``what``: ``created``, ``edited`` or ``withdrawn``."""
    _record(
        session,
        actor=actor,
        action="fee.changed",
        object_type="fee",
        object_id=fee.id,
        municipality_id=municipality_id,
        origin=origin,
        details={
            "what": what,
            "service": str(fee.service_id),
            "amount_cents": fee.amount_cents,
            "min_cents": fee.min_cents,
            "max_cents": fee.max_cents,
            "due": fee.due,
            "article": fee.ordinance_article,
        },
    )


def _payment_event(
    session: AsyncSession, actor: str, action: str, payment: Payment, origin: str, **details: Any
) -> None:
    _record(
        session,
        actor=actor,
        action=action,
        object_type="payment",
        object_id=payment.id,
        municipality_id=payment.municipality_id,
        origin=origin,
        details={
            "appointment": str(payment.appointment_id),
            "amount_cents": payment.amount_cents,
            "provider": payment.provider,
            "reference": payment.provider_payment_id or "",
            **details,
        },
    )


def payment_requested(session: AsyncSession, actor: str, payment: Payment, origin: str) -> None:
    """Asked of the citizen (by the official, or again by the citizen after a failure)."""
    _payment_event(
        session,
        actor,
        "payment.requested",
        payment,
        origin,
        fee=str(payment.fee_id or ""),
        due=payment.due,
        retry_of=str(payment.retry_of_id or ""),
    )


def payment_status_changed(
    session: AsyncSession, payment: Payment, before: str, *, source: str, origin: str = ""
) -> None:
    """The provider said the payment moved (``source``: ``webhook``, ``return``, ``reconcile``,
    ``official``); the actor is the provider, whose word it is."""
    _payment_event(
        session,
        f"provider:{payment.provider}",
        "payment.status",
        payment,
        origin,
        before=before,
        after=payment.status,
        source=source,
    )


def payment_refunded(session: AsyncSession, actor: str, payment: Payment, origin: str) -> None:
    _payment_event(
        session,
        actor,
        "payment.refunded",
        payment,
        origin,
        refunded_cents=payment.refunded_cents,
        refund=payment.refund_id,
        refund_status=payment.refund_status,
    )


def payment_key_changed(
    session: AsyncSession, actor: str, municipality_id: UUID, *, mode: str, origin: str
) -> None:
    """``mode``: ``test``, ``live`` (a key was set) or ``removed``."""
    _record(
        session,
        actor=actor,
        action="payments.key_changed",
        object_type="municipality",
        object_id=municipality_id,
        municipality_id=municipality_id,
        origin=origin,
        details={"mode": mode},
    )
