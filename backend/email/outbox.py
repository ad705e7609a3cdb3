"""Put an email in the outbox, inside the caller's transaction.

The row is written in the same transaction as the booking that caused it, so either both are stored
or neither is; the worker (:mod:`backend.email.worker`) sends it after the commit. One logical email
is one row, identified by its idempotency key: enqueueing the same key again returns the row that is
already there, and the Message-ID is derived from the key so every retry is the same message.

The rendered message holds join and manage links, so it is sealed (AES-GCM, :mod:`backend.crypto`)
with a key derived from the app's secret key while it waits, and wiped once it is sent or given up:
the database never holds a usable token in clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import system_clock
from backend.crypto import Keyring
from backend.db.models import OutboxMessage, OutboxStatus
from backend.settings import Settings

_DEFAULT_DOMAIN = "digitale-balie"
_SUBJECT_MAX = 300


@cache
def _derived_keyring(secret: str) -> Keyring:
    return Keyring.derived(secret, "outbox-message")


def outbox_keyring(settings: Settings) -> Keyring:
    """The keyring that seals waiting messages (derived from ``BALIE_SECRET_KEY``)."""
    return _derived_keyring(settings.secret_key.reveal())


def message_context(key: str) -> bytes:
    """Associated data for a sealed message: it opens only as the row of its own key."""
    return f"outbox:{key}".encode()


def message_id_for(key: str, sender: str | None = None) -> str:
    """A stable Message-ID for one idempotency key: ``<sha256-prefix@sender-domain>``."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    domain = parseaddr(sender or "")[1].rpartition("@")[2] or _DEFAULT_DOMAIN
    return f"<{digest}@{domain}>"


def freeze(message: EmailMessage, key: str, now: dt.datetime) -> bytes:
    """Fix the headers a retry must not change, and serialise with CRLF line endings for SMTP."""
    del message["Message-ID"]
    message["Message-ID"] = message_id_for(key, message["From"])
    if message["Date"] is None:
        message["Date"] = format_datetime(now)
    return message.as_bytes(policy=policy.SMTP)


async def _existing(session: AsyncSession, key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    recipient: str,
    message: EmailMessage,
    keyring: Keyring,
    meta: dict[str, str] | None = None,
    kind: str = "",
    appointment_id: UUID | None = None,
    send_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> OutboxMessage:
    """Add ``message`` to the outbox in the session's transaction (the caller commits).

    Returns the new row, or the row already stored under ``key``: the same key twice sends one email.
    ``message`` gets its final Message-ID (from the key) and a Date header, then is stored sealed.
    ``send_at`` delays it; ``kind`` and ``appointment_id`` let later changes find it.
    """
    if not key or len(key) > 120:
        raise ValueError("idempotency key must be 1 to 120 characters")
    # The lookup also flushes the caller's pending rows, so their errors surface here, outside
    # the savepoint below, and are not mistaken for a duplicate key.
    found = await _existing(session, key)
    if found is not None:
        return found
    now = now or system_clock()
    row = OutboxMessage(
        idempotency_key=key,
        recipient=recipient,
        subject=str(message["Subject"] or "")[:_SUBJECT_MAX],
        mime=keyring.seal(freeze(message, key, now), context=message_context(key)),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=max(now, send_at) if send_at else now,
        last_error="",
        meta=dict(meta or {}),
        kind=kind,
        appointment_id=appointment_id,
    )
    return await _add_once(session, row)


async def enqueue_request(
    session: AsyncSession,
    *,
    key: str,
    recipient: str,
    subject: str,
    request: dict[str, str],
    keyring: Keyring,
    kind: str,
    appointment_id: UUID | None,
    send_at: dt.datetime,
) -> OutboxMessage:
    """Queue an email to be rendered when it is sent (a reminder): ``request`` says which and for whom.

    The request can hold tokens, so it is sealed like a rendered message. ``subject`` is only what
    the outbox shows; the email gets its real subject when it is rendered.
    """
    if not key or len(key) > 120:
        raise ValueError("idempotency key must be 1 to 120 characters")
    found = await _existing(session, key)
    if found is not None:
        return found
    row = OutboxMessage(
        idempotency_key=key,
        recipient=recipient,
        subject=subject[:_SUBJECT_MAX],
        mime=keyring.seal(json.dumps(request).encode(), context=message_context(key)),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=send_at,
        last_error="",
        meta={},
        kind=kind,
        appointment_id=appointment_id,
        deferred=True,
    )
    return await _add_once(session, row)


async def _add_once(session: AsyncSession, row: OutboxMessage) -> OutboxMessage:
    """Insert ``row`` in a savepoint; when a concurrent transaction stored its key first, return that
    row instead. The unique index on the key is the guarantee; only the savepoint is rolled back,
    never the caller's own work."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = await _existing(session, row.idempotency_key)
        if found is None:
            raise
        return found
    return row
