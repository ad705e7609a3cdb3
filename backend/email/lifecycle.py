"""Start and stop the development SMTP sink and the in-process outbox worker with the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from backend.background import stop_gracefully
from backend.email.dev_sink import DevMailbox
from backend.email.worker import OutboxWorker
from backend.settings import Settings

log = logging.getLogger(__name__)


async def _start_sink(settings: Settings) -> DevMailbox | None:
    if not settings.email.dev_sink:
        return None
    if not settings.development:
        # The mailbox shows live join links to anyone who can reach it.
        log.warning("dev mailbox requested in production: not started")
        return None
    sink = DevMailbox(port=settings.email.smtp_port, server_hostname=settings.email.local_hostname)
    try:
        await sink.astart()
    except Exception as exc:
        log.warning(
            "dev mailbox could not listen on 127.0.0.1:%d (%s); is another instance running?",
            settings.email.smtp_port,
            type(exc).__name__,
        )
        return None
    log.info("dev mailbox listening on smtp://127.0.0.1:%d, see /dev/mailbox", settings.email.smtp_port)
    return sink


@asynccontextmanager
async def email_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Needs ``app.state.settings`` and ``app.state.sessionmaker``.

    Sets ``app.state.dev_mailbox`` (:class:`DevMailbox` or None) and ``app.state.outbox_worker``
    (:class:`OutboxWorker` or None); call ``app.state.outbox_worker.wake()`` after a commit that
    queued mail to send it without waiting for the next poll.
    """
    settings: Settings = app.state.settings
    sink = await _start_sink(settings)
    app.state.dev_mailbox = sink
    worker: OutboxWorker | None = None
    task: asyncio.Task[None] | None = None
    if settings.worker.in_process:
        worker = OutboxWorker(app.state.sessionmaker, settings)
        task = asyncio.create_task(worker.run_forever(), name="outbox-worker")
    app.state.outbox_worker = worker
    try:
        yield
    finally:
        if worker is not None and task is not None:
            await stop_gracefully(worker.stop, task)
        app.state.outbox_worker = None
        if sink is not None:
            await sink.astop()
        app.state.dev_mailbox = None
