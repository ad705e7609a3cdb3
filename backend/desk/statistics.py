"""``/balie/statistiek``: how a team's counter went, per service and per week, for its team admins.

Bookings, cancellations, no-shows, how long people waited (from the start of their appointment, or
from their arrival when they came late, until the official let them in: median and 90th
percentile), how long the calls lasted, and the share booked by an official for a caller. Counted
from the appointments alone: no name, e-mail address or BSN reaches the page or the CSV, and a week
with fewer than :data:`SMALL` appointments of a service shows its counts but no times (a single
wait says something about a single person). Weeks are ISO weeks in Europe/Amsterdam, by the
appointment's start.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from babel.numbers import format_decimal
from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.clock import Clock
from backend.db.models import Appointment, AppointmentStatus, Official, Service, Team
from backend.desk.auth import current_official, request_scope
from backend.timefmt import AMSTERDAM
from backend.web import NO_STORE, page, request_locale

WEEKS: Final = 8
SMALL: Final = 3
"""Fewer appointments than this in a week: no wait or call times (they would describe a person)."""


@dataclass(frozen=True)
class Visit:
    """What the statistics read of one appointment (nothing about the person)."""

    service_id: UUID
    start_at: dt.datetime
    status: str
    by_official: bool
    waiting_since: dt.datetime | None
    call_started_at: dt.datetime | None
    ended_at: dt.datetime | None

    @property
    def wait_minutes(self) -> float | None:
        """From the start (or a late arrival) to being let in; None when they were never let in."""
        if self.waiting_since is None or self.call_started_at is None:
            return None
        since = max(self.waiting_since, self.start_at)
        return max((self.call_started_at - since).total_seconds() / 60, 0.0)

    @property
    def call_minutes(self) -> float | None:
        if self.call_started_at is None or self.ended_at is None:
            return None
        return max((self.ended_at - self.call_started_at).total_seconds() / 60, 0.0)


@dataclass(frozen=True)
class Week:
    service_id: UUID
    week: str
    """ISO week, ``2026-W49``."""
    bookings: int
    cancelled: int
    no_shows: int
    by_phone: int
    wait_median: float | None
    wait_p90: float | None
    call_median: float | None

    @property
    def phone_share(self) -> int:
        """Percentage booked by an official for a caller."""
        return round(100 * self.by_phone / self.bookings) if self.bookings else 0


def iso_week(moment: dt.datetime) -> str:
    year, week, _ = moment.astimezone(AMSTERDAM).isocalendar()
    return f"{year}-W{week:02d}"


def _percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the value below which ``share`` of the values lie."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def weekly(visits: Iterable[Visit]) -> list[Week]:
    """One row per service and week that had appointments, oldest week first."""
    groups: dict[tuple[UUID, str], list[Visit]] = {}
    for visit in visits:
        groups.setdefault((visit.service_id, iso_week(visit.start_at)), []).append(visit)
    rows = []
    for (service_id, week), group in sorted(groups.items(), key=lambda item: (item[0][1], str(item[0][0]))):
        waits = [w for v in group if (w := v.wait_minutes) is not None]
        calls = [c for v in group if (c := v.call_minutes) is not None]
        enough = len(group) >= SMALL
        rows.append(
            Week(
                service_id=service_id,
                week=week,
                bookings=len(group),
                cancelled=sum(v.status == AppointmentStatus.CANCELLED for v in group),
                no_shows=sum(v.status == AppointmentStatus.NO_SHOW for v in group),
                by_phone=sum(v.by_official for v in group),
                wait_median=round(statistics.median(waits), 1) if enough and waits else None,
                wait_p90=round(_percentile(waits, 0.9), 1) if enough and waits else None,
                call_median=round(statistics.median(calls), 1) if enough and calls else None,
            )
        )
    return rows


async def _visits(db: AsyncSession, team_ids: Iterable[UUID], since: dt.datetime) -> list[Visit]:
    rows = await db.execute(
        select(
            Appointment.service_id,
            Appointment.start_at,
            Appointment.status,
            Appointment.created_by_official_id,
            Appointment.waiting_since,
            Appointment.call_started_at,
            Appointment.ended_at,
        ).where(Appointment.team_id.in_(list(team_ids)), Appointment.start_at >= since)
    )
    return [
        Visit(service_id, start, status, by is not None, waiting, called, ended)
        for service_id, start, status, by, waiting, called, ended in rows
    ]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _cell(text: str) -> str:
    """A name as a spreadsheet shows it, never as a formula (CSV injection)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class StatisticsPages(Controller):
    path = "/balie/statistiek"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    async def _weeks(
        self, request: Request[Any, Any, Any], db: AsyncSession, official: Official, now: dt.datetime
    ) -> tuple[list[Team], dict[UUID, Service], list[Week]]:
        team_ids = request_scope(request).admin_team_ids
        if not team_ids:
            await audit.access_denied(db, official, "statistics", "", request)
            raise NotFoundException()
        local = now.astimezone(AMSTERDAM)
        monday = (local - dt.timedelta(days=local.weekday() + 7 * (WEEKS - 1))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        teams = list(await db.scalars(select(Team).where(Team.id.in_(team_ids)).order_by(Team.name)))
        services = {s.id: s for s in await db.scalars(select(Service).where(Service.team_id.in_(team_ids)))}
        rows = weekly(await _visits(db, team_ids, monday.astimezone(dt.UTC)))
        await db.commit()
        return teams, services, rows

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, clock: Clock
    ) -> Template:
        teams, services, rows = await self._weeks(request, db_session, official, clock())
        by_team = [
            {
                "team": team,
                "services": [
                    {
                        "service": service,
                        "weeks": [r for r in rows if r.service_id == service.id],
                    }
                    for service in sorted(services.values(), key=lambda s: s.name)
                    if service.team_id == team.id
                ],
            }
            for team in teams
        ]
        most = max((r.bookings for r in rows), default=0)
        locale = request_locale(request)
        return page(
            request,
            "pages/desk/statistics.html",
            teams=by_team,
            most=most,
            weeks=WEEKS,
            small=SMALL,
            number=lambda value: format_decimal(value, format="#,##0.#", locale=locale),
        )

    @get("/csv")
    async def export(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, clock: Clock
    ) -> Response[str]:
        teams, services, rows = await self._weeks(request, db_session, official, clock())
        names = {team.id: team.name for team in teams}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(
            [
                "team",
                "service",
                "week",
                "bookings",
                "cancelled",
                "no_shows",
                "booked_by_official",
                "wait_median_minutes",
                "wait_p90_minutes",
                "call_median_minutes",
            ]
        )
        for r in rows:
            service = services[r.service_id]
            writer.writerow(
                [
                    _cell(names.get(service.team_id, "")),
                    _cell(service.name),
                    r.week,
                    r.bookings,
                    r.cancelled,
                    r.no_shows,
                    r.by_phone,
                    _number(r.wait_median),
                    _number(r.wait_p90),
                    _number(r.call_median),
                ]
            )
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="statistiek.csv"'},
        )
