"""Answers to create calls that carried an ``Idempotency-Key``, so a replay gets the same answer."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models.base import Base


class IdempotentRequest(Base):
    key: Mapped[str] = mapped_column(String(255), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the request body: the same key with another body is refused."""
    appointment_id: Mapped[UUID] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    response: Mapped[bytes] = mapped_column(LargeBinary)
    """The first answer, sealed (it holds the manage token)."""
