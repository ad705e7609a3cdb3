"""Append-only audit trail: who did what to which object, never a BSN in clear."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models.base import Base, Json


class AuditEvent(Base):
    """Append-only: the migration adds database triggers that refuse UPDATE and DELETE."""

    __table_args__ = (Index("ix_audit_event_municipality_time", "municipality_id", "created_at"),)

    actor: Mapped[str] = mapped_column(String(255))
    """``official:<id>``, ``participant:<id>``, ``system`` or ``anonymous``."""
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    municipality_id: Mapped[UUID | None] = mapped_column(default=None, index=True)
    shared_with_id: Mapped[UUID | None] = mapped_column(default=None, index=True)
    """A second municipality whose trail shows this event: the home municipality of an official
    acting under a mandate, or the grantee of a mandate's own events (docs/adr/0011-tenancy.md)."""
    mandate_id: Mapped[UUID | None] = mapped_column(default=None)
    """The mandate the actor acted under, if any."""
    result: Mapped[str] = mapped_column(String(20), default="success")
    origin: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
