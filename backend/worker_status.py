"""``balie worker``'s own HTTP port (``BALIE_WORKER_STATUS_PORT``): ``/healthz`` and ``/metrics``.

The worker serves no web app, so this is a tiny HTTP/1.1 server on asyncio, one request per
connection: ``GET /healthz`` answers 200 while every loop of the worker (outbox, housekeeping,
document purger) runs and the database answers ``SELECT 1`` in time, else 503 naming the part that
is down; compose health-checks it with one ``urlopen``. ``GET /metrics`` answers this process's
metrics (what its outbox worker sent, deferred, failed) under the same rule as the app nodes'
``/metrics``: 404 without ``BALIE_METRICS_TOKEN``, 401 without that bearer token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import UNAVAILABLE_RETRY_SECONDS
from backend.health import database_answers
from backend.metrics import REGISTRY
from backend.metrics.endpoint import TEXT_FORMAT, may_read
from backend.metrics.scrape import exposition
from backend.settings import MonitoringSettings

log = logging.getLogger(__name__)

HEAD_LIMIT: Final = 16_384
READ_WITHIN_SECONDS: Final = 5.0
REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class WorkerStatus:
    """Answers for the worker process whose loops run as ``tasks``."""

    def __init__(
        self,
        settings: MonitoringSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        tasks: Sequence[asyncio.Task[None]],
    ) -> None:
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._tasks = tasks

    async def health(self) -> tuple[int, dict[str, str]]:
        loops = all(not task.done() for task in self._tasks)
        database = await database_answers(self._sessionmaker)
        body = {"loops": "ok" if loops else "stopped", "database": "ok" if database else "unavailable"}
        if loops and database:
            return 200, {"status": "ok", **body}
        return 503, {"status": "unavailable", **body}

    async def answer(self, method: str, path: str, authorization: str) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one request."""
        if path == "/healthz":
            if method not in ("GET", "HEAD"):
                return 405, {"Allow": "GET, HEAD"}, b""
            status, parts = await self.health()
            headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
            if status != 200:
                headers["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
            return status, headers, json.dumps(parts).encode()
        if path == "/metrics" and self._settings.metrics_token:
            if method not in ("GET", "HEAD"):
                return 405, {"Allow": "GET, HEAD"}, b""
            if not may_read(authorization, self._settings.metrics_token):
                return 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}, b""
            body = exposition(REGISTRY, with_database=False)  # the app nodes report the database's gauges
            return 200, {"Content-Type": f"{TEXT_FORMAT}; charset=utf-8", "Cache-Control": "no-store"}, body
        return 404, {}, b""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(READ_WITHIN_SECONDS):
                    head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.LimitOverrunError, asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                return
            request = _parse(head)
            headers: dict[str, str] = {}
            if request is None:
                status, body, method = 400, b"", ""
            else:
                method, path, authorization = request
                status, headers, body = await self.answer(method, path, authorization)
            lines = [
                f"HTTP/1.1 {status} {REASONS[status]}",
                f"Content-Length: {len(body)}",
                "Connection: close",
            ]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except ConnectionError:
            pass
        except Exception:  # one broken request must not stop the port
            log.exception("worker status request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _parse(head: bytes) -> tuple[str, str, str] | None:
    """(method, path without its query, Authorization header) of a request head; None if unreadable."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:
        return None
    request_line, *header_lines = text.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    method, target, _ = parts
    authorization = ""
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "authorization":
            authorization = value.strip()
    return method, target.split("?", 1)[0], authorization


@asynccontextmanager
async def serving_status(
    settings: MonitoringSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tasks: Sequence[asyncio.Task[None]],
) -> AsyncIterator[int | None]:
    """The status port while inside (its port number; None when ``BALIE_WORKER_STATUS_PORT`` is 0)."""
    if not settings.worker_status_port:
        yield None
        return
    status = WorkerStatus(settings, sessionmaker, tasks)
    server = await asyncio.start_server(
        status.handle, settings.worker_status_host, settings.worker_status_port, limit=HEAD_LIMIT
    )
    log.info("worker status on %s:%d", settings.worker_status_host, settings.worker_status_port)
    try:
        yield settings.worker_status_port
    finally:
        server.close()
        await server.wait_closed()
