"""Fees a service may ask for (leges) and the payments asked in a call or at booking."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.agenda import Service
from backend.db.models.base import Base, Json


class FeeDue(enum.StrEnum):
    CALL = "call"
    """The official asks for it in the call."""
    BOOKING = "booking"
    """The citizen pays it right after booking (the confirmation and manage pages)."""


class Fee(Base):
    """One fee of a service, as the municipality's fee ordinance (legesverordening) sets it.

    A fixed fee has ``amount_cents``; an open fee (``max_cents`` set) lets the official enter an
    amount from ``min_cents`` to ``max_cents`` (a certificate per copy, an hourly rate), with
    ``amount_cents`` as the suggestion. Exact euro cents, never floats.
    """

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("min_cents IS NULL OR min_cents > 0", name="min_positive"),
    )

    service_id: Mapped[UUID] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    ordinance_article: Mapped[str] = mapped_column(String(60), default="")
    """Where the fee ordinance sets it, e.g. ``Tarieventabel 1.1.2``."""
    amount_cents: Mapped[int] = mapped_column(Integer)
    min_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    max_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    due: Mapped[str] = mapped_column(String(10), default=FeeDue.CALL)
    active: Mapped[bool] = mapped_column(default=True)
    """False: no longer asked for; kept because payments name it."""
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(Json, default=dict)
    """``{"en": {"description": ...}}`` (backend/localized.py)."""
    service: Mapped[Service] = relationship(lazy="joined")

    @property
    def is_open(self) -> bool:
        """The official enters the amount, within the bounds."""
        return self.max_cents is not None


class PaymentStatus(enum.StrEnum):
    """Ours: ``new`` until the provider knows the payment; then the provider's (Mollie's) statuses."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class Payment(Base):
    """One payment asked of the citizen: what for, how much, and where the provider stands.

    Nothing about the payer's bank account or card is stored: the provider's id and status are
    enough. A failed, cancelled or expired payment can be tried again: a new row (``retry_of_id``).
    """

    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        Index("ix_payment_status_changed", "status", "status_changed_at"),
    )

    appointment_id: Mapped[UUID] = mapped_column(
        ForeignKey("appointment.id", ondelete="RESTRICT"), index=True
    )
    municipality_id: Mapped[UUID] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    fee_id: Mapped[UUID | None] = mapped_column(ForeignKey("fee.id", ondelete="SET NULL"), default=None)
    retry_of_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("payment.id", ondelete="SET NULL"), default=None
    )
    description: Mapped[str] = mapped_column(String(255))
    """What it is for, in the appointment's language, as the citizen saw it at the provider."""
    ordinance_article: Mapped[str] = mapped_column(String(60), default="")
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    due: Mapped[str] = mapped_column(String(10), default=FeeDue.CALL)
    provider: Mapped[str] = mapped_column(String(20), default="mollie")
    provider_payment_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    checkout_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12), default=PaymentStatus.NEW)
    status_changed_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    requested_by_official_id: Mapped[UUID | None] = mapped_column(ForeignKey("official.id"), default=None)
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    refund_id: Mapped[str] = mapped_column(String(64), default="")
    refund_status: Mapped[str] = mapped_column(String(12), default="")
    refunded_by_official_id: Mapped[UUID | None] = mapped_column(ForeignKey("official.id"), default=None)
