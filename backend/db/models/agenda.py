"""Municipality (tenant), its teams, their opening hours and the services they offer."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Date,
    ForeignKey,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.base import Base, Json
from backend.timefmt import LOCAL_TIMEZONE


class Municipality(Base):
    cbs_code: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    timezone: Mapped[str] = mapped_column(String(60), default=LOCAL_TIMEZONE)
    """The zone of its teams' opening hours, which slots are worked out in; times are shown in
    :data:`~backend.timefmt.LOCAL_TIMEZONE`, so the two stay the same (docs/adr/0008)."""
    phone: Mapped[str] = mapped_column(String(30), default="14 010")
    website: Mapped[str] = mapped_column(String(300), default="", server_default="")
    privacy_url: Mapped[str] = mapped_column(String(300), default="", server_default="")
    """The municipality's privacy statement, linked from every citizen page and email."""
    email_sender_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    """The name in the From of its emails; empty: its name."""
    reply_to: Mapped[str] = mapped_column(String(254), default="", server_default="")
    """Where a citizen's reply to an email goes; empty: no Reply-To (the sender does not read)."""
    brand_tokens: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    """Design tokens (NL Design System names, backend/tenancy/branding.py), checked for contrast."""
    logo_type: Mapped[str] = mapped_column(String(40), default="", server_default="")
    """The content type of its sanitised logo (:class:`MunicipalityLogo`); empty: no logo."""
    brand_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Raised at every change of tokens or logo: their addresses carry it, so caches refresh."""
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """Set by a platform admin: its pages and services are offered to no one, its data stays."""
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(Json, default=dict)
    """Its name in other languages: ``{"en": {"name": ...}}`` (backend/localized.py)."""
    payment_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    """Its payment provider's API key (Mollie ``live_``/``test_``), sealed with the identity keyring;
    None: it asks no payments (backend/payments/keys.py)."""
    teams: Mapped[list[Team]] = relationship(back_populates="municipality", lazy="selectin")

    @property
    def active(self) -> bool:
        return self.deactivated_at is None

    @property
    def sender_name(self) -> str:
        return self.email_sender_name or self.name


class MunicipalityLogo(Base):
    """A municipality's logo, sanitised (PNG re-chunked, SVG reduced to an allow-list) before storing."""

    municipality_id: Mapped[UUID] = mapped_column(
        ForeignKey("municipality.id", ondelete="CASCADE"), unique=True
    )
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Team(Base):
    __table_args__ = (UniqueConstraint("municipality_id", "slug"),)

    municipality_id: Mapped[UUID] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    desks: Mapped[int] = mapped_column(SmallInteger, default=1)
    """How many officials take calls at the same time: the capacity of every time unit."""
    lead_minutes: Mapped[int] = mapped_column(default=60)
    """Minimum notice before a booking."""
    horizon_days: Mapped[int] = mapped_column(default=14)
    """How far ahead citizens may book."""
    closed_on_public_holidays: Mapped[bool] = mapped_column(default=True)
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(Json, default=dict)
    """Texts in other languages: ``{"en": {"name": ..., "description": ...}}`` (backend/localized.py)."""
    municipality: Mapped[Municipality] = relationship(back_populates="teams", lazy="joined")
    services: Mapped[list[Service]] = relationship(back_populates="team", lazy="selectin")
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="team", lazy="selectin", cascade="all, delete-orphan"
    )
    exceptions: Mapped[list[ScheduleException]] = relationship(
        back_populates="team", lazy="selectin", cascade="all, delete-orphan"
    )


class OpeningHours(Base):
    """One block of weekly opening hours, in the municipality's local time."""

    team_id: Mapped[UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)
    """0 = Monday ... 6 = Sunday."""
    opens: Mapped[dt.time] = mapped_column(Time)
    closes: Mapped[dt.time] = mapped_column(Time)
    desks: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    """Officials at the desks during this block; None: the team's ``desks``."""
    team: Mapped[Team] = relationship(back_populates="opening_hours")


class ScheduleException(Base):
    """One date on which a team's week does not apply: closed, extra opening or changed hours.

    ``blocks`` replaces that day's weekly blocks (and the public-holiday rule): an empty list closes
    the day; ``[{"opens": "09:00", "closes": "12:00", "desks": 1}]`` opens it for those hours only
    (``desks`` is optional).
    """

    __table_args__ = (UniqueConstraint("team_id", "day"),)

    team_id: Mapped[UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    blocks: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")
    team: Mapped[Team] = relationship(back_populates="exceptions")


class ServiceState(enum.StrEnum):
    DRAFT = "draft"
    """Being written: offered nowhere, bookable by no one."""
    PUBLISHED = "published"
    """Offered to citizens and on the phone, at once on every node."""
    WITHDRAWN = "withdrawn"
    """No longer offered; its booked appointments keep running."""


class Service(Base):
    __table_args__ = (UniqueConstraint("team_id", "slug"),)

    team_id: Mapped[UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(default=20)
    required_loa: Mapped[str] = mapped_column(String(20), default="none")
    allows_representation: Mapped[bool] = mapped_column(default=False)
    """Someone may identify for the citizen under a DigiD authorisation (an ``act`` claim): both
    identities are recorded and shown to the official. Otherwise such a sign-in is refused."""
    """DigiD level of assurance: none, basis, midden, substantieel or hoog."""
    documents: Mapped[list[str]] = mapped_column(Json, default=list)
    """What the citizen should have ready."""
    intake: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    """Intake questions (see backend/booking/intake.py for the shape)."""
    max_participants: Mapped[int] = mapped_column(SmallInteger, default=2)
    step_minutes: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    """Minutes between offered start times; None: the duration."""
    buffer_minutes: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Time kept free after each appointment (the official's notes)."""
    lead_minutes: Mapped[int | None] = mapped_column(default=None)
    """Minimum notice; None: the team's."""
    horizon_days: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    """How far ahead citizens may book; None: the team's."""
    capacity: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    """At most this many appointments of this service at once; None: as many as there are desks."""
    max_active_per_email: Mapped[int] = mapped_column(SmallInteger, default=2)
    """Active bookings one email address may hold for this service."""
    reminder_minutes: Mapped[list[int]] = mapped_column(Json, default=lambda: [1440, 60])
    """Reminder emails this many minutes before the start."""
    deadline_rule: Mapped[str | None] = mapped_column(String(40), default=None)
    """A legal deadline that limits the offered days (backend/booking/deadlines.py)."""
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(Json, default=dict)
    """Texts in other languages: ``{"en": {"name": ..., "description": ..., "documents": [...]}}``."""
    email_texts: Mapped[dict[str, dict[str, str]]] = mapped_column(Json, default=dict)
    """The team's own words in an email, per kind and language: ``{"confirmation": {"nl": ...}}``."""
    state: Mapped[str] = mapped_column(String(12), default=ServiceState.DRAFT)
    team: Mapped[Team] = relationship(back_populates="services", lazy="joined")

    @property
    def is_published(self) -> bool:
        return self.state == ServiceState.PUBLISHED

    @property
    def is_bookable(self) -> bool:
        """Published by an active municipality: offered to citizens and on the phone."""
        return self.is_published and self.team.municipality.active
