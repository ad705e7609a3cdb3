"""``/balie/agenda``: a team admin edits the agenda rules, without a deploy.

Opening hours per weekday, desks, notice and horizon, public holidays, dates with other hours, and
each service's slot rules. Every change is checked whole (nothing is stored unless the whole form is
right), applies to new bookings at once (booked appointments keep their time and seats), and is
written in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking import agenda_form
from backend.db.models import Official, OpeningHours, ScheduleException, Service, Team
from backend.desk.auth import current_official, request_scope
from backend.timefmt import long_date
from backend.web import NO_STORE, page, request_locale, see_other

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


async def _admin_team(
    request: Request[Any, Any, Any], db: AsyncSession, official: Official, team_id: UUID
) -> Team:
    """The team if the official is its admin; 404 and an audit event otherwise."""
    team = await db.get(Team, team_id)
    if team is None or team.id not in request_scope(request).admin_team_ids:
        await audit.access_denied(db, official, "team", team_id, request)
        raise NotFoundException()
    return team


async def _week(db: AsyncSession, team: Team) -> dict[int, list[agenda_form.Block]]:
    rows = await db.scalars(
        select(OpeningHours).where(OpeningHours.team_id == team.id).order_by(OpeningHours.opens)
    )
    week: dict[int, list[agenda_form.Block]] = {day: [] for day in range(7)}
    for row in rows:
        week[row.weekday].append((row.opens, row.closes, row.desks))
    return week


def _exception_blocks(raw: list[dict[str, Any]]) -> list[agenda_form.Block]:
    return [
        (dt.time.fromisoformat(b["opens"]), dt.time.fromisoformat(b["closes"]), b.get("desks")) for b in raw
    ]


async def _team_view(db: AsyncSession, team: Team, locale: str, today: dt.date) -> dict[str, Any]:
    week = await _week(db, team)
    exceptions = await db.scalars(
        select(ScheduleException)
        .where(ScheduleException.team_id == team.id, ScheduleException.day >= today)
        .order_by(ScheduleException.day)
    )
    services = await db.scalars(select(Service).where(Service.team_id == team.id).order_by(Service.name))
    return {
        "team": team,
        "values": {
            "desks": str(team.desks),
            "lead_minutes": str(team.lead_minutes),
            "horizon_days": str(team.horizon_days),
            "closed_on_public_holidays": "yes" if team.closed_on_public_holidays else "",
            **{f"day_{day}": agenda_form.blocks_text(blocks) for day, blocks in week.items()},
        },
        "exceptions": [
            {
                "id": str(e.id),
                "day": long_date(e.day, locale),
                "hours": agenda_form.blocks_text(_exception_blocks(e.blocks)),
                "note": e.note,
            }
            for e in exceptions
        ],
        "services": [{"service": s, "values": _service_values(s)} for s in services],
    }


def _service_values(service: Service) -> dict[str, str]:
    def text(value: int | None) -> str:
        return "" if value is None else str(value)

    return {
        "duration_minutes": str(service.duration_minutes),
        "step_minutes": text(service.step_minutes),
        "buffer_minutes": str(service.buffer_minutes),
        "lead_minutes": text(service.lead_minutes),
        "horizon_days": text(service.horizon_days),
        "capacity": text(service.capacity),
        "max_active_per_email": str(service.max_active_per_email),
        "reminder_hours": ", ".join(str(m // 60) for m in service.reminder_minutes),
    }


class AgendaPages(Controller):
    path = "/balie/agenda"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        official: Official,
        today: dt.date,
        *,
        status_code: int = 200,
        failed: dict[str, Any] | None = None,
    ) -> Template:
        """The agenda of every team the official administers; ``failed`` holds the form that was
        not right (``form``, ``id``, ``errors``, ``values``) so it is shown again as typed."""
        teams = request_scope(request).admin_team_ids
        if not teams:
            await audit.access_denied(db, official, "agenda", "", request)
            raise NotFoundException()
        rows = await db.scalars(select(Team).where(Team.id.in_(teams)).order_by(Team.name))
        locale = request_locale(request)
        views = [await _team_view(db, team, locale, today) for team in rows]
        return page(
            request,
            "pages/desk/agenda.html",
            status_code=status_code,
            here="/balie/agenda",
            teams=views,
            weekdays=agenda_form.WEEKDAYS,
            failed=failed or {},
            saved=request.query_params.get("opgeslagen"),
        )

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        official: Official,
        today: dt.date,
        exc: agenda_form.FormErrors,
        *,
        form: str,
        form_id: str,
        data: dict[str, str],
    ) -> Template:
        """The page again with the form as typed and its messages (422); nothing was stored."""
        failed = {"form": form, "id": form_id, "errors": exc.errors, "values": data}
        return await self._page(request, db, official, today, status_code=422, failed=failed)

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, today: dt.date
    ) -> Template:
        return await self._page(request, db_session, official, today)

    @post("/{team_id:uuid}")
    async def save_team(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        today: dt.date,
        team_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        team = await _admin_team(request, db_session, official, team_id)
        try:
            rules = agenda_form.team_rules(data)
        except agenda_form.FormErrors as exc:
            return await self._refused(
                request, db_session, official, today, exc, form="team", form_id=str(team.id), data=data
            )
        team.desks, team.lead_minutes, team.horizon_days = rules.desks, rules.lead_minutes, rules.horizon_days
        team.closed_on_public_holidays = rules.closed_on_public_holidays
        await db_session.execute(delete(OpeningHours).where(OpeningHours.team_id == team.id))
        db_session.add_all(
            OpeningHours(team_id=team.id, weekday=day, opens=opens, closes=closes, desks=desks)
            for day, blocks in rules.week.items()
            for opens, closes, desks in blocks
        )
        audit.agenda_changed(db_session, request, official, team, "team")
        await db_session.commit()
        return see_other(f"/balie/agenda?opgeslagen=team#team-{team.id}")

    @post("/{team_id:uuid}/uitzonderingen")
    async def add_exception(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        today: dt.date,
        team_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        team = await _admin_team(request, db_session, official, team_id)
        try:
            exception = agenda_form.schedule_exception(data, today)
        except agenda_form.FormErrors as exc:
            return await self._refused(
                request,
                db_session,
                official,
                today,
                exc,
                form="exception",
                form_id=f"{team.id}-exception",
                data=data,
            )
        blocks = [
            {"opens": f"{o:%H:%M}", "closes": f"{c:%H:%M}", **({"desks": d} if d is not None else {})}
            for o, c, d in exception.blocks
        ]
        existing = await db_session.scalar(
            select(ScheduleException).where(
                ScheduleException.team_id == team.id, ScheduleException.day == exception.day
            )
        )
        if existing is None:
            db_session.add(
                ScheduleException(team_id=team.id, day=exception.day, blocks=blocks, note=exception.note)
            )
        else:  # one rule per date: a new one for the same date replaces it
            existing.blocks, existing.note = blocks, exception.note
        audit.agenda_changed(db_session, request, official, team, "exception", day=exception.day.isoformat())
        await db_session.commit()
        return see_other(f"/balie/agenda?opgeslagen=uitzondering#team-{team.id}")

    @post("/{team_id:uuid}/uitzonderingen/{exception_id:uuid}/verwijderen")
    async def remove_exception(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        team_id: UUID,
        exception_id: UUID,
    ) -> Redirect:
        team = await _admin_team(request, db_session, official, team_id)
        exception = await db_session.get(ScheduleException, exception_id)
        if exception is None or exception.team_id != team.id:
            await audit.access_denied(db_session, official, "schedule_exception", exception_id, request)
            raise NotFoundException()
        audit.agenda_changed(
            db_session, request, official, team, "exception_removed", day=exception.day.isoformat()
        )
        await db_session.delete(exception)
        await db_session.commit()
        return see_other(f"/balie/agenda?opgeslagen=uitzondering#team-{team.id}")

    @post("/diensten/{service_id:uuid}")
    async def save_service(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        official: Official,
        today: dt.date,
        service_id: UUID,
        data: dict[str, str] = Form,
    ) -> Redirect | Template:
        service = await db_session.get(Service, service_id)
        if service is None:
            await audit.access_denied(db_session, official, "service", service_id, request)
            raise NotFoundException()
        team = await _admin_team(request, db_session, official, service.team_id)
        try:
            rules = agenda_form.service_rules(data)
        except agenda_form.FormErrors as exc:
            return await self._refused(
                request, db_session, official, today, exc, form="service", form_id=str(service.id), data=data
            )
        service.duration_minutes, service.step_minutes = rules.duration_minutes, rules.step_minutes
        service.buffer_minutes, service.lead_minutes = rules.buffer_minutes, rules.lead_minutes
        service.horizon_days, service.capacity = rules.horizon_days, rules.capacity
        service.max_active_per_email, service.reminder_minutes = (
            rules.max_active_per_email,
            rules.reminder_minutes,
        )
        audit.agenda_changed(db_session, request, official, team, "service", service=str(service.id))
        await db_session.commit()
        return see_other(f"/balie/agenda?opgeslagen=dienst#service-{service.id}")
