"""Telling a payment's webhook that it changed, as Mollie does: a form POST with only ``id=tr_...``.

The receiver learns nothing from the call but the id; it asks the API what happened (so a forged
call can do no harm). Mollie retries a failing receiver for hours; three quick retries do here.
The calls run as tasks of their own, kept here so that the app's shutdown can cancel them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import httpx
import structlog

from backend.background import Lifespan

log = structlog.get_logger()

RETRY_DELAYS: Final = (0.5, 1.0, 2.0)
"""Seconds before each retry after a failed call."""
TIMEOUT_SECONDS: Final = 10.0
USER_AGENT: Final = "Mollie HTTP client (balie dev-psp)"


class Webhooks:
    def __init__(
        self, retry_delays: tuple[float, ...] = RETRY_DELAYS, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self.retry_delays = retry_delays
        self.timeout = timeout
        self._tasks: set[asyncio.Task[bool]] = set()
        self._client: httpx.AsyncClient | None = None

    async def schedule(self, url: str, payment_id: str) -> None:
        """Start calling ``url`` about ``payment_id`` and return at once (a response's background
        task; asynchronous so that it runs on the event loop, not in a thread)."""
        self.call(url, payment_id)

    def call(self, url: str, payment_id: str) -> asyncio.Task[bool]:
        task = asyncio.create_task(self._deliver(url, payment_id), name=f"dev-psp-webhook:{payment_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settled(self) -> None:
        """Wait until every call started so far has ended (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the calls still going (the app stops) and close the HTTP client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _deliver(self, url: str, payment_id: str) -> bool:
        """True once the receiver answered 2xx; False after the last retry failed too."""
        for attempt, delay in enumerate((0.0, *self.retry_delays)):
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await self._http().post(
                    url, data={"id": payment_id}, headers={"User-Agent": USER_AGENT}
                )
            except httpx.HTTPError as error:
                log.info(
                    "dev-psp webhook failed", payment=payment_id, attempt=attempt, error=type(error).__name__
                )
                continue
            if response.is_success:
                return True
            log.info(
                "dev-psp webhook refused", payment=payment_id, attempt=attempt, status=response.status_code
            )
        log.warning("dev-psp webhook given up", payment=payment_id, url=url)
        return False

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client


def webhooks_lifespan(webhooks: Webhooks | None) -> Lifespan:
    """Cancels the webhook calls still going when the app stops; None: the provider is off."""

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if webhooks is not None:
                await webhooks.close()

    return lifespan
