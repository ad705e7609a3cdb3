"""Send what the outbox holds: claim due rows with a lease, send them, record the outcome.

Several workers (threads of one process, or processes on several nodes) can run side by side:

- Claiming happens in its own committed transaction. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets
  each worker take different rows without waiting; on SQLite every transaction starts with
  ``BEGIN IMMEDIATE`` (see :mod:`backend.db.engine`), so claims simply take turns. A claimed row
  carries a lease (``locked_until``) and nobody else touches it until the lease ends.
- The lease is short (30 s) and renewed while the batch is being sent: a heartbeat moves the
  ``locked_until`` of the rows the worker still holds on, every third of the lease, in its own short
  transaction. A worker that dies without giving its rows back (SIGKILL, the machine gone) stops
  renewing, so its rows go to another worker within half a minute, however long a living worker's
  batch takes. A row is the worker's as long as it carries the exact ``locked_until`` the worker
  wrote last: whoever claims a row after its lease ran out writes a later moment.
- A worker only sends while its lease is comfortably valid (at least a third of it left), and marks
  each row sent in its own commit right after the SMTP server accepted it. A renewal that fails ends
  the batch (the rest is given back), and a message still on its way when only a sixth of the lease
  is left is cut off, before another worker may take the row. If the process dies between the
  server's acceptance and the commit, or the server's answer to a message that was cut off never
  came, the row is sent again; the Message-ID is the same, so mail clients show it once.
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Final
from uuid import UUID

import aiosmtplib
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import Clock, system_clock
from backend.crypto import SealError
from backend.db.models import OutboxMessage, OutboxStatus
from backend.email.messages import outgoing_bytes
from backend.errors import background_failed
from backend.metrics import email_outcome
from backend.settings import Settings

log = logging.getLogger(__name__)

LEASE_SECONDS: Final = 30.0
"""How long claimed rows stay a worker's without a renewal (renewed every third of it)."""


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


