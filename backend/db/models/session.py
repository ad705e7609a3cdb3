"""Server-side sessions (officials signed in, sign-ins under way), keyed by a random session id."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models.base import Base


class StoredSession(Base):
    __tablename__ = "web_session"

    key: Mapped[str] = mapped_column(String(255), unique=True)
    """``<namespace>:<session id>``; the id itself is only ever in the visitor's cookie and here."""
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
