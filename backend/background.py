"""Background loops that run beside the web app (outbox, retention, housekeeping)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

STOP_TIMEOUT: Final = 10.0


async def stop_gracefully(stop: Callable[[], None], task: asyncio.Task[None]) -> None:
    """Ask a loop to stop after the round it is in (``stop``); cancel it if that takes longer than
    ``STOP_TIMEOUT`` seconds, so a shutdown never hangs on a mail server or a database that is away."""
    stop()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=STOP_TIMEOUT)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
