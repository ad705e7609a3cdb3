"""Which relying party a sign-in goes through: the settings' default, or a municipality's own
provider (:class:`~backend.db.models.IdentityProvider`, data, not code).

A sign-in remembers its party's *purpose* (``official``, ``citizen``, or ``official:<provider id>``)
in the pending sign-in, and its callback is finished by that party only, so an answer from
municipality A's provider is never checked against B's. Officials signed in through a
municipality's provider get teams of that municipality only; through the default provider, teams
of municipalities that have no staff provider of their own (:meth:`Parties.allowed_municipalities`).

Each node reads the rows when it needs them and keeps one party per row version, so a provider
added or changed on one node is used by every node at its next sign-in.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.crypto import Keyring
from backend.db.models import IdentityProvider, Municipality
from backend.identity.clients import Who
from backend.identity.pending import read_pending
from backend.identity.relying_party import PENDING_KEY, RelyingParty
from backend.settings import Secret

SECRET_CONTEXT = b"identity-provider-client-secret"


def seal_secret(keyring: Keyring, provider_id: UUID, secret: str) -> bytes:
    return keyring.seal(secret.encode(), context=SECRET_CONTEXT + provider_id.bytes)


def open_secret(keyring: Keyring, provider: IdentityProvider) -> Secret:
    return Secret(
        keyring.open(provider.client_secret_sealed, context=SECRET_CONTEXT + provider.id.bytes).decode()
    )


def pending_purpose(session: Mapping[str, Any] | None, state: str | None) -> str | None:
    """The purpose of the sign-in this ``state`` belongs to, without taking it."""
    entry = read_pending((session or {}).get(PENDING_KEY)).get(state or "")
    return entry.purpose if entry else None


def unverified_issuer(token: object) -> str:
    """The ``iss`` a JWT claims, unchecked: only to find the party that will check it."""
    if not isinstance(token, str) or token.count(".") < 2:
        return ""
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return ""
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else ""


class Parties:
    def __init__(self, defaults: Mapping[str, RelyingParty], keyring: Keyring) -> None:
        self.defaults = dict(defaults)
        self.keyring = keyring
        self._made: dict[tuple[UUID, dt.datetime], RelyingParty] = {}

    def default(self, who: Who) -> RelyingParty:
        return self.defaults[who]

    def party_of(self, provider: IdentityProvider) -> RelyingParty:
        """The relying party for ``provider`` (one per version of its row)."""
        key = (provider.id, provider.updated_at)
        if key not in self._made:
            base = self.defaults[provider.audience]
            config = dataclasses.replace(
                base.config,
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=open_secret(self.keyring, provider),
                scope=provider.scope,
                token_auth=provider.token_auth,  # type: ignore[arg-type]
                claims_from=provider.claims_from,  # type: ignore[arg-type]
            )
            self._made = {k: v for k, v in self._made.items() if k[0] != provider.id}
            self._made[key] = RelyingParty(
                config,
                purpose=provider.purpose,
                skew_seconds=base.skew_seconds,
                login_seconds=base.login_seconds,
                fresh_login=base.fresh_login,
                clock=base.clock,
            )
        return self._made[key]

    async def providers(self, db: AsyncSession, who: Who) -> list[IdentityProvider]:
        rows = await db.scalars(
            select(IdentityProvider)
            .join(Municipality)
            .where(IdentityProvider.audience == who)
            .order_by(Municipality.name)
        )
        return list(rows)

    async def for_municipality(
        self, db: AsyncSession, municipality_id: UUID, who: Who
    ) -> tuple[RelyingParty, IdentityProvider | None]:
        provider = await db.scalar(
            select(IdentityProvider).where(
                IdentityProvider.municipality_id == municipality_id, IdentityProvider.audience == who
            )
        )
        return (self.party_of(provider), provider) if provider else (self.default(who), None)

    async def by_id(self, db: AsyncSession, provider_id: UUID, who: Who) -> IdentityProvider | None:
        provider = await db.get(IdentityProvider, provider_id)
        return provider if provider is not None and provider.audience == who else None

    async def by_purpose(
        self, db: AsyncSession, purpose: str | None, who: Who
    ) -> tuple[RelyingParty, IdentityProvider | None]:
        """The party that began the sign-in of ``purpose``; the default one when it names no
        provider (or one that is gone: its answer then fails as an unknown ``state``)."""
        prefix = f"{who}:"
        if purpose and purpose.startswith(prefix):
            try:
                provider = await self.by_id(db, UUID(purpose.removeprefix(prefix)), who)
            except ValueError:
                provider = None
            if provider is not None:
                return self.party_of(provider), provider
        return self.default(who), None

    async def by_issuer(
        self, db: AsyncSession, issuer: str, who: Who
    ) -> tuple[RelyingParty, IdentityProvider | None] | None:
        """The party whose provider is ``issuer`` (a back-channel logout names only its issuer)."""
        if self.default(who).config.issuer == issuer:
            return self.default(who), None
        provider = await db.scalar(
            select(IdentityProvider).where(
                IdentityProvider.issuer == issuer, IdentityProvider.audience == who
            )
        )
        return (self.party_of(provider), provider) if provider else None

    async def by_email(self, db: AsyncSession, email: str) -> IdentityProvider | None:
        """The staff provider whose e-mail domains include ``email``'s."""
        domain = email.strip().lower().rpartition("@")[2]
        if not domain:
            return None
        for provider in await self.providers(db, "official"):
            if domain in provider.domains:
                return provider
        return None

    async def allowed_municipalities(
        self, db: AsyncSession, provider: IdentityProvider | None
    ) -> set[UUID] | None:
        """The municipalities whose teams a sign-in through ``provider`` may grant: its own; for the
        default provider, all but those with a staff provider of their own (None: no limit)."""
        if provider is not None:
            return {provider.municipality_id}
        own = {p.municipality_id for p in await self.providers(db, "official")}
        if not own:
            return None
        every = set(await db.scalars(select(Municipality.id)))
        return every - own
