"""Checking an ID token (OpenID Connect Core 3.1.3.7), each failure with its own reason code."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from joserfc import jwe, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwe import JWERegistry
from joserfc.jwk import KeySet
from joserfc.registry import HeaderParameter

from backend.identity.errors import LoginFailed

KeysFor = Callable[[str | None], Awaitable[KeySet]]


@dataclass(frozen=True)
class Expected:
    issuer: str
    client_id: str
    nonce: str
    algorithms: Sequence[str]
    skew_seconds: int = 60
    max_age_seconds: int = 600
    """An ``iat`` older than this (plus skew) is a token minted for another sign-in."""
    authenticated_after: float | None = None
    """When set, ``auth_time`` must be present and no earlier than this (minus skew)."""


def header_of(token: str) -> dict[str, Any]:
    try:
        part = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError) as exc:
        raise LoginFailed("malformed_id_token") from exc
    if not isinstance(header, dict):
        raise LoginFailed("malformed_id_token")
    return header


JWE_ALGORITHMS: Final = (
    "RSA-OAEP",
    "RSA-OAEP-256",
    "ECDH-ES",
    "ECDH-ES+A128KW",
    "ECDH-ES+A256KW",
    "A128GCM",
    "A192GCM",
    "A256GCM",
    "A128CBC-HS256",
    "A256CBC-HS512",
)
"""Key management and content encryption accepted for an encrypted ID token (no RSA1_5, no dir)."""
_JWE_REGISTRY: Final = JWERegistry(
    # RFC 7519 5.3: a provider may repeat claims in the protected header (oidc-provider does).
    header_registry={
        "iss": HeaderParameter("the iss claim, repeated", "str"),
        "sub": HeaderParameter("the sub claim, repeated", "str"),
        "aud": HeaderParameter("the aud claim, repeated", lambda value: _audience(value)),
    },
    algorithms=list(JWE_ALGORITHMS),
)


def _audience(value: object) -> None:
    if not isinstance(value, str) and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise ValueError("aud must be a string or a list of strings")


def decrypted(token: object, keys: Sequence[Any]) -> object:
    """A nested (signed, then encrypted) ID token's inner JWS; other tokens as they are. An
    encrypted token with no key to open it is refused with its own reason."""
    if not isinstance(token, str) or token.count(".") != 4:
        return token
    if not keys:
        raise LoginFailed("encrypted_id_token")  # the provider encrypts: configure a use=enc key
    try:
        opened = jwe.decrypt_compact(token, KeySet(list(keys)), registry=_JWE_REGISTRY)
    except (JoseError, ValueError) as exc:
        raise LoginFailed("undecryptable_id_token", type(exc).__name__) from exc
    return opened.plaintext.decode() if opened.plaintext is not None else None


async def verify(token: object, keys_for: KeysFor, expected: Expected, *, now: float) -> dict[str, Any]:
    """The ID token's claims, if its signature, issuer, audience, times and nonce are right."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise LoginFailed("no_id_token")
    claims = await signed_claims(token, keys_for, expected.algorithms)
    check_claims(claims, expected, now=now)
    return claims


BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_SECONDS = 300
"""A logout token older than this (plus skew) is refused: it is sent the moment the session ends."""


