"""Documents shared in an appointment, and how long each service keeps the ones marked for the case.

The row holds what the pages and the audit trail need (name, type, size, hash, who shared it, until
when) and the document's own key, wrapped by a master key. The content itself lives encrypted in the
document store (backend/documents/storage.py), never in the database.
"""

from __future__ import annotations

import datetime as dt
import enum
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.appointment import Appointment, Participant
from backend.db.models.base import Base
from backend.db.models.official import Official


class DocumentType(enum.StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


class Document(Base):
    __table_args__ = (Index("ix_document_expires_at", "expires_at"),)

    appointment_id: Mapped[UUID] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
    shared_by_role: Mapped[str] = mapped_column(String(20))
    """``official`` or the participant's role (``citizen``, ``partner``, ``interpreter``)."""
    shared_by_participant_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), default=None
    )
    shared_by_official_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(120))
    """The sanitised file name (see backend/documents/names.py)."""
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    """Of the content as stored and served (images are re-encoded, so not always the upload's)."""
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    """The document's own AES-256 key, sealed with a master key (backend/crypto.py Keyring)."""
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    """The retention worker deletes the document at this time at the latest."""
    kept_for_case: Mapped[bool] = mapped_column(default=False)
    """Marked "bewaren voor de zaak" by an official: survives the end of the call until ``expires_at``."""
    kept_by_official_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("official.id", ondelete="SET NULL"), default=None
    )
    kept_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    appointment: Mapped[Appointment] = relationship(lazy="joined")
    shared_by_participant: Mapped[Participant | None] = relationship(lazy="joined")
    shared_by_official: Mapped[Official | None] = relationship(
        lazy="joined", foreign_keys=[shared_by_official_id]
    )


class DocumentRetention(Base):
    """Per service: how many days a document marked for the case is kept (0: marking is off).

    A service without a row keeps marked documents for ``BALIE_DOCUMENTS_KEEP_DAYS``; a row can only
    shorten that, never lengthen it. Unmarked documents always go when the call ends.
    """

    service_id: Mapped[UUID] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), unique=True)
    keep_days: Mapped[int] = mapped_column(SmallInteger, default=0)