@dataclass(eq=False)
class _Lease:
    """One claimed batch: which of its rows the worker still holds, and until when."""

    batch: list[Claimed]
    held: set[UUID]
    """Rows still ours and not done with (sent, failed, cancelled or given back)."""
    token: dt.datetime
    """The ``locked_until`` our rows carry now. A row with another value is no longer ours: another
    worker claims a row only after its lease ran out, and writes a later moment."""
    ends: float
    """Loop time (monotonic) when the lease runs out: from the start of the last successful claim or
    renewal (the moment written was read after it, so the lease really lasts at least this long)."""
    lost: bool = False
    """A renewal failed: the batch sends nothing more."""
    sending: asyncio.Timeout | None = None
    """The cut-off of the message on its way to the server now; each renewal moves it on."""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by the renewal and by every read or write that checks ``token``, so that the token
    never changes in between."""


class _LeaseRunningOut(Exception):
    """A message was still on its way when only a sixth of the lease was left (no renewals)."""


class OutboxWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        lease_seconds: float = LEASE_SECONDS,
        renew_seconds: float | None = None,
        smtp_timeout: float = 30.0,
        backoff_base: float = 30.0,
        backoff_cap: float = 3600.0,
        probe_seconds: float = 2.0,
        outage_cap: float = 15.0,
        clock: Clock = system_clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._lease_seconds = lease_seconds
        self._lease = dt.timedelta(seconds=lease_seconds)
        # Renewed every third of the lease, so one late renewal still leaves a third of it.
        self._renew_seconds = lease_seconds / 3 if renew_seconds is None else renew_seconds
        if not 0 < self._renew_seconds <= lease_seconds / 3:
            raise ValueError("the lease must be renewed at least every third of lease_seconds")
        # A message goes to the server only while a third of the lease is left, and one still on
        # its way when a sixth is left is cut off: after the lease another worker may take the row.
        # While renewals succeed, neither happens (after each one a whole lease is left).
        self._send_margin = lease_seconds / 3
        self._cut_off = lease_seconds / 6
        self._smtp_timeout = smtp_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._clock = clock
        self._wake = asyncio.Event()
        self._probe_seconds = probe_seconds
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
            except Exception as exc:
                # A database or network hiccup: told once, and tried again at the next poll.
                background_failed("outbox run", exc, log)
                sent = 0
            if sent >= self._settings.worker.batch_size or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.worker.poll_seconds)

    async def run_once(self) -> int:
        """Send one batch of due messages; returns how many the SMTP server accepted."""
        if self.server_retry_at is not None and self._clock() < self.server_retry_at:
            return 0  # the server was down a moment ago: a wake() per booking must not hammer it
        lease = await self._claim()
        if lease is None:
            return 0
        heartbeat = asyncio.create_task(self._keep(lease), name="outbox-lease")
        try:
            return await self._send_claimed(lease)
        except asyncio.CancelledError:
            # The worker is stopping (its task cancelled at shutdown): give back what it held at
            # once, instead of leaving the rows locked until the lease ends. Rows already sent are
            # no longer pending and are not claimed again.
            await asyncio.shield(self._release(lease, lease.batch))
            raise
        finally:
            # The heartbeat is told to stop, not cancelled: a renewal under way ends its transaction
            # first (a session cancelled mid-query may keep SQLite's write lock, see connection.unbroken).
            lease.done.set()
            await heartbeat

    async def _send_claimed(self, lease: _Lease) -> int:
        smtp = self._smtp()
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._postpone(lease, exc)
            return 0
        self._outages, self.server_retry_at = 0, None
        try:
            return await self._send_batch(smtp, lease)
        finally:
            await _close(smtp)

    # -- claiming --------------------------------------------------------------------------------

    async def _claim(self) -> _Lease | None:
        started = asyncio.get_running_loop().time()
        now = self._clock()
        token = now + self._lease
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
                row.locked_until = token
            batch = [
                Claimed(row.id, row.idempotency_key, row.recipient, row.mime, row.attempts, row.deferred)
                for row in rows
            ]
        if not batch:
            return None
        return _Lease(batch, {item.id for item in batch}, token, started + self._lease_seconds)

    async def _keep(self, lease: _Lease) -> None:
        """The heartbeat: renew the lease every ``renew_seconds`` until the batch is done. A renewal
        that fails (the database is away) loses the lease: the batch sends nothing more."""
        while True:
            try:
                await asyncio.wait_for(lease.done.wait(), timeout=self._renew_seconds)
                return
            except TimeoutError:
                pass
            try:
                await self._renew(lease)
            except Exception as exc:
                lease.lost = True
                log.warning(
                    "outbox lease could not be renewed (%s); the batch stops, %d message(s) wait",
                    type(exc).__name__,
                    len(lease.held),
                )
                return

    async def _renew(self, lease: _Lease) -> None:
        """Move the lease of the rows still held on, in one short transaction. Only rows that still
        carry our ``token`` are renewed; the others are no longer ours (or pending)."""
        async with lease.lock:
            if lease.done.is_set() or not lease.held:
                return
            started = asyncio.get_running_loop().time()
            token = self._clock() + self._lease
            async with self._sessionmaker() as session, session.begin():
                renewed = await session.scalars(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(list(lease.held)),
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.locked_until == lease.token,
                    )
                    .values(locked_until=token)
                    .returning(OutboxMessage.id)
                    .execution_options(synchronize_session=False)
                )
                ours = set(renewed.all())
            lease.held &= ours
            lease.token, lease.ends = token, started + self._lease_seconds
            if lease.sending is not None and not lease.sending.expired():
                lease.sending.reschedule(lease.ends - self._cut_off)

    def _may_send(self, lease: _Lease) -> bool:
        """The lease is comfortably ours: no renewal failed and at least a third of it is left."""
        return not lease.lost and asyncio.get_running_loop().time() < lease.ends - self._send_margin

    async def _release(self, lease: _Lease, items: Sequence[Claimed]) -> None:
        """Give rows back untouched, so the next run takes them without counting an attempt (only
        rows that still carry our lease: a row another worker claimed meanwhile is left alone)."""
        ids = [item.id for item in items if item.id in lease.held]
        if not ids:
            return
        async with lease.lock:
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.locked_until == lease.token)
                    .values(locked_until=None)
                )
            lease.held.difference_update(ids)

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

    async def _send_batch(self, smtp: aiosmtplib.SMTP, lease: _Lease) -> int:
        envelope_from = parseaddr(self._settings.email.sender)[1]
        batch = lease.batch
        sent = 0
        for index, item in enumerate(batch):
            if not self._may_send(lease):
                # A renewal failed or is late: the rest waits for the next run (or the lease's end).
                await self._release(lease, batch[index:])
                break
            if not await self._still_ours(lease, item):
                continue  # cancelled since the claim (a reminder of a cancelled appointment), or not ours
            try:
                mime = await self._outgoing(item)
            except SealError as exc:
                await self._record_failure(lease, item, exc)  # the secret key changed: it never will open
                continue
            if mime is None:
                await self._mark_cancelled(item)  # the appointment no longer runs, or changed
                lease.held.discard(item.id)
                continue
            try:
                await self._hand_over(smtp, lease, envelope_from, item, mime)
            except _LeaseRunningOut:
                # No renewal for most of the lease, and this message still on its way: stop before
                # another worker may take the rows. Not the message's fault: no attempt is counted.
                log.warning("outbox lease ran out while sending %s; the batch stops", item.id)
                smtp.close()
                await self._release(lease, batch[index:])
                break
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self._record_failure(lease, item, exc)
                if _answered(exc) and smtp.is_connected:
                    continue  # the server refused this one message; the session is still usable
                # The connection is gone or out of step: leave the rest for the next run rather
                # than charging each of them an attempt for one broken connection.
                smtp.close()
                await self._release(lease, batch[index + 1 :])
                break
            await self._mark_sent(item)
            lease.held.discard(item.id)
            sent += 1
        return sent

    async def _hand_over(
        self, smtp: aiosmtplib.SMTP, lease: _Lease, envelope_from: str, item: Claimed, mime: bytes
    ) -> None:
        """Send one message, cut off a sixth of the lease before its end (renewals move that on)."""
        cut_off = asyncio.timeout_at(lease.ends - self._cut_off)
        lease.sending = cut_off
        try:
            async with cut_off:
                await smtp.sendmail(envelope_from, [item.recipient], mime)
        except (aiosmtplib.SMTPException, OSError):
            if cut_off.expired():
                raise _LeaseRunningOut from None
            raise
        finally:
            lease.sending = None

    async def _still_ours(self, lease: _Lease, item: Claimed) -> bool:
        """The row is still pending (not cancelled since the claim) and still carries our lease."""
        async with lease.lock:
            if item.id not in lease.held:
                return False
            async with self._sessionmaker() as session:
                row = (
                    await session.execute(
                        select(OutboxMessage.status, OutboxMessage.locked_until).where(
                            OutboxMessage.id == item.id
                        )
                    )
                ).one_or_none()
                await session.commit()
            ours = row is not None and row.status == OutboxStatus.PENDING and row.locked_until == lease.token
            if not ours:
                lease.held.discard(item.id)
            return ours

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
        email_outcome("sent")  # the server accepted it (balie_email_sends_total)
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

    async def _postpone(self, lease: _Lease, exc: BaseException) -> None:
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
            len(lease.batch),
            wait.total_seconds(),
        )
        async with lease.lock:
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(list(lease.held)), OutboxMessage.locked_until == lease.token)
                    .values(locked_until=None, last_error=_describe(exc)[:2000])
                )
            lease.held.clear()

    def outage_wait(self, outages: int) -> float:
        """Seconds until the server is tried again after ``outages`` failures in a row: a probe of
        one connection, soon (2 s) and then at most every :attr:`outage_cap` (15 s), so a server
        that is back is noticed within seconds; the messages' own backoff is not involved."""
        return min(self._outage_cap, self._probe_seconds * 2.0 ** max(outages - 1, 0))

    async def _record_failure(self, lease: _Lease, item: Claimed, exc: BaseException) -> None:
        attempts = item.attempts + 1
        gave_up = _permanent(exc) or attempts >= self._settings.worker.max_attempts
        email_outcome("failed" if gave_up else "deferred")
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
        async with lease.lock:  # only while the row is still ours (see _release)
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == item.id, OutboxMessage.locked_until == lease.token)
                    .values(**values)
                )
            lease.held.discard(item.id)

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
