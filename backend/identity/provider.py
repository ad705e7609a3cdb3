"""What the relying party knows about an OpenID provider: its discovery document and its keys.

Both come from the provider itself (``/.well-known/openid-configuration`` and ``jwks_uri``), so any
standards-compliant provider works. The issuer is compared exactly (OpenID Connect Discovery 4.3):
``https://op.example/`` and ``https://op.example`` are different issuers.

Keys are cached for as long as the provider's ``Cache-Control: max-age`` (or ``Expires``) says,
within [:data:`MIN_KEYS_SECONDS`, :data:`MAX_KEYS_SECONDS`], so a key the provider withdrew stops
being trusted at the next refresh. A token signed with a key id we do not know makes us fetch the
key set again, at most once per :data:`UNKNOWN_KID_SECONDS` whatever the key ids: a provider whose
key set lagged behind its rotation is picked up seconds later, and a flood of forged tokens cannot
make us hammer the provider.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx
from joserfc.jwk import KeySet

from backend.identity.errors import ProviderUnavailable

METADATA_SECONDS: Final = 3600
MIN_KEYS_SECONDS: Final = 60
MAX_KEYS_SECONDS: Final = 86400
DEFAULT_KEYS_SECONDS: Final = 3600
UNKNOWN_KID_SECONDS: Final = 10.0
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
    end_session_endpoint: str | None = None

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
            userinfo_endpoint=_optional_url(document, "userinfo_endpoint"),
            end_session_endpoint=_optional_url(document, "end_session_endpoint"),
        )


def _optional_url(document: dict[str, Any], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


class OpenIdProvider:
    def __init__(self, issuer: str, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self._monotonic = monotonic
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_until = 0.0
        self._unknown_kid_at: float | None = None
        self._lock = asyncio.Lock()

    async def metadata(self) -> Metadata:
        if self._metadata is None or self._monotonic() - self._metadata_at > METADATA_SECONDS:
            document, _ = await _get_json(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
            self._metadata, self._metadata_at = Metadata.parse(self.issuer, document), self._monotonic()
        return self._metadata

    async def keys_for(self, kid: str | None) -> KeySet:
        """The provider's key set: cached while fresh, fetched again when it expired, and for a key
        id it lacks at most once per :data:`UNKNOWN_KID_SECONDS`."""
        async with self._lock:
            now = self._monotonic()
            if self._keys is None or now >= self._keys_until:
                await self._fetch_keys()
            elif (
                kid is not None
                and not _has_kid(self._keys, kid)
                and (self._unknown_kid_at is None or now - self._unknown_kid_at >= UNKNOWN_KID_SECONDS)
            ):
                self._unknown_kid_at = now
                await self._fetch_keys()
            keys = self._keys
            if keys is None:  # _fetch_keys sets it or raises
                raise ProviderUnavailable("bad_jwks", "no key set")
            return keys

    async def _fetch_keys(self) -> None:
        document, lifetime = await _get_json((await self.metadata()).jwks_uri)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderUnavailable("bad_jwks", "the key set is not a JWKS document")
        # Only public signing keys: a provider has no business publishing a shared secret.
        usable = [k for k in document["keys"] if isinstance(k, dict) and k.get("kty") in ("RSA", "EC", "OKP")]
        try:
            self._keys = KeySet.import_key_set({"keys": [_public(k) for k in usable]})
        except Exception as exc:  # joserfc raises several kinds for malformed keys
            raise ProviderUnavailable("bad_jwks", type(exc).__name__) from exc
        seconds = DEFAULT_KEYS_SECONDS if lifetime is None else lifetime
        self._keys_until = self._monotonic() + min(max(seconds, MIN_KEYS_SECONDS), MAX_KEYS_SECONDS)


def _public(key: dict[str, Any]) -> dict[str, Any]:
    private = {"d", "p", "q", "dp", "dq", "qi", "oth"}
    return {k: v for k, v in key.items() if k not in private}


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


async def _get_json(url: str) -> tuple[object, float | None]:
    """The JSON document at ``url``, and how long it may be cached (None: the answer does not say)."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
            response = await http.get(url, headers={"accept": "application/json"})
        response.raise_for_status()
        return response.json(), _lifetime(response.headers)
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable("provider_unreachable", f"{url}: {type(exc).__name__}") from exc


def _lifetime(headers: httpx.Headers) -> float | None:
    """Seconds from ``Cache-Control`` (``no-store``/``no-cache``: 0, ``max-age``) or ``Expires``."""
    directives = [d.strip().lower() for d in headers.get("cache-control", "").split(",") if d.strip()]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip('"').isdigit():
            return float(value.strip('"'))
    expires = headers.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires)
            sent = email.utils.parsedate_to_datetime(headers["date"]) if "date" in headers else None
        except (TypeError, ValueError):
            return 0.0  # an invalid Expires means already expired (RFC 9111 5.3)
        if sent is not None:
            return max((when - sent).total_seconds(), 0.0)
    return None
