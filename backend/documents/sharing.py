"""Sharing, listing, fetching, keeping and removing the documents of one appointment.

Only this module (and :mod:`retention`) touches document rows. Every change writes its audit event
in the same transaction, commits, and only then tells the live pages over the appointment's
channel (``document`` events, docs/signalling.md): the database is the truth.

On SQLite every transaction holds the write lock (backend/db/engine.py), so nothing slow happens
inside one: the upload is read, inspected and stored between short transactions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.tokens import join_window
from backend.clock import Clock, system_clock
from backend.db.locks import lock_appointment
from backend.db.models import Appointment, Document, DocumentRetention
from backend.documents.inspection import inspect_upload
from backend.documents.rejections import Rejected, too_large
from backend.documents.upload import Upload
from backend.documents.vault import Vault
from backend.live import LivePages, NoLivePages
from backend.settings import Settings
from backend.timefmt import iso_local

INSPECTIONS_AT_ONCE = 2
"""Decoding a 30-megapixel photo takes ~120 MB and a core: a few at a time, the rest wait."""


@dataclass(frozen=True)
class Sharer:
    """Who acts: an official, or a participant (citizen, partner, interpreter) by their link."""

    role: str
    participant_id: UUID | None = None
    official_id: UUID | None = None

    @property
    def actor(self) -> str:
        if self.official_id is not None:
            return audit.official_actor(self.official_id)
        return f"participant:{self.participant_id}"

    @property
    def is_official(self) -> bool:
        return self.official_id is not None


def document_info(document: Document) -> dict[str, Any]:
    """How pages see a document (the ``document`` of the signalling event and of the list)."""
    sharer = document.shared_by_participant or document.shared_by_official
    if document.shared_by_official_id is not None:
        sharer_id = f"official:{document.shared_by_official_id}"
    else:
        sharer_id = str(document.shared_by_participant_id or "")
    return {
        "id": str(document.id),
        "name": document.name,
        "type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "shared_by": {
            "role": document.shared_by_role,
            "id": sharer_id,
            "name": sharer.name if sharer else "",
        },
        "shared_at": iso_local(document.created_at),
        "kept_for_case": document.kept_for_case,
        "expires_at": iso_local(document.expires_at),
    }


def default_expiry(appointment: Appointment, settings: Settings) -> dt.datetime:
    """When an unmarked document goes at the latest: when the join links stop working. (It goes
    earlier, when the official ends the call; this covers a call that is never ended.)"""
    return join_window(appointment, settings.join).closes_at


async def keep_days(session: AsyncSession, service_id: UUID, settings: Settings) -> int:
    """How long this service keeps a document marked for the case: its own rule, at most the
    configured maximum; 0 means marking is off."""
    days = await session.scalar(
        select(DocumentRetention.keep_days).where(DocumentRetention.service_id == service_id)
    )
    ceiling = settings.documents.keep_days
    return ceiling if days is None else max(0, min(days, ceiling))


class Documents:
    """The documents service of one app (or worker) process."""

    def __init__(
        self, settings: Settings, vault: Vault, live: LivePages | None = None, *, clock: Clock = system_clock
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.vault = vault
        self.live: LivePages = live or NoLivePages()
        self._inspections = asyncio.Semaphore(INSPECTIONS_AT_ONCE)

    # -- reading -----------------------------------------------------------------------------------

    async def list_for(self, session: AsyncSession, appointment_id: UUID) -> list[Document]:
        rows = await session.scalars(
            select(Document)
            .where(Document.appointment_id == appointment_id)
            .order_by(Document.created_at, Document.id)
        )
        return list(rows.unique())

    async def find(self, session: AsyncSession, appointment_id: UUID, document_id: UUID) -> Document | None:
        """The document if it belongs to this appointment (a document id alone opens nothing)."""
        document = await session.get(Document, document_id, populate_existing=True)
        if document is None or document.appointment_id != appointment_id:
            return None
        return document

    async def content(self, document: Document) -> bytes:
        return await self.vault.get(document.id, document.storage_key, document.wrapped_key)

    # -- sharing ---------------------------------------------------------------------------------

    async def share(
        self, session: AsyncSession, appointment_id: UUID, sharer: Sharer, upload: Upload, *, origin: str
    ) -> Document:
        """Inspect, encrypt, store and record one upload; :class:`Rejected` says why not."""
        limits = self.settings.documents
        if upload.truncated:
            raise too_large(limits.max_bytes)
        # A cheap look first, so a full appointment does not cost an inspection; checked again
        # under the lock below, where it counts.
        await self._check_room(session, appointment_id, lock=False)
        await session.commit()
        async with self._inspections:
            inspected = await asyncio.to_thread(inspect_upload, upload.filename, upload.data, limits)
        document_id = uuid.uuid4()
        sealed = await self.vault.put(document_id, inspected.content)
        try:
            appointment = await self._check_room(session, appointment_id, lock=True)
            document = Document(
                id=document_id,
                appointment_id=appointment_id,
                shared_by_role=sharer.role,
                shared_by_participant_id=sharer.participant_id,
                shared_by_official_id=sharer.official_id,
                name=inspected.name,
                content_type=inspected.content_type.value,
                size=len(inspected.content),
                sha256=inspected.sha256,
                storage_key=sealed.storage_key,
                wrapped_key=sealed.wrapped_key,
                expires_at=default_expiry(appointment, self.settings),
            )
            session.add(document)
            audit.document_shared(session, sharer.actor, document, appointment.municipality_id, origin)
            await session.commit()
        except BaseException:
            await session.rollback()
            await self.vault.delete(sealed.storage_key)  # no row, no file
            raise
        document = await self._reload(session, document_id)
        await self._tell(appointment_id, "added", document_info(document))
        return document

    async def _check_room(self, session: AsyncSession, appointment_id: UUID, *, lock: bool) -> Appointment:
        if lock:
            appointment = await lock_appointment(session, appointment_id)
        else:
            appointment = await session.scalar(select(Appointment).where(Appointment.id == appointment_id))
        if appointment is None or not appointment.is_active:
            raise Rejected("appointment_over", status=409)
        count = await session.scalar(
            select(func.count()).select_from(Document).where(Document.appointment_id == appointment_id)
        )
        limit = self.settings.documents.max_per_appointment
        if (count or 0) >= limit:
            raise Rejected("too_many", status=409, count=limit)
        return appointment

    async def _reload(self, session: AsyncSession, document_id: UUID) -> Document:
        document = await session.get(Document, document_id, populate_existing=True)
        await session.commit()
        if document is None:  # just committed; only the purge deletes, and not this soon
            raise RuntimeError(f"document {document_id} is gone right after it was shared")
        return document

    # -- keeping and removing ---------------------------------------------------------------------

    async def keep(
        self,
        session: AsyncSession,
        appointment: Appointment,
        document: Document,
        official_id: UUID,
        *,
        keep: bool,
        origin: str,
    ) -> Document:
        """Mark (or unmark) "bewaren voor de zaak": kept until now + the service's days."""
        days = await keep_days(session, appointment.service_id, self.settings)
        if keep and days <= 0:
            raise Rejected("keep_not_allowed", status=409)
        now = self.clock()
        document.kept_for_case = keep
        document.kept_at = now if keep else None
        document.kept_by_official_id = official_id if keep else None
        document.expires_at = (
            now + dt.timedelta(days=days) if keep else default_expiry(appointment, self.settings)
        )
        audit.document_kept(
            session, audit.official_actor(official_id), document, appointment.municipality_id, origin
        )
        await session.commit()
        await self._tell(appointment.id, "updated", document_info(document))
        return document

    async def remove(
        self,
        session: AsyncSession,
        appointment: Appointment,
        document: Document,
        sharer: Sharer,
        *,
        origin: str,
    ) -> None:
        """Delete a document before its time: officials any of the appointment's, participants
        only their own (else :class:`Rejected` ``not_yours``)."""
        if not sharer.is_official and document.shared_by_participant_id != sharer.participant_id:
            raise Rejected("not_yours", status=403)
        audit.document_deleted(
            session, sharer.actor, document, appointment.municipality_id, reason="removed", origin=origin
        )
        await session.delete(document)
        await session.commit()
        await self.vault.delete(document.storage_key)  # after the commit: a leftover is an orphan
        await self._tell(appointment.id, "removed", {"id": str(document.id)})

    async def _tell(self, appointment_id: UUID, action: str, info: dict[str, Any]) -> None:
        await self.live.document_changed(appointment_id, action, info)
