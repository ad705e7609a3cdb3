"""The identity panel on the official's call page: who identified with DigiD (masked BSN, level,
time), and the button that asks a participant to identify now."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.clock import Clock
from backend.db.models import Official
from backend.desk.auth import current_official
from backend.desk.pages import appointment_for_official
from backend.identity import binding
from backend.live import LivePages
from backend.settings import Settings
from backend.web import NO_STORE, page, see_other, wants_json


class DeskIdentity(Controller):
    path = "/balie/afspraken/{appointment_id:uuid}"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    @get("/identiteit")
    async def panel(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
    ) -> Template:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        await db_session.refresh(appointment, ["participants"])
        return page(
            request,
            "partials/identity_panel.html",
            appointment=appointment,
            identities=binding.panel_rows(binding.identity_keyring(settings), appointment),
        )

    @post("/deelnemers/{participant_id:uuid}/digid")
    async def ask(
        self,
        request: Request[Any, Any, Any],
        live: LivePages,
        clock: Clock,
        db_session: AsyncSession,
        official: Official,
        appointment_id: UUID,
        participant_id: UUID,
    ) -> Redirect | Response[None]:
        appointment = await appointment_for_official(request, db_session, official, appointment_id)
        participant = next((p for p in appointment.participants if p.id == participant_id), None)
        if participant is None or not appointment.is_active:
            await audit.access_denied(db_session, official, "participant", participant_id, request)
            raise NotFoundException()
        participant.identity_requested_at = clock()
        audit.identity_requested(db_session, official.id, participant, request)
        level = binding.requested_level(participant)
        await db_session.commit()
        await live.identify_requested(appointment.id, participant.id, level)
        if wants_json(request):
            return Response(content=None, status_code=204)
        return see_other(f"/balie/afspraken/{appointment.id}/gesprek")
