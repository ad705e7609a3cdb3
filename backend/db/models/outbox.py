"""Emails waiting to be sent, written in the same transaction as the change that caused them."""

from __future__ import annotations

import datetime as dt
import enum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models.base import Base, Json


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    """No longer to be sent (a reminder of an appointment that was cancelled or moved)."""


class OutboxMessage(Base):
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    """Also the Message-ID seed: one logical email is one row, whatever retries happen."""
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    mime: Mapped[bytes] = mapped_column(LargeBinary)
    """The whole rendered message (RFC 5322), so a retry sends exactly the same bytes."""
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    kind: Mapped[str] = mapped_column(String(30), default="")
    """confirmation, reminder, rescheduled, cancelled, invitation..."""
    appointment_id: Mapped[UUID | None] = mapped_column(default=None, index=True)
    deferred: Mapped[bool] = mapped_column(default=False)
    """``mime`` holds a sealed render request (which email, for whom, with which tokens), rendered
    when it is sent: a reminder days ahead shows the appointment as it is then."""
