"""``/balie/teams``: a municipality admin sees the municipality's teams and makes a new one.

A new team has a name, a description for citizens (each optionally in English too, for citizens who
read the pages in English) and its number of desks; it opens for bookings
once it has opening hours (the agenda) and a published service (the service editor), both of which
the municipality admin may set up, as may the team admins they appoint. The team's citizen page
lists it as soon as it has a published service, on every node, without a restart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.agenda_form import Checker, FormErrors
from backend.catalog.service_form import slug_for
from backend.db.models import Municipality, Team
from backend.desk.auth import current_official, current_scope
from backend.i18n import N_
from backend.tenancy.scope import Scope
from backend.web import NO_STORE, page, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
HERE: Final = "/balie/teams"


@dataclass(frozen=True)
class NewTeam:
    municipality_id: UUID
    name: str
    description: str
    desks: int
    translations: dict[str, dict[str, Any]]
    """The English name and description, if given: ``{"en": {"name": ..., "description": ...}}``."""


def _name(check: Checker, field: str, *, required: bool) -> str:
    name = " ".join(check.text(field).split())
    if not name and required:
        check.fail(field, N_("Vul de naam van het team in."))
    elif len(name) > 120:
        check.fail(field, N_("Dit is te lang (hoogstens {limit} tekens)."), limit=120)
    return name


def _description(check: Checker, field: str) -> str:
    description = check.text(field).strip()
    if len(description) > 1000:
        check.fail(field, N_("Dit is te lang (hoogstens {limit} tekens)."), limit=1000)
    return description


def team_form(data: Mapping[str, str], managed: frozenset[UUID]) -> NewTeam:
    """A new team as typed (its English texts optional); :class:`FormErrors` otherwise."""
    check = Checker(data)
    municipality_id: UUID | None = None
    with contextlib.suppress(ValueError):
        municipality_id = UUID(check.text("municipality"))
    if municipality_id not in managed:
        check.fail("municipality", N_("Kies een van de mogelijkheden."))
    name = _name(check, "name", required=True)
    description = _description(check, "description")
    english = {
        "name": _name(check, "name_en", required=False),
        "description": _description(check, "description_en"),
    }
    desks = check.number("desks", 1, 50)
    check.done()
    if municipality_id is None or desks is None:
        raise RuntimeError("done() lets no form through without a municipality or desks")
    english = {field: text for field, text in english.items() if text}
    return NewTeam(municipality_id, name, description, desks, {"en": english} if english else {})


class TeamPages(Controller):
    path = HERE
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official), "staff_scope": Provide(current_scope)}

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_scope: Scope,
        *,
        status_code: int = 200,
        failed: dict[str, Any] | None = None,
    ) -> Template:
        managed = staff_scope.admin_municipality_ids
        if not managed:
            await audit.access_denied(db, staff_scope.official, "teams", "", request)
            raise NotFoundException()
        own = list(
            await db.scalars(
                select(Municipality).where(Municipality.id.in_(managed)).order_by(Municipality.name)
            )
        )
        first = str(own[0].id)
        return page(
            request,
            "pages/desk/teams.html",
            status_code=status_code,
            here=HERE,
            municipalities=own,
            municipality_options={str(m.id): m.name for m in own},
            form=failed or {"id": "team", "errors": {}, "values": {"municipality": first, "desks": "1"}},
            failed=bool(failed),
        )

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, staff_scope: Scope
    ) -> Template:
        return await self._page(request, db_session, staff_scope)

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        managed = staff_scope.admin_municipality_ids
        if not managed:
            await audit.access_denied(db_session, staff_scope.official, "teams", "", request)
            raise NotFoundException()
        try:
            typed = team_form(data, managed)
        except FormErrors as exc:
            failed = {"id": "team", "errors": exc.errors, "values": data}
            return await self._page(request, db_session, staff_scope, status_code=422, failed=failed)
        taken = await db_session.scalars(
            select(Team.slug).where(Team.municipality_id == typed.municipality_id)
        )
        team = Team(
            municipality_id=typed.municipality_id,
            name=typed.name,
            slug=slug_for(typed.name, taken),
            description=typed.description,
            desks=typed.desks,
            translations=typed.translations,
        )
        db_session.add(team)
        await db_session.flush()
        audit.team_created(db_session, request, staff_scope.official, team)
        await db_session.commit()
        return see_other(f"/balie/agenda?opgeslagen=team#team-{team.id}")
