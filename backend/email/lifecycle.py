"""Start and stop the development SMTP sink with the app (the outbox worker is a
:func:`backend.background.loop_lifespan`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from backend.background import Lifespan
from backend.clock import Clock, system_clock
from backend.email.dev_sink import DevMailbox
from backend.settings import Settings

log = logging.getLogger(__name__)


def dev_mailbox_for(settings: Settings, clock: Clock = system_clock) -> DevMailbox | None:
    """The development SMTP sink (not started yet), or None when it is off."""
    if not settings.email.dev_sink:
        return None
    if not settings.development:
        # The mailbox shows live join links to anyone who can reach it.
        log.warning("dev mailbox requested in production: not started")
        return None
    return DevMailbox(
        port=settings.email.smtp_port, server_hostname=settings.email.local_hostname, clock=clock
    )


def dev_mailbox_lifespan(mailbox: DevMailbox | None) -> Lifespan:
    """Listens with ``mailbox`` while the app runs. A port already taken is logged, not fatal: the
    mailbox then stays stopped and its pages answer 404."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if mailbox is None:
            yield
            return
        try:
            await mailbox.astart()
        except Exception as exc:
            log.warning(
                "dev mailbox could not listen on 127.0.0.1:%d (%s); is another instance running?",
                mailbox.port,
                type(exc).__name__,
            )
            yield
            return
        log.info("dev mailbox listening on smtp://127.0.0.1:%d, see /dev/mailbox", mailbox.port)
        try:
            yield
        finally:
            await mailbox.astop()

    return lifespan
