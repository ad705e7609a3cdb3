"""Health checks for load balancers and compose: ``/healthz`` (can this node serve?) and
``/livez`` (is the process alive?).

``/healthz`` asks the database, so that a node whose database is gone is taken out of the load
balancer instead of answering every visitor with an error; it answered 200 through an outage
before. ``/livez`` does not, so that an orchestrator does not restart nodes that can do nothing
about a database outage.
"""

from __future__ import annotations

import asyncio

import structlog
from litestar import Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import UNAVAILABLE_RETRY_SECONDS
from backend.web import NO_STORE

log = structlog.get_logger()

DATABASE_WITHIN_SECONDS = 2.0


@get("/healthz", include_in_schema=False, cache_control=NO_STORE)
async def healthz(sessionmaker: async_sessionmaker[AsyncSession]) -> Response[dict[str, str]]:
    try:
        async with asyncio.timeout(DATABASE_WITHIN_SECONDS), sessionmaker() as db:
            await db.execute(text("SELECT 1"))
    except Exception as exc:  # unreachable, refused, too slow: all mean "not now"
        log.warning("health check: database unavailable", error=type(exc).__name__)
        return Response(
            {"status": "unavailable", "database": "unavailable"},
            status_code=503,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
        )
    return Response({"status": "ok", "database": "ok"})


@get("/livez", include_in_schema=False, cache_control=NO_STORE)
async def livez() -> dict[str, str]:
    return {"status": "ok"}
