"""The desk pages. Actions are real HTML forms with CSRF tokens; live updates come over /ws/desk."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, calls, presence
from backend.catalog.official_words import official_documents
from backend.clock import Clock
from backend.db.models import Appointment, Official
from backend.desk.auth import current_official, of_own_team, request_scope
from backend.errors import problem
from backend.i18n import N_, translator
from backend.identity import levels
from backend.identity.binding import badge, identity_keyring, panel_rows
from backend.live import LivePages
from backend.notify import Wakeable
from backend.settings import Settings
from backend.timefmt import LOCAL_TIMEZONE, time_of_day
from backend.web import NO_STORE, page, request_locale, see_other, wants_json

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
OUTCOMES = {"completed", "no_show"}


async def appointment_for_official(
    request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, appointment_id: UUID
) -> Appointment:
    """The appointment if the official may act for its team; 404 (and an audit event) otherwise."""
    return await of_own_team(request, db_session, official, Appointment, appointment_id)


def _already_closed(request: Request[Any, Any, Any]) -> Template:
    return page(
        request,
        "pages/error.html",
        status_code=409,
        title=N_("Al afgesloten"),
        message=N_("Deze afspraak is al afgesloten."),
    )


class DeskPages(Controller):
    path = "/balie"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    @get("/")
    async def desk(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        db_session: AsyncSession,
        official: Official,
        today: dt.date,
    ) -> Template:
        scope = request_scope(request)
        rows = await calls.desk_appointments(db_session, scope.team_ids, today)
        keyring = identity_keyring(settings)
        appointments = [
            {
                "id": str(a.id),
                "reference": a.reference,
                "start_text": time_of_day(a.start_at),
                "citizen_name": a.citizen_name,
                "created_by": a.created_by.name if a.created_by else None,
                "service_name": a.service.name,
                "status": a.status,
                "identity": next((b for b in (badge(keyring, p) for p in a.participants) if b), None),
            }
            for a in rows
        ]
        return page(
            request,
            "pages/desk/index.html",
            official=official,
            appointments=appointments,
            level_labels=levels.LABELS,
            is_admin=bool(scope.admin_team_ids),
            manages_municipality=bool(scope.admin_municipality_ids),
            platform_admin=scope.is_platform_admin,
            away_grace_seconds=int(presence.AWAY_GRACE.total_seconds()),
            acting_for=scope.acting_for,
            mandates=[{"id": str(m.id), "grantor": m.grantor.name} for m in scope.available],
            mandate_ended=bool(getattr(request.state, "mandate_ended", False)),
            timezone=LOCAL_TIMEZONE,  # the browser shows the queue's times in it, as the server does
        )

    @post("/afspraken/{appointment_id:uuid}/toelaten")
    async def admit(
        self,
        request: Request[Any, Any, Any],
        live: LivePages,
        clock: Clock,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template | Response[Any]:
        """Admit everyone waiting for the appointment, or only ``participant_id`` (the call page's
        "Toelaten" next to one person). With ``Accept: application/json`` the answer is JSON."""
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        raw = str(data.get("participant_id", ""))
        try:
            participant_id = UUID(raw) if raw else None
        except ValueError:
            participant_id = uuid4()  # a mangled id matches nobody: "nobody is waiting"
        try:
            admitted = await calls.admit(
                db_session,
                live,
                appointment,
                official.id,
                participant_id,
                client=audit.origin_of(request),
                clock=clock,
            )
        except calls.NotAllowed as exc:
            await db_session.rollback()
            title, message = (
                (N_("Het gesprek is vol"), N_("Er passen niet meer mensen in dit gesprek."))
                if isinstance(exc, calls.CallIsFull)
                else (N_("Er wacht niemand"), N_("Voor deze afspraak wacht niemand in de wachtkamer."))
            )
            if wants_json(request):
                _ = translator(request_locale(request))
                return problem(409, _(title), _(message))
            return page(request, "pages/error.html", status_code=409, title=title, message=message)
        if wants_json(request):
            return Response(content={"admitted": [str(p.id) for p in admitted]}, status_code=200)
        return see_other(f"/balie/afspraken/{appointment.id}/gesprek")

    @get("/afspraken/{appointment_id:uuid}/gesprek")
    async def call(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
    ) -> Template:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        if calls.led_by_colleague(appointment, official.id):
            colleague = await db_session.get(Official, appointment.assigned_official_id)
            return page(
                request,
                "pages/desk/call_taken.html",
                appointment=appointment,
                colleague=colleague.name if colleague else "",
            )
        keyring = identity_keyring(settings)
        return page(
            request,
            "pages/desk/call.html",
            appointment=appointment,
            official=official,
            identities=panel_rows(keyring, appointment),
            official_checklist=official_documents(appointment.service, request_locale(request)),
        )

    @post("/afspraken/{appointment_id:uuid}/overnemen")
    async def take_over(
        self,
        request: Request[Any, Any, Any],
        live: LivePages,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
    ) -> Redirect | Template:
        """Lead the call from now on (a colleague went home, or their browser broke down)."""
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        try:
            await calls.take_over(db_session, live, appointment, official.id, client=audit.origin_of(request))
        except calls.NotAllowed:
            return _already_closed(request)
        return see_other(f"/balie/afspraken/{appointment.id}/gesprek")

    @post("/afspraken/{appointment_id:uuid}/afronden")
    async def finish(
        self,
        request: Request[Any, Any, Any],
        live: LivePages,
        clock: Clock,
        document_purger: Wakeable | None,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        outcome = str(data.get("outcome", ""))
        if outcome not in OUTCOMES:
            return page(
                request,
                "pages/error.html",
                status_code=422,
                title=N_("Kies een uitkomst"),
                message=N_("Kies of het gesprek is afgerond of dat de inwoner niet verscheen."),
            )
        try:
            await calls.end_call(
                db_session,
                live,
                appointment,
                official.id,
                outcome,
                client=audit.origin_of(request),
                clock=clock,
            )
        except calls.NotAllowed:
            return _already_closed(request)
        if document_purger is not None:
            document_purger.wake()  # the call's unmarked documents go now, not at the next poll
        return see_other("/balie")
