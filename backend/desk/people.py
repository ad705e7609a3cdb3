"""The official invites a partner or an interpreter, or withdraws an invitation (backend.participants).

Real HTML forms with CSRF tokens. The call page sends the same forms with ``fetch`` and
``Accept: application/json`` so the call goes on; it then gets JSON (problem+json on errors, in the
official's language) instead of a page.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, participants
from backend.db.models import Appointment, Official
from backend.desk.auth import current_official
from backend.desk.pages import Form, appointment_for_official
from backend.errors import problem
from backend.i18n import N_, translator
from backend.live import LivePages
from backend.notify import Notify
from backend.participants import InviteError
from backend.settings import Settings
from backend.timefmt import long_datetime
from backend.web import NO_STORE, page, request_locale, see_other, wants_json

ROLE_LABELS = {"citizen": N_("Inwoner"), "partner": N_("Partner"), "interpreter": N_("Tolk")}
STATE_LABELS = {
    "invited": N_("Uitgenodigd"),
    "waiting": N_("In de wachtkamer"),
    "admitted": N_("Toegelaten"),
    "in_call": N_("In gesprek"),
    "left": N_("Vertrokken"),
    "ended": N_("Afgelopen"),
}


def people_of(appointment: Appointment) -> list[dict[str, Any]]:
    return [
        {"id": str(p.id), "name": p.name, "role": p.role, "state": p.state}
        for p in appointment.participants
        if p.revoked_at is None
    ]


def back_to(appointment: Appointment, where: str) -> str:
    """Only two places to go back to (no open redirect through a form field)."""
    if where == "gesprek":
        return f"/balie/afspraken/{appointment.id}/gesprek"
    return f"/balie/afspraken/{appointment.id}/uitnodigen"


def _problem(request: Request[Any, Any, Any], status: int, error: InviteError) -> Response[Any]:
    _ = translator(request_locale(request))
    return problem(
        status,
        _(error.message, **error.values) if error.values else _(error.message),
        code=error.code,
        errors={field: _(message) for field, message in error.errors.items()},
    )


async def _reloaded(db_session: AsyncSession, appointment_id: UUID) -> Appointment:
    """The appointment again after a rollback (which expired what the session had loaded)."""
    appointment = await db_session.get(Appointment, appointment_id, populate_existing=True)
    if appointment is None:  # appointments are not deleted while officials work on them
        raise NotFoundException()
    return appointment


class DeskPeople(Controller):
    path = "/balie/afspraken"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    def _render(
        self,
        request: Request[Any, Any, Any],
        appointment: Appointment,
        *,
        status_code: int = 200,
        values: dict[str, str] | None = None,
        error: InviteError | None = None,
        sent: bool = False,
    ) -> Template:
        people = people_of(appointment)
        seats = participants.capacity(appointment.service)
        return page(
            request,
            "pages/desk/invite.html",
            status_code=status_code,
            here=f"/balie/afspraken/{appointment.id}/uitnodigen",
            appointment=appointment,
            start_text=long_datetime(appointment.start_at, request_locale(request)),
            people=people,
            seats=seats,
            seats_left=max(0, seats - 1 - len(people)),
            role_labels=ROLE_LABELS,
            state_labels=STATE_LABELS,
            values=values or {},
            error=error,
            sent=sent,
        )

    @get("/{appointment_id:uuid}/uitnodigen")
    async def form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        verstuurd: bool = False,
    ) -> Template:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        return self._render(request, appointment, sent=verstuurd)

    @post("/{appointment_id:uuid}/uitnodigen")
    async def invite(
        self,
        request: Request[Any, Any, Any],
        notify: Notify,
        settings: Settings,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        data: dict[str, str] = Form,
    ) -> Template | Redirect | Response[Any]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        values = {k: str(data.get(k, "")) for k in ("name", "email", "role", "locale")}
        try:
            invitation = await participants.invite(
                db_session,
                appointment,
                name=values["name"],
                email=values["email"],
                role=values["role"],
                locale=values["locale"] or None,
                settings=settings,
                invited_by=official.id,
                origin=audit.origin_of(request),
            )
        except InviteError as exc:
            await db_session.rollback()
            status = 422 if exc.errors else 409
            if wants_json(request):
                return _problem(request, status, exc)
            fresh = await _reloaded(db_session, appointment_id)
            return self._render(request, fresh, status_code=status, values=values, error=exc)
        await db_session.commit()
        await notify.appointment_changed(appointment)
        person = invitation.participant
        if wants_json(request):
            body = {"participant": {"id": str(person.id), "name": person.name, "role": person.role}}
            return Response(content=body, status_code=201)
        if data.get("terug") == "gesprek":
            return see_other(back_to(appointment, "gesprek"))
        return see_other(f"/balie/afspraken/{appointment.id}/uitnodigen?verstuurd=true")

    @post("/{appointment_id:uuid}/deelnemers/{participant_id:uuid}/intrekken")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        live: LivePages,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        participant_id: UUID,
        data: dict[str, str] = Form,
    ) -> Template | Redirect | Response[Any]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        if all(p.id != participant_id for p in appointment.participants):
            # Someone of another appointment (or nobody): as for any object outside the scope.
            await audit.access_denied(db_session, official, "participant", participant_id, request)
            raise NotFoundException()
        try:
            await participants.revoke(
                db_session,
                live,
                appointment,
                participant_id,
                official.id,
                origin=audit.origin_of(request),
            )
        except InviteError as exc:
            await db_session.rollback()
            if wants_json(request):
                return _problem(request, 409, exc)
            fresh = await _reloaded(db_session, appointment_id)
            return self._render(request, fresh, status_code=409, error=exc)
        if wants_json(request):
            return Response(content={"revoked": str(participant_id)}, status_code=200)
        return see_other(back_to(appointment, str(data.get("terug", ""))))
