"""OpenID Connect Back-Channel Logout 1.0: the officials' provider tells the app, server to server,
that a session ended there, and the app ends the official's sessions here too.

A logout token names the official (``sub``) and/or the provider's session (``sid``). The app's
sessions live in a store it cannot search by official, so a logout stamps the official's
``signed_out_at``: every session signed in before it stops counting, on every node and in either
session store (checked where the desk and the sockets read the session). A token with a ``sid``
only finds its official through the ``sid`` remembered at sign-in; that ends the official's other
sessions from before it as well, which errs on the safe side. Each token is used once (``jti``).
"""

from __future__ import annotations

import uuid
from typing import Final

from litestar.stores.base import NamespacedStore

JTI_SECONDS: Final = 900
"""How long a used logout token's ``jti`` is remembered: longer than such a token is accepted."""


class ProviderSessions:
    def __init__(self, store: NamespacedStore, *, keep_seconds: int) -> None:
        self._sids = store.with_namespace("sid")
        self._jtis = store.with_namespace("jti")
        self.keep_seconds = keep_seconds
        """As long as an app session may live: a sid is only useful while its session is."""

    async def remember(self, issuer: str, sid: str, official_id: uuid.UUID) -> None:
        await self._sids.set(_key(issuer, sid), str(official_id), expires_in=self.keep_seconds)

    async def official_for(self, issuer: str, sid: str) -> uuid.UUID | None:
        raw = await self._sids.get(_key(issuer, sid))
        try:
            return uuid.UUID(raw.decode()) if raw else None
        except ValueError:
            return None

    async def first_use(self, issuer: str, jti: str) -> bool:
        """Whether this logout token is new (and remember it): a replayed one is refused."""
        key = _key(issuer, jti)
        if await self._jtis.exists(key):
            return False
        await self._jtis.set(key, b"1", expires_in=JTI_SECONDS)
        return True


def _key(issuer: str, value: str) -> str:
    return f"{issuer}|{value}"[:500]
