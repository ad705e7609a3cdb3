"""A team admin reads the team's weekly figures on /balie/statistiek and as CSV; an official who
administers no team gets 404 (audited); no name or address reaches either."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEvent, Membership, Official, Service
from tests.live import sign_in_official
from tests.oidc import served_balie
from tests.support import citizen_appointment

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def week_of_calls(session: AsyncSession, seeded_service: Service) -> str:
    """Four appointments this week: three calls of 20 minutes after 2, 4 and 9 minutes of waiting,
    one no-show; one booked by phone. And a team admin."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    head = Official(issuer="urn:balie:dev", subject="teamleider", name="Teamleider")
    session.add(Membership(official=head, team_id=seeded_service.team_id, role="admin"))
    await session.flush()
    for n, wait in enumerate((2, 4, 9, None)):
        appointment = citizen_appointment(
            seeded_service,
            start + dt.timedelta(minutes=30 * n),
            join_token=secrets.token_hex(8),
            manage_token=secrets.token_hex(8),
        )
        appointment.citizen_name, appointment.citizen_email = '=HYPERLINK("x")', f"geheim{n}@example.nl"
        if wait is None:
            appointment.status = "no_show"
        else:
            appointment.status = "completed"
            appointment.waiting_since = appointment.start_at
            appointment.call_started_at = appointment.start_at + dt.timedelta(minutes=wait)
            appointment.ended_at = appointment.call_started_at + dt.timedelta(minutes=20)
        if n == 0:
            appointment.created_by_official_id = head.id  # booked by phone
        session.add(appointment)
    await session.flush()
    await session.commit()
    return "teamleider"


async def test_the_team_admin_sees_the_week_and_downloads_it(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, week_of_calls: str
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, week_of_calls)
        assert 'href="/balie/statistiek"' in (await client.get("/balie/")).text
        shown = await client.get("/balie/statistiek/")
        assert shown.status_code == 200
        table = shown.text.split("data-weeks", 1)[1]
        row = table.split("<tr data-week=", 1)[1].split("</tr>", 1)[0]
        cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
        assert cells == ["4", "0", "1", "25%", "4 min", "9 min", "20 min"]
        assert "geheim" not in shown.text and "HYPERLINK" not in shown.text

        export = await client.get("/balie/statistiek/csv")
        assert export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]
        (line,) = list(csv.DictReader(io.StringIO(export.text)))
        assert line["service"] == "Geboorteaangifte" and line["bookings"] == "4" and line["no_shows"] == "1"
        assert line["wait_median_minutes"] == "4.0" and line["wait_p90_minutes"] == "9.0"
        assert "geheim" not in export.text
        english = await client.get("/balie/statistiek/?lang=en")
        assert "Download as CSV" in english.text


async def test_an_official_who_administers_no_team_sees_none(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        assert (await client.get("/balie/statistiek/")).status_code == 404
        assert (await client.get("/balie/statistiek/csv")).status_code == 404
    denied = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.object_type == "statistics")
    )
    assert denied == 2
