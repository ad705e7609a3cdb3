"""Adding, listing and removing a municipality's own identity providers (``balie identity-provider``;
the admin pages of issue 10 will use the same functions)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import get_args

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.crypto import Keyring
from backend.db.models import IdentityProvider, Municipality
from backend.identity.parties import seal_secret
from backend.settings.identity import ClaimsFrom, TokenAuth

AUDIENCES = ("official", "citizen")


class ProviderError(ValueError):
    """What is wrong with the request, in words for the operator."""


@dataclass(frozen=True)
class Registration:
    issuer: str
    client_id: str
    client_secret: str
    token_auth: str = "client_secret_basic"  # noqa: S105 - a method name
    scope: str = "openid"
    claims_from: str = "both"
    email_domains: tuple[str, ...] = ()


def _checked(registration: Registration, audience: str) -> Registration:
    problems = []
    if audience not in AUDIENCES:
        problems.append(f"audience must be one of {', '.join(AUDIENCES)}")
    if not registration.issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        problems.append("the issuer must be an https:// URL (http only on loopback)")
    if not registration.client_id:
        problems.append("a client id is required")
    if registration.token_auth not in get_args(TokenAuth):
        problems.append(f"token auth must be one of {', '.join(get_args(TokenAuth))}")
    if registration.token_auth != "private_key_jwt" and not registration.client_secret:  # noqa: S105
        problems.append("a client secret is required (or use private_key_jwt)")
    if registration.claims_from not in get_args(ClaimsFrom):
        problems.append(f"claims from must be one of {', '.join(get_args(ClaimsFrom))}")
    if "openid" not in registration.scope.split():
        problems.append("the scope must include openid")
    if any("@" in d or "." not in d for d in registration.email_domains):
        problems.append("e-mail domains are names such as rotterdam.nl, without @")
    if problems:
        raise ProviderError("; ".join(problems))
    return registration


async def put_provider(
    db: AsyncSession, keyring: Keyring, cbs_code: str, audience: str, registration: Registration
) -> IdentityProvider:
    """The municipality's provider for ``audience``, added or replaced."""
    registration = _checked(registration, audience)
    municipality = await db.scalar(select(Municipality).where(Municipality.cbs_code == cbs_code))
    if municipality is None:
        raise ProviderError(f"no municipality with CBS code {cbs_code} here")
    provider = await db.scalar(
        select(IdentityProvider).where(
            IdentityProvider.municipality_id == municipality.id, IdentityProvider.audience == audience
        )
    )
    if provider is None:
        provider = IdentityProvider(id=uuid.uuid4(), municipality_id=municipality.id, audience=audience)
        db.add(provider)
    provider.issuer = registration.issuer
    provider.client_id = registration.client_id
    provider.client_secret_sealed = seal_secret(keyring, provider.id, registration.client_secret)
    provider.token_auth = registration.token_auth
    provider.scope = registration.scope
    provider.claims_from = registration.claims_from
    provider.email_domains = ",".join(d.strip().lower() for d in registration.email_domains)
    await db.commit()
    return provider


async def remove_provider(db: AsyncSession, cbs_code: str, audience: str) -> bool:
    provider = await db.scalar(
        select(IdentityProvider)
        .join(Municipality)
        .where(Municipality.cbs_code == cbs_code, IdentityProvider.audience == audience)
    )
    if provider is None:
        return False
    await db.delete(provider)
    await db.commit()
    return True


async def listed(db: AsyncSession) -> list[str]:
    rows = await db.scalars(select(IdentityProvider).join(Municipality).order_by(Municipality.name))
    return [
        f"{p.municipality.cbs_code} {p.municipality.name}: {p.audience} {p.issuer} "
        f"client {p.client_id} ({p.token_auth}, claims from {p.claims_from})"
        + (f", e-mail {p.email_domains}" if p.email_domains else "")
        for p in rows
    ]
