"""Reading claims wherever a provider puts them, in the shapes real providers send.

- A claim is named by its key, or by a dotted *path* into nested objects (Keycloak's
  ``realm_access.roles``); a key that itself holds dots (``https://example.nl/bsn``) is found first.
- The ID token and the userinfo response (OIDC Core 5.3; many providers put scope claims only
  there, 5.4) are merged: the one the provider's setting names first wins where both have a claim.
  Protocol claims (``iss``, ``aud``, ``exp``, ``nonce``...) only ever come from the signed ID token.
- A BSN may come sector-prefixed (``s00000000:999993653``, as some brokers send the BSN sector).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

PROTOCOL: Final = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "auth_time", "at_hash"}
)
"""Claims that only the ID token may set."""
_SECTOR_BSN: Final = re.compile(r"s0{8}:([0-9]{8,9})")


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``, or None where there is nothing."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def merged(
    id_token: Mapping[str, Any], userinfo: Mapping[str, Any], *, userinfo_first: bool
) -> dict[str, Any]:
    """One set of claims; ``userinfo`` never overrides what the ID token says about the protocol."""
    extra = {k: v for k, v in userinfo.items() if k not in PROTOCOL}
    if userinfo_first:
        return {**id_token, **extra}
    return {**extra, **id_token}


def bsn_from(value: object) -> str:
    """The BSN in a claim value: the digits as they are, after the BSN sector prefix, or from a
    number (which has lost its leading zero); the elfproef decides afterwards whether it is one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9:
        return f"{value:09d}"
    if not isinstance(value, str):
        return ""
    match = _SECTOR_BSN.fullmatch(value)
    digits = match.group(1) if match else value
    return digits.zfill(9) if len(digits) == 8 and digits.isdigit() else digits


REPRESENTATION: Final = ("act", "represents", "representation", "may_act")
"""Claims that say the person at the screen acts for someone else (DigiD Machtigen, RFC 8693
``act``): such a token is never the citizen's own identity."""


def represents_someone(claims: Mapping[str, Any]) -> str | None:
    """The first representation claim present, or None."""
    return next((name for name in REPRESENTATION if claims.get(name) not in (None, "", {}, [])), None)


def actor_of(claims: Mapping[str, Any]) -> str | None:
    """Who acts for the token's subject under RFC 8693's ``act`` claim (its ``bsn``, else its
    ``sub``), or None: the token then says nothing usable about a representative. Only ``act`` has
    this one meaning; the other representation claims are refused whatever the service allows."""
    act = claims.get("act")
    if not isinstance(act, Mapping):
        return None
    for name in ("bsn", "sub"):
        value = act.get(name)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()[:64]
    return None
