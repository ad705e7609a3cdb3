"""The public half of the app's client keys (``private_key_jwt``), at a stable URL to register
with a provider: ``{public url}/oidc/jwks.json``. Empty when the app has no client keys."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.datastructures import CacheControlHeader

from backend.identity.client_auth import JWKS_PATH
from backend.settings import Settings


@get(JWKS_PATH, include_in_schema=False, cache_control=CacheControlHeader(max_age=300, public=True))
async def client_jwks(settings: Settings) -> dict[str, Any]:
    """A provider may cache this for five minutes: a new key is published before it signs."""
    keys = settings.identity.client_keys
    return keys.public() if keys is not None else {"keys": []}
