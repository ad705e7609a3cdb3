"""Send what the outbox holds: claim due rows with a lease, send them, record the outcome.

Several workers (threads of one process, or processes on several nodes) can run side by side:

- Claiming happens in its own committed transaction. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets
  each worker take different rows without waiting; on SQLite every transaction starts with
  ``BEGIN IMMEDIATE`` (see :mod:`backend.db.engine`), so claims simply take turns. A claimed row
  carries a lease (``locked_until``) and nobody else touches it until the lease ends.
- A worker only sends while its lease is comfortably valid, and marks each row sent in its own
  commit right after the SMTP server accepted it. If the process dies between those two steps, the
  row is sent again after the lease; the Message-ID is the same, so mail clients show it once.
- A failure of one message counts an attempt and sets the next one with exponential backoff and
  jitter; after ``max_attempts`` (or at once for a permanent 5xx answer) the row is ``failed`` and
  logged by id. A mail server that cannot be reached counts no attempt and moves no message: the
  rows stay due, and the worker itself waits before it tries the server again (a backoff that grows
  with the outage up to ``outage_cap``, a minute), so everything goes out within that minute once
  the server answers again, however long the outage and however much mail queued meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from uuid import UUID

import aiosmtplib
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import Clock, system_clock
from backend.crypto import SealError
from backend.db.models import OutboxMessage, OutboxStatus
from backend.email.messages import outgoing_bytes
from backend.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    """What the worker needs of one claimed row, detached from any session."""

    id: UUID
    key: str
    recipient: str
    sealed: bytes
    """The message as stored: sealed with the outbox keyring (see :mod:`backend.email.outbox`)."""
    attempts: int
    deferred: bool = False
    """``sealed`` holds a render request: the email is built now (see ``render_request``)."""


class OutboxWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        lease_seconds: float = 300.0,
        smtp_timeout: float = 30.0,
        backoff_base: float = 30.0,
        backoff_cap: float = 3600.0,
        outage_cap: float = 60.0,
        clock: Clock = system_clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._lease = dt.timedelta(seconds=lease_seconds)
        # Stop sending a batch well before its lease ends: one slow SMTP exchange may take up to
        # smtp_timeout, and after the lease another worker may take the rows.
        self._send_budget = lease_seconds - 2 * smtp_timeout
        if self._send_budget <= 0:
            raise ValueError("lease_seconds must be more than twice smtp_timeout")
        self._smtp_timeout = smtp_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._clock = clock
        self._wake = asyncio.Event()
        self._outage_cap = outage_cap
        self._outages = 0
        """Connection failures in a row (see :meth:`_postpone`)."""
        self.server_retry_at: dt.datetime | None = None
        """While the server cannot be reached: when to try it again (nothing is claimed before)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    # -- running ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll (e.g. right after a booking).

        Safe to call from any thread; a no-op effect when the worker is not running.
        """
        self._signal()

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return after the batch it is sending (from any thread)."""
        self._stopping = True
        self._signal()

    def _signal(self) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)
        else:
            self._wake.set()

    async def run_forever(self) -> None:
        """Send batches until :meth:`stop`: at once while full batches come, else every poll or wake."""
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            # Cleared before the run, so a wake() that arrives during it starts the next one at once.
            self._wake.clear()
            try:
                sent = await self.run_once()
            except Exception:
                # A database or network hiccup: log it and try again at the next poll.
                log.exception("outbox run failed")
                sent = 0
            if sent >= self._settings.worker.batch_size or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.worker.poll_seconds)

    async def run_once(self) -> int:
        """Send one batch of due messages; returns how many the SMTP server accepted."""
        if self.server_retry_at is not None and self._clock() < self.server_retry_at:
            return 0  # the server was down a moment ago: a wake() per booking must not hammer it
        batch = await self._claim()
        if not batch:
            return 0
        try:
            return await self._send_claimed(batch)
        except asyncio.CancelledError:
            # The worker is stopping (its task cancelled at shutdown): give back what it held at
            # once, instead of leaving the rows locked for the whole lease. Rows already sent are
            # no longer pending and are not claimed again.
            await asyncio.shield(self._release(batch))
            raise

    async def _send_claimed(self, batch: list[Claimed]) -> int:
        deadline = time.monotonic() + self._send_budget
        smtp = self._smtp()
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._postpone(batch, exc)
            return 0
        self._outages, self.server_retry_at = 0, None
        try:
            return await self._send_batch(smtp, batch, deadline)
        finally:
            await _close(smtp)

    # -- claiming --------------------------------------------------------------------------------

    async def _claim(self) -> list[Claimed]:
        now = self._clock()
        async with self._sessionmaker() as session, session.begin():
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                )
                .order_by(OutboxMessage.next_attempt_at)
                .limit(self._settings.worker.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query)).all()
            for row in rows:
                row.locked_until = now + self._lease
            return [
                Claimed(row.id, row.idempotency_key, row.recipient, row.mime, row.attempts, row.deferred)
                for row in rows
            ]

    async def _release(self, items: Sequence[Claimed]) -> None:
        """Give rows back untouched, so the next run takes them without counting an attempt."""
        if not items:
            return
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([item.id for item in items]))
                .values(locked_until=None)
            )

    # -- sending ---------------------------------------------------------------------------------

    def _smtp(self) -> aiosmtplib.SMTP:
        email = self._settings.email
        return aiosmtplib.SMTP(
            hostname=email.smtp_host,
            port=email.smtp_port,
            local_hostname=email.local_hostname,
            start_tls=email.smtp_starttls,
            username=email.smtp_username or None,
            password=email.smtp_password.reveal() if email.smtp_username else None,
            timeout=self._smtp_timeout,
        )

    async def _send_batch(self, smtp: aiosmtplib.SMTP, batch: list[Claimed], deadline: float) -> int:
        envelope_from = parseaddr(self._settings.email.sender)[1]
        sent = 0
        for index, item in enumerate(batch):
            if time.monotonic() > deadline:
                await self._release(batch[index:])
                break
            if not await self._still_pending(item):
                continue  # cancelled since the claim (a reminder of a cancelled appointment)
            try:
                mime = await self._outgoing(item)
            except SealError as exc:
                await self._record_failure(item, exc)  # the secret key changed: it never will open
                continue
            if mime is None:
                await self._mark_cancelled(item)  # the appointment no longer runs, or changed
                continue
            try:
                await smtp.sendmail(envelope_from, [item.recipient], mime)
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self._record_failure(item, exc)
                if _answered(exc) and smtp.is_connected:
                    continue  # the server refused this one message; the session is still usable
                # The connection is gone or out of step: leave the rest for the next run rather
                # than charging each of them an attempt for one broken connection.
                smtp.close()
                await self._release(batch[index + 1 :])
                break
            await self._mark_sent(item)
            sent += 1
        return sent

    async def _still_pending(self, item: Claimed) -> bool:
        async with self._sessionmaker() as session:
            status = await session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == item.id))
            await session.commit()
        return status == OutboxStatus.PENDING

    async def _outgoing(self, item: Claimed) -> bytes | None:
        async with self._sessionmaker() as session:
            mime = await outgoing_bytes(
                session,
                key=item.key,
                sealed=item.sealed,
                deferred=item.deferred,
                settings=self._settings,
                now=self._clock(),
            )
            await session.commit()
        return mime

    async def _mark_cancelled(self, item: Claimed) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == item.id)
                .values(status=OutboxStatus.CANCELLED, mime=b"", locked_until=None)
            )

    async def _mark_sent(self, item: Claimed) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == item.id, OutboxMessage.status == OutboxStatus.PENDING)
                .values(
                    status=OutboxStatus.SENT,
                    mime=b"",  # the links in it must not outlive their delivery
                    sent_at=self._clock(),
                    attempts=item.attempts + 1,
                    locked_until=None,
                    last_error="",
                )
            )

    async def _postpone(self, batch: Sequence[Claimed], exc: BaseException) -> None:
        """The mail server cannot be reached (or refuses our login): that says nothing about the
        messages, so none is charged an attempt, none gives up and none is moved, however long it
        lasts: they stay due, and the worker waits before it tries the server again. So a
        confirmation goes out within :attr:`outage_cap` once the server is back (a reminder whose
        appointment passed meanwhile is cancelled when its turn comes). Moving the messages instead
        (as before) left mail queued during a one-minute outage waiting for up to an hour."""
        self._outages += 1
        wait = dt.timedelta(seconds=self.outage_wait(self._outages))
        self.server_retry_at = self._clock() + wait
        log.warning(
            "mail server unreachable (%s, %d time(s) in a row); %d message(s) wait, next try in %.0f s",
            type(exc).__name__,
            self._outages,
            len(batch),
            wait.total_seconds(),
        )
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([item.id for item in batch]))
                .values(locked_until=None, last_error=_describe(exc)[:2000])
            )

    def outage_wait(self, outages: int) -> float:
        """Seconds until the server is tried again after ``outages`` failures in a row."""
        return min(self._outage_cap, self._backoff_base * 2.0 ** max(outages - 1, 0))

    async def _record_failure(self, item: Claimed, exc: BaseException) -> None:
        attempts = item.attempts + 1
        gave_up = _permanent(exc) or attempts >= self._settings.worker.max_attempts
        values: dict[str, object] = {
            "attempts": attempts,
            "locked_until": None,
            "last_error": _describe(exc)[:2000],
        }
        if gave_up:
            values["status"] = OutboxStatus.FAILED
            values["mime"] = b""
            log.error(
                "outbox message %s failed for good after %d attempt(s): %s",
                item.id,
                attempts,
                type(exc).__name__,
            )
        else:
            values["next_attempt_at"] = self._clock() + dt.timedelta(seconds=self.backoff(attempts))
            log.warning("outbox message %s attempt %d failed: %s", item.id, attempts, type(exc).__name__)
        async with self._sessionmaker() as session, session.begin():
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == item.id).values(**values))

    def backoff(self, attempts: int) -> float:
        """Seconds until the next try: ``base * 2**(attempts-1)``, capped, with jitter in [50%, 100%]."""
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** max(attempts - 1, 0))
        return ceiling * random.uniform(0.5, 1.0)


def _answered(exc: BaseException) -> bool:
    """The server replied with an error code (as opposed to a timeout or a dropped connection)."""
    return isinstance(exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused)


def _permanent(exc: BaseException) -> bool:
    """A 5xx refusal of this recipient or this message: retrying would get the same answer.

    A refused *sender* is not counted: that is our configuration, and fixing it should let every
    waiting message through.
    """
    if isinstance(exc, SealError):
        return True
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(r.code >= 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return exc.code >= 500
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


async def _close(smtp: aiosmtplib.SMTP) -> None:
    if not smtp.is_connected:
        return
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()
