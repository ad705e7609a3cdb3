"""Officials (identity from the SSO) and their team memberships."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.agenda import Team
from backend.db.models.base import Base


class Official(Base):
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    signed_out_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the identity provider last ended this official's sessions (back-channel logout): a
    session signed in before it no longer counts, on any node, in any session store."""
    memberships: Mapped[list[Membership]] = relationship(back_populates="official", lazy="selectin")


class Membership(Base):
    __table_args__ = (UniqueConstraint("official_id", "team_id"),)

    official_id: Mapped[UUID] = mapped_column(ForeignKey("official.id", ondelete="CASCADE"))
    team_id: Mapped[UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default="official")
    """official or admin."""
    source: Mapped[str] = mapped_column(String(20), default="provider", server_default="provider")
    """``provider``: from the staff identity provider's groups, kept in step with them at every
    sign-in; ``app``: granted in the app by an admin, which a sign-in leaves alone."""
    official: Mapped[Official] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship(lazy="joined")
