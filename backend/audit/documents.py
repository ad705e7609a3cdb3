"""Documents shared in a call: shared, downloaded, kept for the case, deleted, or refused.

Type, size and hash identify a document in the trail, also when it is deleted (purged or removed):
the hash says which document went, and can be compared with a copy, after the document itself is
gone. Never its name: a file name is free text from a citizen ("paspoort Fatima de Vries.pdf").
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit._writer import _record
from backend.db.models import Document


def _document_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    document: Document,
    municipality_id: UUID | None,
    origin: str = "",
    **details: Any,
) -> None:
    _record(
        session,
        actor=actor,
        action=action,
        object_type="document",
        object_id=document.id,
        municipality_id=municipality_id,
        origin=origin,
        details={
            "appointment": str(document.appointment_id),
            "type": document.content_type,
            "size": document.size,
            "sha256": document.sha256,
            **details,
        },
    )


def document_shared(
    session: AsyncSession, actor: str, document: Document, municipality_id: UUID, origin: str
) -> None:
    _document_event(
        session,
        actor=actor,
        action="document.shared",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
        by=document.shared_by_role,
    )


def document_downloaded(
    session: AsyncSession, actor: str, document: Document, municipality_id: UUID, origin: str
) -> None:
    _document_event(
        session,
        actor=actor,
        action="document.downloaded",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
    )


def document_kept(
    session: AsyncSession, actor: str, document: Document, municipality_id: UUID, origin: str
) -> None:
    _document_event(
        session,
        actor=actor,
        action="document.kept" if document.kept_for_case else "document.unkept",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
        expires_at=document.expires_at.isoformat(),
    )


def document_deleted(
    session: AsyncSession,
    actor: str,
    document: Document,
    municipality_id: UUID | None,
    *,
    reason: str,
    origin: str = "",
) -> None:
    """``reason``: ``removed`` (by a participant or official), ``call_ended`` or ``expired`` (the
    retention worker, actor ``system``)."""
    _document_event(
        session,
        actor=actor,
        action="document.removed" if reason == "removed" else "document.purged",
        document=document,
        municipality_id=municipality_id,
        origin=origin,
        reason=reason,
    )


async def document_refused(
    session: AsyncSession, actor: str, appointment_id: UUID, municipality_id: UUID, code: str, origin: str
) -> None:
    """An upload was refused (the reason code only: nothing of the file). Commits on its own."""
    _record(
        session,
        actor=actor,
        action="document.refused",
        object_type="appointment",
        object_id=appointment_id,
        municipality_id=municipality_id,
        result="refused",
        origin=origin,
        details={"reason": code},
    )
    await session.commit()
