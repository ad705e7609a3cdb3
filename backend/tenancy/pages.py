"""``/balie/mandaten``: municipality admins grant, answer and revoke mandates; officials switch to
"Namens Gemeente A" (``/balie/namens``) and back.

A mandate another municipality's admin may not touch answers 404 (and is audited), as every object
outside the official's scope does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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
from backend.booking.agenda_form import FormErrors, Message
from backend.clock import Clock
from backend.db.models import Mandate, Municipality, Official, Team
from backend.desk.auth import current_official, current_scope
from backend.i18n import N_
from backend.live import LivePages
from backend.tenancy import mandates
from backend.tenancy.mandates import Grant
from backend.tenancy.scope import MANDATE_KEY, Scope
from backend.timefmt import AMSTERDAM, local
from backend.web import NO_STORE, page, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
HERE = "/balie/mandaten"
STATUS_LABELS: Final = {
    mandates.PROPOSED: N_("Wacht op antwoord"),
    mandates.SCHEDULED: N_("Aanvaard, begint later"),
    mandates.RUNNING: N_("Loopt"),
    mandates.DECLINED: N_("Geweigerd"),
    mandates.REVOKED: N_("Ingetrokken"),
    mandates.ENDED: N_("Afgelopen"),
}
DONE: Final = {
    "gegeven": N_("Het mandaat is gegeven. Het geldt zodra de andere gemeente het aanvaardt."),
    "aanvaard": N_("U heeft het mandaat aanvaard."),
    "geweigerd": N_("U heeft het mandaat geweigerd."),
    "ingetrokken": N_("Het mandaat is ingetrokken. Wie ermee werkte, kan dat nu niet meer."),
}


def _day(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), AMSTERDAM).astimezone(dt.UTC)


def _uuids(data: dict[str, str], prefix: str) -> frozenset[UUID]:
    found = set()
    for key, value in data.items():
        if key.startswith(prefix) and value == "yes":
            try:
                found.add(UUID(key.removeprefix(prefix)))
            except ValueError:
                continue
    return frozenset(found)


async def _officials_by_email(
    db: AsyncSession, grantee_id: UUID | None, text: str
) -> tuple[frozenset[UUID], list[str]]:
    """The grantee's officials named by e-mail address (one per line or comma), and the addresses
    that name none of them."""
    wanted = {part.strip().lower() for part in text.replace(",", "\n").splitlines() if part.strip()}
    if not wanted or grantee_id is None:
        return frozenset(), sorted(wanted)
    theirs = {o.email.lower(): o.id for o in await mandates.officials_of(db, grantee_id) if o.email}
    return frozenset(theirs[e] for e in wanted if e in theirs), sorted(e for e in wanted if e not in theirs)


async def _grantor(db: AsyncSession, scope: Scope, raw: str) -> Municipality | None:
    """The municipality the admin gives the mandate for: the one chosen, or the only one they
    manage; None when the choice is not theirs (or missing while they manage several)."""
    managed = scope.admin_municipality_ids
    try:
        chosen = UUID(raw) if raw else None
    except ValueError:
        chosen = None
    if chosen is None and len(managed) == 1:
        chosen = next(iter(managed))
    return await db.get(Municipality, chosen) if chosen in managed else None


def grant_from(data: dict[str, str]) -> Grant:
    """The grant as typed (officials still empty: they are looked up by e-mail address)."""
    try:
        grantee_id: UUID | None = UUID(data.get("grantee", ""))
    except ValueError:
        grantee_id = None
    starts, ends = _day(data.get("starts", "")), _day(data.get("ends", ""))
    grant = Grant(
        grantee_id=grantee_id,
        team_ids=_uuids(data, "team_"),
        official_ids=frozenset(),
        starts_at=_start_of(starts) if starts else None,
        # The end date is the last day of the mandate: it ends at the start of the day after.
        ends_at=_start_of(ends + dt.timedelta(days=1)) if ends else None,
        reason=data.get("reason", ""),
    )
    return grant


def _row(
    mandate: Mandate, now: dt.datetime, managed: frozenset[UUID], names: dict[str, str]
) -> dict[str, Any]:
    state = mandates.status(mandate, now)
    return {
        "id": str(mandate.id),
        "grantor": mandate.grantor.name,
        "grantee": mandate.grantee.name,
        "teams": [names.get(team_id, "?") for team_id in mandate.team_ids],
        "officials": [names.get(official_id, "?") for official_id in mandate.official_ids],
        "starts": local(mandate.starts_at).strftime("%d-%m-%Y"),
        "ends": local(mandate.ends_at - dt.timedelta(seconds=1)).strftime("%d-%m-%Y"),
        "reason": mandate.reason,
        "status": state,
        "status_label": STATUS_LABELS[state],
        "may_answer": state == mandates.PROPOSED and mandate.grantee_id in managed,
        "may_revoke": state in mandates.OPEN and mandate.grantor_id in managed,
    }


async def _names(db: AsyncSession, rows: list[Mandate]) -> dict[str, str]:
    team_ids = {UUID(t) for m in rows for t in m.team_ids}
    official_ids = {UUID(o) for m in rows for o in m.official_ids}
    names: dict[str, str] = {}
    if team_ids:
        for team_id, name in await db.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))):
            names[str(team_id)] = name
    if official_ids:
        for official_id, name in await db.execute(
            select(Official.id, Official.name).where(Official.id.in_(official_ids))
        ):
            names[str(official_id)] = name
    return names


class MandatePages(Controller):
    path = HERE
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official), "staff_scope": Provide(current_scope)}

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_scope: Scope,
        now: dt.datetime,
        *,
        status_code: int = 200,
        errors: dict[str, Any] | None = None,
        values: dict[str, str] | None = None,
    ) -> Template:
        managed = staff_scope.admin_municipality_ids
        if not managed:
            await audit.access_denied(db, staff_scope.official, "mandates", "", request)
            raise NotFoundException()
        rows = await mandates.of_municipalities(db, managed)
        names = await _names(db, rows)
        own = list(
            await db.scalars(
                select(Municipality).where(Municipality.id.in_(managed)).order_by(Municipality.name)
            )
        )
        teams = list(
            await db.scalars(select(Team).where(Team.municipality_id.in_(managed)).order_by(Team.name))
        )
        others = list(
            await db.scalars(
                select(Municipality).where(Municipality.id.not_in(managed)).order_by(Municipality.name)
            )
        )
        return page(
            request,
            "pages/desk/mandates.html",
            status_code=status_code,
            given=[_row(m, now, managed, names) for m in rows if m.grantor_id in managed],
            received=[_row(m, now, managed, names) for m in rows if m.grantee_id in managed],
            own=own,
            teams_of={m.id: [t for t in teams if t.municipality_id == m.id] for m in own},
            others=others,
            errors=errors or {},
            values=values or {},
            done=DONE.get(request.query_params.get("klaar") or ""),
        )

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, staff_scope: Scope, clock: Clock
    ) -> Template:
        return await self._page(request, db_session, staff_scope, clock())

    @post("/")
    async def grant(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        clock: Clock,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        now = clock()
        grantor = await _grantor(db_session, staff_scope, data.get("grantor", ""))
        if grantor is None:
            errors: dict[str, Message] = {"grantor": (N_("Kies de gemeente die het mandaat geeft."), {})}
            return await self._page(
                request, db_session, staff_scope, now, status_code=422, errors=errors, values=data
            )
        typed = grant_from(data)
        officials, unknown = await _officials_by_email(
            db_session, typed.grantee_id, data.get("officials", "")
        )
        typed = dataclasses.replace(typed, official_ids=officials)
        try:
            if unknown:
                raise FormErrors(
                    {
                        "officials": (
                            N_("Deze adressen zijn niet van medewerkers van die gemeente: {list}"),
                            {"list": ", ".join(unknown)},
                        )
                    }
                )
            await mandates.grant(
                db_session,
                grantor,
                typed,
                by=staff_scope.official,
                now=now,
                origin=audit.origin_of(request),
            )
        except FormErrors as exc:
            return await self._page(
                request, db_session, staff_scope, now, status_code=422, errors=exc.errors, values=data
            )
        return see_other(f"{HERE}?klaar=gegeven")

    async def _mandate(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_scope: Scope,
        mandate_id: UUID,
        side: str,
    ) -> Mandate:
        mandate = await db.get(Mandate, mandate_id)
        ours = mandate is not None and (
            (mandate.grantor_id if side == "grantor" else mandate.grantee_id)
            in staff_scope.admin_municipality_ids
        )
        if mandate is None or not ours:
            await audit.access_denied(db, staff_scope.official, "mandate", mandate_id, request)
            raise NotFoundException()
        return mandate

    @post("/{mandate_id:uuid}/aanvaarden")
    async def accept(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        clock: Clock,
        mandate_id: UUID,
    ) -> Redirect | Template:
        return await self._answer(request, db_session, staff_scope, clock, mandate_id, accept=True)

    @post("/{mandate_id:uuid}/weigeren")
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        clock: Clock,
        mandate_id: UUID,
    ) -> Redirect | Template:
        return await self._answer(request, db_session, staff_scope, clock, mandate_id, accept=False)

    async def _answer(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff_scope: Scope,
        clock: Clock,
        mandate_id: UUID,
        *,
        accept: bool,
    ) -> Redirect | Template:
        mandate = await self._mandate(request, db, staff_scope, mandate_id, "grantee")
        try:
            await mandates.answer(
                db,
                mandate,
                accept=accept,
                by=staff_scope.official,
                now=clock(),
                origin=audit.origin_of(request),
            )
        except mandates.NotPossible:
            return _not_possible(request)
        return see_other(f"{HERE}?klaar={'aanvaard' if accept else 'geweigerd'}")

    @post("/{mandate_id:uuid}/intrekken")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        clock: Clock,
        live: LivePages,
        mandate_id: UUID,
    ) -> Redirect | Template:
        mandate = await self._mandate(request, db_session, staff_scope, mandate_id, "grantor")
        try:
            await mandates.revoke(
                db_session, mandate, by=staff_scope.official, now=clock(), origin=audit.origin_of(request)
            )
        except mandates.NotPossible:
            return _not_possible(request)
        await live.mandate_ended(sorted(mandates.team_ids_of(mandate)), mandate.id)
        return see_other(f"{HERE}?klaar=ingetrokken")


def _not_possible(request: Request[Any, Any, Any]) -> Template:
    return page(
        request,
        "pages/error.html",
        status_code=409,
        title=N_("Dat kan niet meer"),
        message=N_(
            "Dit mandaat is al aanvaard, geweigerd, ingetrokken of afgelopen. Laad de pagina opnieuw."
        ),
    )


class ActingSwitch(Controller):
    """The desk's "Namens Gemeente A" switch: a mandate the official holds now, or their own work."""

    path = "/balie/namens"
    include_in_schema = False
    dependencies = {"official": Provide(current_official), "staff_scope": Provide(current_scope)}

    @post("/")
    async def switch(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff_scope: Scope,
        data: dict[str, str] = Form,
    ) -> Redirect:
        chosen = next((m for m in staff_scope.available if str(m.id) == data.get("mandate", "")), None)
        if chosen is None:
            request.session.pop(MANDATE_KEY, None)
        else:
            request.session[MANDATE_KEY] = str(chosen.id)
            audit.acting_started(db_session, chosen, staff_scope.official, origin=audit.origin_of(request))
            await db_session.commit()
        return see_other("/balie")
