"""``/metrics`` on an app node: this process's metrics and the database's gauges, for Prometheus only.

Not for the public: without ``BALIE_METRICS_TOKEN`` the route answers 404 like any unknown path;
with it, only a request with ``Authorization: Bearer <token>`` gets the metrics (401 otherwise).
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import Clock
from backend.metrics import REGISTRY
from backend.metrics.scrape import exposition, read_snapshot
from backend.settings import Secret, Settings
from backend.web import NO_STORE

UNAUTHORIZED_HEADERS: Final = {"WWW-Authenticate": 'Bearer realm="metrics"'}
TEXT_FORMAT: Final = "text/plain; version=0.0.4"
"""What ``generate_latest`` writes (Litestar adds the charset, UTF-8)."""


def may_read(authorization: str, token: Secret) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (compared in constant time)."""
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return secrets.compare_digest(given.strip().encode(), token.reveal().encode())


@get("/metrics", include_in_schema=False, cache_control=NO_STORE)
async def metrics(
    request: Request[Any, Any, Any],
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> Response[bytes]:
    token = settings.monitoring.metrics_token
    if not token:
        raise NotFoundException()
    if not may_read(request.headers.get("authorization", ""), token):
        return Response(b"", status_code=401, headers=UNAUTHORIZED_HEADERS, media_type="text/plain")
    snapshot = await read_snapshot(sessionmaker, clock())
    return Response(exposition(REGISTRY, snapshot), media_type=TEXT_FORMAT)
