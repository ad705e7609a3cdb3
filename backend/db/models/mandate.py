"""Standing in for another municipality (uitwijk): municipality admins and mandates.

A municipality admin (functioneel beheerder) of A grants municipality B, or named officials of B, a
mandate for some of A's teams, from-until, with a reason. It counts only once B accepted it (a
mandate needs the consent of the one who gets it, Awb 10:4), and no longer once it ended or A
revoked it (docs/adr/0011-tenancy.md).
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.agenda import Municipality
from backend.db.models.base import Base, Json


class MunicipalityAdmin(Base):
    """An official who manages a municipality: its profile, teams and mandates."""

    __table_args__ = (UniqueConstraint("official_id", "municipality_id"),)

    official_id: Mapped[UUID] = mapped_column(ForeignKey("official.id", ondelete="CASCADE"))
    municipality_id: Mapped[UUID] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20), default="provider", server_default="provider")
    """``provider``: from the staff identity provider's groups, kept in step at every sign-in;
    ``app``: a platform admin's invitation made them the municipality's first admin, which a
    sign-in leaves alone."""
    municipality: Mapped[Municipality] = relationship(lazy="joined")


class Mandate(Base):
    grantor_id: Mapped[UUID] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    """Municipality A, whose teams the mandate is for."""
    grantee_id: Mapped[UUID] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    """Municipality B, whose officials stand in."""
    team_ids: Mapped[list[str]] = mapped_column(Json, default=list)
    """A's teams the mandate is for (at least one)."""
    official_ids: Mapped[list[str]] = mapped_column(Json, default=list)
    """The officials of B it is for; empty: every official of B."""
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[UUID] = mapped_column(ForeignKey("official.id", ondelete="RESTRICT"))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    accepted_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), default=None
    )
    declined_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    ended_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), default=None
    )
    """Who declined (an admin of B) or revoked (an admin of A) it."""
    status_note: Mapped[str] = mapped_column(String(300), default="")
    grantor: Mapped[Municipality] = relationship(foreign_keys=[grantor_id], lazy="joined")
    grantee: Mapped[Municipality] = relationship(foreign_keys=[grantee_id], lazy="joined")
