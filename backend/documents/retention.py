"""The retention worker: documents go when their time is up, and the trail says which went.

Due are the documents whose ``expires_at`` has passed and the unmarked documents of appointments
that are over (completed, no-show, cancelled): "deleted when the call ends". It runs beside the
outbox worker, in the web process by default and in ``balie worker``; the desk wakes it when an
official ends a call, so the documents go at once rather than at the next poll. Several workers may
run: on PostgreSQL each claims its rows with ``FOR UPDATE SKIP LOCKED``.

Each purge deletes the row with an audit event (type, size and hash; never its name or content) in
one transaction, then the file. Files that have no row (a crash between storing and committing, or
between that commit and the file's deletion) are swept after an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import audit
from backend.clock import Clock, system_clock
from backend.db.models import Appointment, Document
from backend.db.models.appointment import ACTIVE_STATUSES
from backend.documents.vault import Vault
from backend.errors import background_failed
from backend.live import LivePages, NoLivePages

log = logging.getLogger(__name__)

BATCH: Final = 100
ORPHAN_AGE: Final = dt.timedelta(hours=1)
"""An upload is stored a moment before its row commits; a file this old without a row is an orphan."""


@dataclass(frozen=True)
class Purged:
    document_id: UUID
    appointment_id: UUID
    reason: str
    """``call_ended`` (unmarked, the appointment is over) or ``expired`` (``expires_at`` passed)."""


class DocumentPurger:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        vault: Vault,
        *,
        poll_seconds: float,
        live: LivePages | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._vault = vault
        self._poll = poll_seconds
        self._live: LivePages = live or NoLivePages()
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Purge now (e.g. right after a call ended) instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_forever(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                purged = await self.run_once()
            except Exception as exc:
                background_failed("document purge", exc, log)  # the database is away: next poll
                purged = []
            if len(purged) >= BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def run_once(self) -> list[Purged]:
        """Purge one batch of due documents and sweep orphaned files; returns what was purged."""
        now = self._clock()
        purged = await self._purge_due(now)
        for item in purged:
            await self._live.document_changed(item.appointment_id, "removed", {"id": str(item.document_id)})
        swept = await self._sweep_orphans(now - ORPHAN_AGE)
        if purged or swept:
            log.info("purged %d document(s), swept %d orphaned file(s)", len(purged), swept)
        return purged

    async def _purge_due(self, now: dt.datetime) -> list[Purged]:
        """Rows and audit events go in one commit, the files right after: a failed commit leaves
        everything as it was, and a file left behind by a crash has no row, so the orphan sweep
        takes it."""
        keys: list[str] = []
        async with self._sessionmaker() as session, session.begin():
            query = (
                select(Document, Appointment.municipality_id, Appointment.status)
                .join(Appointment, Appointment.id == Document.appointment_id)
                .where(
                    or_(
                        Document.expires_at <= now,
                        and_(Document.kept_for_case.is_(False), Appointment.status.not_in(ACTIVE_STATUSES)),
                    )
                )
                .order_by(Document.expires_at)
                .limit(BATCH)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=Document)
            rows = (await session.execute(query)).unique().all()
            purged: list[Purged] = []
            for document, municipality_id, status in rows:
                call_ended = status not in ACTIVE_STATUSES and not document.kept_for_case
                reason = "call_ended" if call_ended else "expired"
                audit.document_deleted(session, "system", document, municipality_id, reason=reason)
                purged.append(Purged(document.id, document.appointment_id, reason))
                keys.append(document.storage_key)
                await session.delete(document)
        for key in keys:
            await self._vault.delete(key)
        return purged

    async def _sweep_orphans(self, before: dt.datetime) -> int:
        keys = await self._vault.store.stored_before(before)
        if not keys:
            return 0
        orphans: list[str] = []
        async with self._sessionmaker() as session, session.begin():
            for chunk in _chunks(keys, 500):
                known = set(
                    await session.scalars(select(Document.storage_key).where(Document.storage_key.in_(chunk)))
                )
                orphans.extend(key for key in chunk if key not in known)
        for key in orphans:
            await self._vault.delete(key)
        return len(orphans)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
