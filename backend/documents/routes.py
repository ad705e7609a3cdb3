"""HTTP for documents: the citizen's side (by join link) and the official's side (by desk session).

Everything answers JSON for the pages' documents panel (web/static/js/documents.js), except the
downloads, which are attachments. Refusals are ``application/problem+json`` with a ``code`` and a
text in the visitor's language. Uploads carry the CSRF token in the ``X-CSRFToken`` header.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote
from uuid import UUID

from babel.numbers import format_decimal
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, rooms
from backend.booking.tokens import join_window, participant_for_join_token
from backend.clock import Clock
from backend.crypto import SealError
from backend.db.models import Appointment, Document, Official, Participant
from backend.desk.auth import current_official
from backend.desk.pages import appointment_for_official
from backend.documents.names import ascii_fallback
from backend.documents.rejections import Rejected
from backend.documents.sharing import Documents, Sharer, document_info, keep_days
from backend.documents.storage import StoreError
from backend.documents.upload import read_upload
from backend.errors import problem
from backend.i18n import translator
from backend.settings import Settings
from backend.web import NO_STORE, default_locale_for, request_locale

log = logging.getLogger(__name__)

BABEL_LOCALES = {"nl": "nl_NL", "en": "en_GB"}
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Opened by mistake in a tab, a document may run nothing and load nothing.
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def refused(request: Request[Any, Any, Any], rejected: Rejected) -> Response[Any]:
    locale = request_locale(request)
    _ = translator(locale)
    values = {
        key: format_decimal(value, format="#,##0.#", locale=BABEL_LOCALES.get(locale, "nl_NL"))
        if isinstance(value, float)
        else value
        for key, value in rejected.values.items()
    }
    detail = _(rejected.message, **values) if values else _(rejected.message)
    return problem(rejected.status, _(rejected.title), detail, code=rejected.code)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the real name per RFC 6266 / 5987."""
    return f"attachment; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def limits(settings: Settings) -> dict[str, Any]:
    documents = settings.documents
    return {
        "max_bytes": documents.max_bytes,
        "max_count": documents.max_per_appointment,
        "types": ["application/pdf", "image/jpeg", "image/png"],
    }


async def share(
    request: Request[Any, Any, Any],
    documents: Documents,
    db: AsyncSession,
    appointment: Appointment,
    sharer: Sharer,
) -> Response[Any]:
    appointment_id, municipality_id = appointment.id, appointment.municipality_id
    await db.commit()  # nothing is held while the upload streams in
    origin = audit.origin_of(request)
    try:
        upload = await read_upload(request, documents.settings.documents.max_bytes)
        document = await documents.share(db, appointment_id, sharer, upload, origin=origin)
    except Rejected as rejected:
        await db.rollback()
        await audit.document_refused(db, sharer.actor, appointment_id, municipality_id, rejected.code, origin)
        return refused(request, rejected)
    return Response(document_info(document), status_code=201)


async def download(
    request: Request[Any, Any, Any],
    documents: Documents,
    db: AsyncSession,
    document: Document,
    actor: str,
    municipality_id: UUID,
) -> Response[bytes]:
    await db.commit()
    try:
        content = await documents.content(document)
    except StoreError:
        raise NotFoundException() from None  # purged a moment ago
    except SealError:
        log.error("document %s cannot be opened (master key missing or file changed)", document.id)
        raise
    audit.document_downloaded(db, actor, document, municipality_id, audit.origin_of(request))
    await db.commit()
    headers = {**DOWNLOAD_HEADERS, "Content-Disposition": content_disposition(document.name)}
    return Response(content, media_type=document.content_type, headers=headers)


# -- the citizen's side ------------------------------------------------------------------------------


async def participant_of_link(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, clock: Clock, token: str
) -> Participant:
    """The participant of a join link that works now; 404 otherwise (as the join pages do). Its
    answers speak the appointment's language, as the waiting room does (backend/i18n.py)."""
    participant = await participant_for_join_token(db_session, token)
    if (
        participant is None
        or not participant.appointment.is_active
        or participant.state == rooms.ENDED
        or not join_window(participant.appointment, settings.join).contains(clock())
    ):
        raise NotFoundException()
    default_locale_for(request, participant.appointment.locale)
    return participant


