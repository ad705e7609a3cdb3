"""An appointment, the people who may join it, and the time units it holds."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.agenda import Service, Team
from backend.db.models.base import Base, Json

if TYPE_CHECKING:
    from backend.db.models.official import Official


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    WAITING = "waiting"
    IN_CALL = "in_call"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.WAITING, AppointmentStatus.IN_CALL)


class ParticipantRole(enum.StrEnum):
    CITIZEN = "citizen"
    PARTNER = "partner"
    INTERPRETER = "interpreter"


class Appointment(Base):
    __table_args__ = (Index("ix_appointment_team_start", "team_id", "start_at"),)

    reference: Mapped[str] = mapped_column(String(16), unique=True)
    service_id: Mapped[UUID] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"))
    team_id: Mapped[UUID] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"))
    municipality_id: Mapped[UUID] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    start_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    end_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default=AppointmentStatus.BOOKED)
    citizen_name: Mapped[str] = mapped_column(String(200))
    citizen_email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    intake: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_official_id: Mapped[UUID | None] = mapped_column(ForeignKey("official.id"), default=None)
    assigned_official_id: Mapped[UUID | None] = mapped_column(ForeignKey("official.id"), default=None)
    waiting_since: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    call_started_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    sequence: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Raised at every change of time (the .ics SEQUENCE), so calendars replace the old event."""
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    bsn_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    """The booker's BSN when the booking was made after DigiD (AES-GCM, see backend.identity.binding);
    whoever joins as the citizen must then have this BSN."""
    service: Mapped[Service] = relationship(lazy="joined")
    team: Mapped[Team] = relationship(lazy="joined")
    created_by: Mapped[Official | None] = relationship(foreign_keys=[created_by_official_id], lazy="joined")
    """The official who booked it for a caller; None when the citizen booked online."""
    participants: Mapped[list[Participant]] = relationship(
        back_populates="appointment",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="Participant.created_at",
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class Participant(Base):
    """Someone who may join the call with their own link (citizen, partner, interpreter)."""

    appointment_id: Mapped[UUID] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=ParticipantRole.CITIZEN)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    join_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="invited")
    """Signalling state kept across reconnects: invited, waiting, admitted, in_call, left."""
    waiting_since: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    admitted_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    present_until: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """Until when an open page of this participant counts as there (backend/presence.py)."""
    present_socket: Mapped[str | None] = mapped_column(String(64), default=None)
    """The socket that holds that lease."""
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    identity_level: Mapped[str | None] = mapped_column(String(20), default=None)
    """DigiD level this participant identified with (none until they did)."""
    identity_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    bsn_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    """The BSN from DigiD, sealed with AES-GCM; never stored or logged in clear."""
    representative_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    """Who identified for this participant under an authorisation (the ``act`` claim's BSN or
    subject), sealed like the BSN; None when they identified themselves."""
    identity_requested_at: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    """When the official asked for DigiD during the call (cleared once the participant identified)."""
    appointment: Mapped[Appointment] = relationship(back_populates="participants", lazy="joined")


class SlotClaim(Base):
    """One seat in one time unit of a capacity pool, held by an active appointment.

    A pool is a team's desks (``pool_id`` = the team's id) or, for a service with its own capacity,
    that service (``pool_id`` = the service's id). The unique key makes the database refuse a second
    booking of the same seat, on SQLite and on PostgreSQL alike, whatever the application checked
    before (see docs/adr/0002).
    """

    __table_args__ = (
        UniqueConstraint("pool_id", "unit_start", "seat", name="uq_slot_claim_pool_seat"),
        CheckConstraint("seat >= 0", name="ck_slot_claim_seat"),
        Index("ix_slot_claim_team_unit", "team_id", "unit_start"),
    )

    pool_id: Mapped[UUID] = mapped_column()
    team_id: Mapped[UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    unit_start: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    seat: Mapped[int] = mapped_column(SmallInteger)
    appointment_id: Mapped[UUID] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
