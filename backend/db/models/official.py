"""Officials (identity from the SSO) and their team memberships."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.agenda import Municipality, Team
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
    is_platform_admin: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    """Runs the deployment: creates and deactivates municipalities and names their first admin.
    Set at sign-in from ``BALIE_PLATFORM_ADMINS`` (the first one) and kept in step with it."""
    memberships: Mapped[list[Membership]] = relationship(back_populates="official", lazy="selectin")
    """Every membership, also those a team admin deactivated: access reads :attr:`active_memberships`."""

    @property
    def active_memberships(self) -> list[Membership]:
        return [m for m in self.memberships if m.active]


class Membership(Base):
    __table_args__ = (UniqueConstraint("official_id", "team_id"),)

    official_id: Mapped[UUID] = mapped_column(ForeignKey("official.id", ondelete="CASCADE"))
    team_id: Mapped[UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default="official")
    """official or admin."""
    source: Mapped[str] = mapped_column(String(20), default="provider", server_default="provider")
    """``provider``: from the staff identity provider's groups, kept in step with them at every
    sign-in; ``app``: granted in the app by an admin, which a sign-in leaves alone."""
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """Set when a team admin took the official off the team: it gives no access, and a sign-in
    with the provider's group for the team does not bring it back (only the admin can)."""
    official: Mapped[Official] = relationship(back_populates="memberships")
    team: Mapped[Team] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.deactivated_at is None


class StaffInvitation(Base):
    """A one-time link that binds whoever signs in with it (with the same e-mail address, when the
    provider sends one) to a team with a role, or (no team) makes them an admin of a municipality;
    stored as the link token's hash."""

    team_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), index=True, default=None
    )
    municipality_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("municipality.id", ondelete="CASCADE"), index=True, default=None
    )
    """The municipality of the team, or the one whose admin the invitation makes."""
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20), default="official")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_official_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    accepted_by_official_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    team: Mapped[Team | None] = relationship(lazy="joined")
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")

    @property
    def for_municipality(self) -> UUID:
        """The municipality the invitation gives access to (its team's, or the one to manage)."""
        if self.team is not None:
            return self.team.municipality_id
        if self.municipality_id is None:
            raise ValueError("an invitation without a team names its municipality")
        return self.municipality_id

    def open_at(self, now: dt.datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at
