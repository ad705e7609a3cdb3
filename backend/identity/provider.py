"""What the relying party knows about an OpenID provider: its discovery document and its keys.

Both come from the provider itself (``/.well-known/openid-configuration`` and ``jwks_uri``), so any
standards-compliant provider works. Keys are cached; a token signed with a key id we do not know
makes us fetch the key set again once for that id (the provider rotated its keys), never more, so
a flood of forged tokens cannot make us hammer the provider.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Final

import httpx
from joserfc.jwk import KeySet

from backend.identity.errors import ProviderUnavailable

METADATA_SECONDS: Final = 3600
TIMEOUT: Final = httpx.Timeout(10.0)
REQUIRED: Final = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    iss_parameter_supported: bool
    userinfo_endpoint: str | None = None

    @classmethod
    def parse(cls, issuer: str, document: object) -> Metadata:
        if not isinstance(document, dict) or not all(isinstance(document.get(k), str) for k in REQUIRED):
            raise ProviderUnavailable("bad_discovery", f"the discovery document lacks one of {REQUIRED}")
        if document["issuer"] != issuer:
            # OpenID Connect Discovery 4.3: a document for another issuer must not be used.
            raise ProviderUnavailable("bad_discovery", "the discovery document names another issuer")
        return cls(
            issuer=issuer,
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
            userinfo_endpoint=document["userinfo_endpoint"]
            if isinstance(document.get("userinfo_endpoint"), str)
            else None,
        )


class OpenIdProvider:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._refetched_for: set[str] = set()
        self._lock = asyncio.Lock()

    async def metadata(self) -> Metadata:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
            document = await _get_json(f"{self.issuer}/.well-known/openid-configuration")
            self._metadata, self._metadata_at = Metadata.parse(self.issuer, document), time.monotonic()
        return self._metadata

    async def keys_for(self, kid: str | None) -> KeySet:
        """The provider's key set, fetched again (once per unknown ``kid``) after a rotation."""
        async with self._lock:
            missing = kid is not None and (self._keys is None or not _has_kid(self._keys, kid))
            if self._keys is None or (missing and kid not in self._refetched_for):
                self._keys = await self._fetch_keys()
                if kid is not None and not _has_kid(self._keys, kid):
                    self._refetched_for.add(kid)  # asked for it with fresh keys: never again
            return self._keys

    async def _fetch_keys(self) -> KeySet:
        document = await _get_json((await self.metadata()).jwks_uri)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderUnavailable("bad_jwks", "the key set is not a JWKS document")
        # Only public signing keys: a provider has no business publishing a shared secret.
        usable = [k for k in document["keys"] if isinstance(k, dict) and k.get("kty") in ("RSA", "EC", "OKP")]
        try:
            return KeySet.import_key_set({"keys": [_public(k) for k in usable]})
        except Exception as exc:  # joserfc raises several kinds for malformed keys
            raise ProviderUnavailable("bad_jwks", type(exc).__name__) from exc


def _public(key: dict[str, Any]) -> dict[str, Any]:
    private = {"d", "p", "q", "dp", "dq", "qi", "oth"}
    return {k: v for k, v in key.items() if k not in private}


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


async def _get_json(url: str) -> object:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
            response = await http.get(url, headers={"accept": "application/json"})
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable("provider_unreachable", f"{url}: {type(exc).__name__}") from exc
