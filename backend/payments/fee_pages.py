"""``/balie/diensten/{id}/leges``: the fees a service may ask for, set by an admin of its team."""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.agenda_form import FormErrors
from backend.catalog.pages import admin_service
from backend.db.models import Fee, Official, Service
from backend.desk.auth import current_official
from backend.i18n import N_
from backend.payments import fee_form
from backend.payments.fee_form import FORM_BODY
from backend.payments.money import euro
from backend.web import NO_STORE, page, see_other

DONE: Final = {
    "toegevoegd": N_("De leges zijn toegevoegd."),
    "opgeslagen": N_("Opgeslagen."),
    "ingetrokken": N_("De leges zijn ingetrokken. Betalingen die al gevraagd zijn, blijven staan."),
}
NEW_FORM: Final = {"amount": "", "due": "call"}


class FeePages(Controller):
    path = "/balie/diensten/{service_id:uuid}/leges"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        service: Service,
        *,
        failed: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Template:
        fees = list(
            await db.scalars(
                select(Fee).where(Fee.service_id == service.id, Fee.active).order_by(Fee.created_at, Fee.id)
            )
        )
        return page(
            request,
            "pages/desk/fees.html",
            status_code=status_code,
            here=f"/balie/diensten/{service.id}/leges",
            service=service,
            fees=[
                {"fee": fee, "values": fee_form.form_values(fee), "amount": euro(fee.amount_cents)}
                for fee in fees
            ],
            new_values=NEW_FORM,
            failed=failed or {},
            due_names=fee_form.DUE_NAMES,
            done=DONE.get(request.query_params.get("klaar") or ""),
        )

    @get("/")
    async def overview(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, service_id: UUID
    ) -> Template:
        service = await admin_service(request, db_session, official, service_id)
        return await self._page(request, db_session, service)

    @post("/")
    async def add(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        service_id: UUID,
        data: dict[str, str] = FORM_BODY,
    ) -> Template | Redirect:
        service = await admin_service(request, db_session, official, service_id)
        try:
            values = fee_form.parse_fee(data)
        except FormErrors as exc:
            failed = {"id": "new", "errors": exc.errors, "values": data}
            return await self._page(request, db_session, service, failed=failed, status_code=422)
        fee = Fee(service_id=service.id, description="", amount_cents=values.amount_cents)
        fee_form.apply(fee, values)
        db_session.add(fee)
        await db_session.flush()
        audit.fee_changed(
            db_session,
            audit.official_actor(official.id),
            fee,
            service.team.municipality_id,
            "created",
            audit.origin_of(request),
        )
        await db_session.commit()
        return see_other(f"/balie/diensten/{service.id}/leges?klaar=toegevoegd")

    async def _fee(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        official: Official,
        service: Service,
        fee_id: UUID,
    ) -> Fee:
        fee = await db.get(Fee, fee_id)
        if fee is None or fee.service_id != service.id or not fee.active:
            await audit.access_denied(db, official, "fee", fee_id, request)
            raise NotFoundException()
        return fee

    @post("/{fee_id:uuid}")
    async def save(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        service_id: UUID,
        fee_id: UUID,
        data: dict[str, str] = FORM_BODY,
    ) -> Template | Redirect:
        service = await admin_service(request, db_session, official, service_id)
        fee = await self._fee(request, db_session, official, service, fee_id)
        try:
            values = fee_form.parse_fee(data)
        except FormErrors as exc:
            failed = {"id": f"fee-{fee.id}", "errors": exc.errors, "values": data}
            return await self._page(request, db_session, service, failed=failed, status_code=422)
        fee_form.apply(fee, values)
        audit.fee_changed(
            db_session,
            audit.official_actor(official.id),
            fee,
            service.team.municipality_id,
            "edited",
            audit.origin_of(request),
        )
        await db_session.commit()
        return see_other(f"/balie/diensten/{service.id}/leges?klaar=opgeslagen#fee-{fee.id}")

    @post("/{fee_id:uuid}/intrekken")
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        service_id: UUID,
        fee_id: UUID,
    ) -> Redirect:
        service = await admin_service(request, db_session, official, service_id)
        fee = await self._fee(request, db_session, official, service, fee_id)
        fee.active = False
        audit.fee_changed(
            db_session,
            audit.official_actor(official.id),
            fee,
            service.team.municipality_id,
            "withdrawn",
            audit.origin_of(request),
        )
        await db_session.commit()
        return see_other(f"/balie/diensten/{service.id}/leges?klaar=ingetrokken")
