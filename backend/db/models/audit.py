"""Append-only audit trail: who did what to which object, never a BSN in clear.

Each event is a link of its municipality's hash chain (events without a municipality form a chain
of their own): ``chain_seq`` counts 1, 2, 3 ... per chain, ``prev_hash`` is the ``hash`` of the
event before (64 zeros for the first), and ``hash`` is the SHA-256 of the event's own fields and
those two. backend/audit/chain.py writes the three at flush time and verifies them
(docs/adr/0014-tamper-evident-audit.md).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models.base import Base, Json


class AuditEvent(Base):
    """Append-only: the migrations add database triggers that refuse UPDATE, DELETE, TRUNCATE, a
    replacing INSERT, and an INSERT that is not the next link of its chain."""

    __table_args__ = (
        Index("ix_audit_event_municipality_time", "municipality_id", "created_at"),
        # One event per place in a chain, whatever a writer does wrong (the advisory lock of
        # backend/audit/chain.py makes writers take turns; this is the backstop). Two partial
        # indexes, because a unique index treats NULL municipalities as all different.
        Index(
            "uq_audit_event_chain_seq",
            "municipality_id",
            "chain_seq",
            unique=True,
            postgresql_where=text("municipality_id IS NOT NULL"),
            sqlite_where=text("municipality_id IS NOT NULL"),
        ),
        Index(
            "uq_audit_event_chain_seq_none",
            "chain_seq",
            unique=True,
            postgresql_where=text("municipality_id IS NULL"),
            sqlite_where=text("municipality_id IS NULL"),
        ),
    )

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
    chain_seq: Mapped[int] = mapped_column(Integer)
    """The event's place in its municipality's chain: 1, 2, 3 ..."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    """The ``hash`` of the event before it in the chain; 64 zeros for the first."""
    hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) of the event's canonical JSON (backend/audit/chain.py)."""
