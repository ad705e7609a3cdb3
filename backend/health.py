"""Health checks for load balancers and compose: ``/readyz`` (can this node serve, live events
included?), ``/healthz`` (does its database answer?) and ``/livez`` (is the process alive?).

``/readyz`` asks the database and the channels backend (Redis or PostgreSQL LISTEN/NOTIFY), so that
a node that cannot reach either is taken out of the load balancer instead of answering visitors
with errors or pages that never hear of a change. ``/healthz`` asks the database only (it answered
200 through an outage before). ``/livez`` asks nothing, so that an orchestrator does not restart
nodes that can do nothing about an outage.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

import structlog
from litestar import Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import UNAVAILABLE_RETRY_SECONDS
from backend.web import NO_STORE

log = structlog.get_logger()

DATABASE_WITHIN_SECONDS = 2.0
CHANNELS_WITHIN_SECONDS = 2.0


@runtime_checkable  # Litestar checks the injected value against it
class ChannelsProbe(Protocol):
    """The channels backend of this node (signalling.hub.LiveChannels): ``ping`` raises when it
    does not answer."""

    async def ping(self) -> None: ...


async def database_answers(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the database answers ``SELECT 1`` within :data:`DATABASE_WITHIN_SECONDS`."""
    try:
        async with asyncio.timeout(DATABASE_WITHIN_SECONDS), sessionmaker() as db:
            await db.execute(text("SELECT 1"))
    except Exception as exc:  # unreachable, refused, too slow: all mean "not now"
        log.warning("health check: database unavailable", error=type(exc).__name__)
        return False
    return True


async def channels_answer(channels: ChannelsProbe) -> bool:
    """Whether the channels backend answers within :data:`CHANNELS_WITHIN_SECONDS`."""
    try:
        async with asyncio.timeout(CHANNELS_WITHIN_SECONDS):
            await channels.ping()
    except Exception as exc:
        log.warning("health check: channels unavailable", error=type(exc).__name__)
        return False
    return True


def _answer(parts: dict[str, bool]) -> Response[dict[str, str]]:
    """200 with each part ``ok``, or 503 naming the part that is ``unavailable`` (no hosts, no errors)."""
    body = {name: "ok" if up else "unavailable" for name, up in parts.items()}
    if all(parts.values()):
        return Response({"status": "ok", **body})
    return Response(
        {"status": "unavailable", **body},
        status_code=503,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
    )


@get("/healthz", include_in_schema=False, cache_control=NO_STORE)
async def healthz(sessionmaker: async_sessionmaker[AsyncSession]) -> Response[dict[str, str]]:
    return _answer({"database": await database_answers(sessionmaker)})


@get("/readyz", include_in_schema=False, cache_control=NO_STORE)
async def readyz(
    sessionmaker: async_sessionmaker[AsyncSession], channels_probe: ChannelsProbe
) -> Response[dict[str, str]]:
    database, channels = await asyncio.gather(database_answers(sessionmaker), channels_answer(channels_probe))
    return _answer({"database": database, "channels": channels})


@get("/livez", include_in_schema=False, cache_control=NO_STORE)
async def livez() -> dict[str, str]:
    return {"status": "ok"}