async def verify_logout_token(
    token: object, keys_for: KeysFor, expected: Expected, *, now: float
) -> dict[str, Any]:
    """A back-channel logout token's claims (OpenID Connect Back-Channel Logout 1.0, 2.6):
    signed, for us, recent, with the logout event, a ``sub`` or ``sid``, and no ``nonce`` (so an
    ID token can never pass for one). ``expected.nonce`` is not used; the caller checks ``jti``."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise LoginFailed("no_logout_token")
    typ = header_of(token).get("typ")
    if typ is not None and str(typ).lower() not in ("logout+jwt", "application/logout+jwt"):
        raise LoginFailed("wrong_typ")
    claims = await signed_claims(token, keys_for, expected.algorithms)
    check_issuer_and_audience(claims, expected.issuer, expected.client_id)
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _number(iat) or float(iat) < now - LOGOUT_TOKEN_SECONDS - expected.skew_seconds:  # type: ignore[arg-type]
        raise LoginFailed("stale")
    if float(iat) > now + expected.skew_seconds:  # type: ignore[arg-type]
        raise LoginFailed("iat_in_future")
    if exp is not None and (not _number(exp) or now > float(exp) + expected.skew_seconds):
        raise LoginFailed("expired")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LoginFailed("no_logout_event")
    if "nonce" in claims:
        raise LoginFailed("nonce_in_logout_token")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise LoginFailed("missing_jti")
    if not (isinstance(claims.get("sub"), str) and claims["sub"]) and not (
        isinstance(claims.get("sid"), str) and claims["sid"]
    ):
        raise LoginFailed("missing_sub_and_sid")
    return claims


async def signed_claims(token: str, keys_for: KeysFor, algorithms: Sequence[str]) -> dict[str, Any]:
    """The claims of a JWS signed by the provider with an allowed algorithm (ID tokens, logout
    tokens, signed userinfo)."""
    header = header_of(token)
    alg = header.get("alg")
    # Before any key is touched: `none` and HMAC (which would use a public key as the secret) never.
    if not isinstance(alg, str) or alg not in algorithms:
        raise LoginFailed("alg_not_allowed", str(alg))
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    keys = await keys_for(kid)
    if kid is not None and not any(key.kid == kid for key in keys.keys):
        raise LoginFailed("unknown_key", kid)
    try:
        claims = dict(jwt.decode(token, keys, algorithms=list(algorithms)).claims)
    except InvalidKeyIdError as exc:
        raise LoginFailed("unknown_key", str(kid)) from exc
    except BadSignatureError as exc:
        raise LoginFailed("bad_signature") from exc
    except (JoseError, ValueError) as exc:
        raise LoginFailed("bad_signature", type(exc).__name__) from exc
    return claims


def check_issuer_and_audience(claims: Mapping[str, Any], issuer: str, client_id: str) -> list[object]:
    """``iss`` is the provider and ``aud`` names this client; returns the audiences."""
    if claims.get("iss") != issuer:
        raise LoginFailed("wrong_iss")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise LoginFailed("wrong_aud")
    return audiences


def check_claims(claims: dict[str, Any], expected: Expected, *, now: float) -> None:
    audiences = check_issuer_and_audience(claims, expected.issuer, expected.client_id)
    if len(audiences) > 1 and claims.get("azp") != expected.client_id:
        raise LoginFailed("wrong_azp")
    if "azp" in claims and claims["azp"] != expected.client_id:
        raise LoginFailed("wrong_azp")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _number(exp) or not _number(iat):
        raise LoginFailed("missing_times")
    if now > float(exp) + expected.skew_seconds:  # type: ignore[arg-type]
        raise LoginFailed("expired")
    if float(iat) > now + expected.skew_seconds:  # type: ignore[arg-type]
        raise LoginFailed("iat_in_future")
    if float(iat) < now - expected.max_age_seconds - expected.skew_seconds:  # type: ignore[arg-type]
        raise LoginFailed("stale")
    nbf = claims.get("nbf")
    if nbf is not None and (not _number(nbf) or float(nbf) > now + expected.skew_seconds):
        raise LoginFailed("not_yet_valid")
    if expected.authenticated_after is not None:
        auth_time = claims.get("auth_time")
        if not _number(auth_time):
            raise LoginFailed("missing_auth_time")
        if float(auth_time) < expected.authenticated_after - expected.skew_seconds:  # type: ignore[arg-type]
            raise LoginFailed("stale_auth_time")  # an earlier session at the provider, not a new login
    if claims.get("nonce") != expected.nonce:
        raise LoginFailed("wrong_nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LoginFailed("missing_sub")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
