"""The worker loop that asks the provider about payments still open: a webhook that never came
(the app was down, the network dropped it) is caught up within a round, and payments open too long
are given up (docs/adr/0015-payments.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import background_failed
from backend.payments.service import Payments

log = logging.getLogger(__name__)


class PaymentReconciler:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], payments: Payments, *, poll_seconds: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._payments = payments
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_forever(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception as exc:
                background_failed("payment reconciliation", exc, log)  # the database is away: next poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def run_once(self, *, settled_after_seconds: float = 30.0) -> int:
        async with self._sessionmaker() as session:
            moved = await self._payments.reconcile(session, settled_after_seconds=settled_after_seconds)
        if moved:
            log.info("reconciled %d payment(s) with the provider", moved)
        return moved