def _as_sharer(participant: Participant) -> Sharer:
    return Sharer(role=participant.role, participant_id=participant.id)


class CitizenDocuments(Controller):
    path = "/j/{token:str}/documenten"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"participant": Provide(participant_of_link)}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        settings: Settings,
        db_session: AsyncSession,
        participant: Participant,
    ) -> Response[Any]:
        items = await documents.list_for(db_session, participant.appointment_id)
        body = {
            "documents": [document_info(d) for d in items],
            "you": {"role": participant.role, "id": str(participant.id)},
            "limits": limits(settings),
        }
        return Response(body)

    @post("/", status_code=201)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        db_session: AsyncSession,
        participant: Participant,
    ) -> Response[Any]:
        return await share(request, documents, db_session, participant.appointment, _as_sharer(participant))

    @get("/{document_id:uuid}")
    async def download(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        db_session: AsyncSession,
        participant: Participant,
        document_id: UUID,
    ) -> Response[bytes]:
        document = await documents.find(db_session, participant.appointment_id, document_id)
        if document is None:
            raise NotFoundException()
        actor = _as_sharer(participant).actor
        return await download(
            request, documents, db_session, document, actor, participant.appointment.municipality_id
        )

    @post("/{document_id:uuid}/verwijderen", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        db_session: AsyncSession,
        participant: Participant,
        document_id: UUID,
    ) -> Response[Any]:
        document = await documents.find(db_session, participant.appointment_id, document_id)
        if document is None:
            return refused(request, Rejected("gone", status=404))
        try:
            await documents.remove(
                db_session,
                participant.appointment,
                document,
                _as_sharer(participant),
                origin=audit.origin_of(request),
            )
        except Rejected as rejected:
            return refused(request, rejected)
        return Response({"removed": str(document_id)})


# -- the official's side -----------------------------------------------------------------------------


async def _document_for_official(
    request: Request[Any, Any, Any],
    documents: Documents,
    db: AsyncSession,
    official: Official,
    appointment: Appointment,
    document_id: UUID,
) -> Document:
    document = await documents.find(db, appointment.id, document_id)
    if document is None:
        # Unknown, gone, or another appointment's: all look the same, and the attempt is recorded.
        await audit.access_denied(db, official, "document", document_id, request)
        raise NotFoundException()
    return document


def _official_sharer(official: Official) -> Sharer:
    return Sharer(role="official", official_id=official.id)


class DeskDocuments(Controller):
    path = "/balie/afspraken/{appointment_id:uuid}/documenten"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        settings: Settings,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
    ) -> Response[Any]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        items = await documents.list_for(db_session, appointment.id)
        body = {
            "documents": [document_info(d) for d in items],
            "you": {"role": "official", "id": f"official:{official.id}"},
            "limits": limits(settings),
            "keep_days": await keep_days(db_session, appointment.service_id, settings),
            "active": appointment.is_active,
        }
        return Response(body)

    @post("/", status_code=201)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
    ) -> Response[Any]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        return await share(request, documents, db_session, appointment, _official_sharer(official))

    @get("/{document_id:uuid}")
    async def download(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        document_id: UUID,
    ) -> Response[bytes]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        document = await _document_for_official(
            request, documents, db_session, official, appointment, document_id
        )
        actor = audit.official_actor(official.id)
        return await download(request, documents, db_session, document, actor, appointment.municipality_id)

    @post("/{document_id:uuid}/bewaren", status_code=200)
    async def keep(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        document_id: UUID,
        data: dict[str, Any],
    ) -> Response[Any]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        document = await _document_for_official(
            request, documents, db_session, official, appointment, document_id
        )
        try:
            document = await documents.keep(
                db_session,
                appointment,
                document,
                official.id,
                keep=data.get("keep") is True,
                origin=audit.origin_of(request),
            )
        except Rejected as rejected:
            return refused(request, rejected)
        return Response(document_info(document))

    @post("/{document_id:uuid}/verwijderen", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        documents: Documents,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        document_id: UUID,
    ) -> Response[Any]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        document = await _document_for_official(
            request, documents, db_session, official, appointment, document_id
        )
        await documents.remove(
            db_session, appointment, document, _official_sharer(official), origin=audit.origin_of(request)
        )
        return Response({"removed": str(document_id)})
