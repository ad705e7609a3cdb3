"""A municipality admin makes a new team on /balie/teams and sets it up as its admin: opening hours,
a service, published; the team is on the municipality's page and bookable at once. A team admin who
does not manage the municipality cannot make teams; bad input is refused at its field."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEvent, Membership, MunicipalityAdmin, Official, Service, Team
from tests.integration.test_service_editor import EDITOR_FORM, _new_draft
from tests.live import post_form, sign_in_official
from tests.oidc import served_balie

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def municipality_admin(session: AsyncSession, seeded_service: Service) -> str:
    admin = Official(issuer="urn:balie:dev", subject="beheerder", name="Functioneel Beheerder")
    session.add(admin)
    await session.flush()
    session.add(MunicipalityAdmin(official_id=admin.id, municipality_id=seeded_service.team.municipality_id))
    await session.commit()
    return "beheerder"


async def test_a_new_team_takes_bookings_the_same_day(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, municipality_admin: str
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, municipality_admin)
        made = await post_form(
            client,
            "/balie/teams/",
            "/balie/teams/",
            {
                "municipality": str(seeded_service.team.municipality_id),
                "name": "Sociaal wijkteam Noord",
                "description": "Hulp bij geld, werk en zorg.",
                "desks": "2",
            },
        )
        assert made.status_code == 303 and made.headers["location"].startswith("/balie/agenda")
        team = await session.scalar(select(Team).where(Team.name == "Sociaal wijkteam Noord"))
        assert team is not None and team.slug == "sociaal-wijkteam-noord" and team.desks == 2
        await session.commit()

        # The municipality admin administers the new team: its agenda and its services.
        week = {f"day_{day}": "00:00-23:55" for day in range(7)}
        hours = await post_form(
            client,
            "/balie/agenda/",
            f"/balie/agenda/{team.id}",
            {
                **week,
                "desks": "2",
                "lead_minutes": "0",
                "horizon_days": "14",
                "closed_on_public_holidays": "",
            },
        )
        assert hours.status_code == 303, hours.text[:400]
        service_id = await _new_draft(client, team.id, "Kennismaking")
        base = f"/balie/diensten/{service_id}"
        assert (
            await post_form(client, base, base, {**EDITOR_FORM, "name": "Kennismaking"})
        ).status_code == 303
        municipality_page = f"/{seeded_service.team.municipality.slug}"
        assert (
            "Sociaal wijkteam Noord" not in (await client.get(municipality_page)).text
        )  # nothing bookable yet
        assert (await post_form(client, base, f"{base}/publiceren")).status_code == 303

        listed = await client.get(municipality_page)
        assert "Sociaal wijkteam Noord" in listed.text and f"/diensten/{service_id}" in listed.text
        slots = await client.get(f"/api/v1/services/{service_id}/slots")
        assert slots.status_code == 200 and slots.json()
        teams_page = await client.get("/balie/teams/")
        assert "Sociaal wijkteam Noord" in teams_page.text
    created = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "team.created")
    )
    assert created == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Vul de naam van het team in."),
        ({"desks": "0"}, "desks", "Vul een getal in van 1 tot en met 50."),
        ({"desks": "twee"}, "desks", "Vul een heel getal in"),
        ({"municipality": "not-a-uuid"}, "municipality", "Kies een van de mogelijkheden."),
        ({"description": "x" * 1001}, "description", "hoogstens 1000 tekens"),
    ],
)
async def test_a_wrong_team_form_is_refused_at_its_field(
    settings: Any,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    municipality_admin: str,
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    form = {"municipality": str(seeded_service.team.municipality_id), "name": "Kredietbank", "desks": "1"}
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, municipality_admin)
        refused = await post_form(client, "/balie/teams/", "/balie/teams/", {**form, **change})
        assert refused.status_code == 422
        assert f'id="team-{field}-error"' in refused.text and message in refused.text
    assert await session.scalar(select(func.count()).select_from(Team)) == 1


async def test_a_team_admin_cannot_make_teams(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession
) -> None:
    head = Official(issuer="urn:balie:dev", subject="teamleider", name="Teamleider")
    session.add(Membership(official=head, team_id=seeded_service.team_id, role="admin"))
    await session.commit()
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "teamleider")
        assert (await client.get("/balie/teams/")).status_code == 404
        form = {"municipality": str(seeded_service.team.municipality_id), "name": "Eigen team", "desks": "1"}
        assert (await post_form(client, "/balie/diensten/", "/balie/teams/", form)).status_code == 404
    assert await session.scalar(select(func.count()).select_from(Team)) == 1
