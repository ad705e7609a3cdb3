"""A municipality's own OpenID provider: its staff identity provider or its DigiD broker client.

Data, not settings: one deployment serves several municipalities, each may bring its own. The
settings' registration stays the default for municipalities without one (backend/identity/parties.py).
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.models.agenda import Municipality
from backend.db.models.base import Base


class IdentityProvider(Base):
    __table_args__ = (UniqueConstraint("municipality_id", "audience", name="uq_identity_provider_audience"),)

    municipality_id: Mapped[UUID] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(20))
    """``official`` (the staff identity provider) or ``citizen`` (the DigiD broker)."""
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    """Sealed with the app's identity keyring (AES-GCM), never stored in clear."""
    token_auth: Mapped[str] = mapped_column(String(40), default="client_secret_basic")
    scope: Mapped[str] = mapped_column(String(300), default="openid")
    claims_from: Mapped[str] = mapped_column(String(20), default="both")
    email_domains: Mapped[str] = mapped_column(String(500), default="")
    """Officials' e-mail domains that lead to this provider on the sign-in page, comma-separated."""
    municipality: Mapped[Municipality] = relationship(lazy="joined")

    @property
    def purpose(self) -> str:
        """The relying party's purpose for this provider: a sign-in begun here ends here only."""
        return f"{self.audience}:{self.id}"

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower() for d in self.email_domains.split(",") if d.strip()]
