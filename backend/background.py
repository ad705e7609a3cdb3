"""Background loops that run beside the web app (outbox, retention, housekeeping)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final, Protocol

from litestar import Litestar

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


class Loop(Protocol):
    """A background loop: runs until :meth:`stop` (outbox worker, housekeeper, document purger)."""

    async def run_forever(self) -> None: ...

    def stop(self) -> None: ...


Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def loop_lifespan(name: str, loop: Loop | None) -> Lifespan:
    """Runs ``loop`` as a task while the app runs and stops it gracefully; None: nothing to run
    (this process does not run that loop, ``balie worker`` does)."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if loop is None:
            yield
            return
        task = asyncio.create_task(loop.run_forever(), name=name)
        try:
            yield
        finally:
            await stop_gracefully(loop.stop, task)

    return lifespan
