"""A team admin edits the agenda on /balie/agenda; the free times follow at once, without a deploy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEvent, Membership, Official, OpeningHours, Service
from backend.timefmt import AMSTERDAM
from tests.live import post_form, sign_in_official
from tests.oidc import served_balie

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def local(start: str) -> dt.datetime:
    return dt.datetime.fromisoformat(start).astimezone(AMSTERDAM)


async def free(client: httpx.AsyncClient, service_id: object, **query: str) -> list[dict[str, str]]:
    response = await client.get(f"/api/v1/services/{service_id}/slots", params=query)
    assert response.status_code == 200, response.text
    slots: list[dict[str, str]] = response.json()
    return slots


@pytest.fixture
async def admin(session: AsyncSession, seeded_service: Any) -> str:
    first = await session.scalar(select(Official).where(Official.subject == "official-testgemeente"))
    assert first is not None
    head = Official(issuer=first.issuer, subject="teamleider", name="Teamleider Burgerzaken")
    session.add(Membership(official=head, team_id=seeded_service.team_id, role="admin"))
    await session.commit()
    return "teamleider"


async def test_the_team_admin_changes_hours_dates_and_service_rules(
    settings: Any, engine: Any, seeded_service: Any, session: AsyncSession, admin: str
) -> None:
    tomorrow = dt.datetime.now(AMSTERDAM).date() + dt.timedelta(days=1)
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, admin)
        agenda = await client.get("/balie/agenda/")
        assert agenda.status_code == 200 and "Openingstijden per week" in agenda.text
        assert "Geboorteaangifte" in agenda.text

        week = {f"day_{day}": "10:00-11:00, 14:00 - 15:00 (1)" for day in range(7)}
        saved = await post_form(
            client,
            "/balie/agenda/",
            f"/balie/agenda/{seeded_service.team_id}",
            {**week, "desks": "2", "lead_minutes": "0", "horizon_days": "14"},
        )
        assert saved.status_code == 303
        times = {
            (local(s["start"]).hour, local(s["start"]).minute) for s in await free(client, seeded_service.id)
        }
        assert times and times <= {(10, 0), (10, 20), (10, 40), (14, 0), (14, 20), (14, 40)}

        assert 'value="10:00-11:00, 14:00-15:00 (1)"' in (await client.get("/balie/agenda/")).text
        closed = await post_form(
            client,
            "/balie/agenda/",
            f"/balie/agenda/{seeded_service.team_id}/uitzonderingen",
            {"day": tomorrow.isoformat(), "hours": "", "note": "Teamuitje"},
        )
        assert closed.status_code == 303
        on_the_day = await free(
            client, seeded_service.id, **{"from": tomorrow.isoformat(), "to": tomorrow.isoformat()}
        )
        assert on_the_day == []
        listed = await client.get("/balie/agenda/")
        assert "Teamuitje" in listed.text

        longer = await post_form(
            client,
            "/balie/agenda/",
            f"/balie/agenda/diensten/{seeded_service.id}",
            {
                "duration_minutes": "30",
                "step_minutes": "",
                "buffer_minutes": "0",
                "lead_minutes": "",
                "horizon_days": "",
                "capacity": "",
                "max_active_per_email": "3",
                "reminder_hours": "48, 2",
            },
        )
        assert longer.status_code == 303
        slot = (await free(client, seeded_service.id))[0]
        assert local(slot["end"]) - local(slot["start"]) == dt.timedelta(minutes=30)

    desks = {(row.opens.hour, row.desks) for row in await session.scalars(select(OpeningHours))}
    assert desks == {(10, None), (14, 1)}
    service = await session.get(Service, seeded_service.id, populate_existing=True)
    assert (
        service is not None and service.reminder_minutes == [2880, 120] and service.max_active_per_email == 3
    )
    changes = list(
        await session.scalars(select(AuditEvent.details).where(AuditEvent.action == "agenda.changed"))
    )
    await session.commit()
    assert [c["what"] for c in changes] == ["team", "exception", "service"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"day_0": "9 tot 5"}, "Schrijf de tijden zo: 09:00-12:30"),
        ({"day_1": "12:00-09:00"}, "Een blok moet later sluiten dan het opengaat."),
        ({"day_2": "09:00-12:00, 11:00-13:00"}, "De blokken overlappen elkaar."),
        ({"day_3": "09:03-12:00"}, "Gebruik tijden in stappen van 5 minuten"),
        ({"desks": "0"}, "Vul een getal in van 1 tot en met 50."),
        ({"horizon_days": "veel"}, "Vul een heel getal in, zonder letters."),
        ({"lead_minutes": "9" * 5000}, "Vul een heel getal in, zonder letters."),
    ],
)
async def test_a_wrong_field_is_explained_and_nothing_changes(
    settings: Any,
    engine: Any,
    seeded_service: Any,
    session: AsyncSession,
    admin: str,
    fields: dict[str, str],
    message: str,
) -> None:
    before = len(list(await session.scalars(select(OpeningHours))))
    await session.commit()
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, admin)
        form = {f"day_{day}": "09:00-17:00" for day in range(7)}
        form.update({"desks": "1", "lead_minutes": "0", "horizon_days": "14"})
        refused = await post_form(
            client, "/balie/agenda/", f"/balie/agenda/{seeded_service.team_id}", {**form, **fields}
        )
        assert refused.status_code == 422 and message in refused.text
        assert 'aria-invalid="true"' in refused.text
        typed = next(iter(fields.values()))
        assert f'value="{typed}"' in refused.text or len(typed) > 100  # shown again as typed
    rows = list(await session.scalars(select(OpeningHours)))
    await session.commit()
    assert len(rows) == before and all(r.opens == dt.time(0, 0) for r in rows)


async def test_officials_who_are_not_admin_get_no_agenda(
    settings: Any, engine: Any, seeded_service: Any, session: AsyncSession, admin: str
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        assert (await client.get("/balie/agenda/")).status_code == 404
        desk = await client.get("/balie/")
        assert "/balie/agenda" not in desk.text
        forged = await post_form(
            client, "/balie/", f"/balie/agenda/{seeded_service.team_id}", {"desks": "9", "lead_minutes": "0"}
        )
        assert forged.status_code == 404
    denied = list(
        await session.scalars(select(AuditEvent.action).where(AuditEvent.action == "access.denied"))
    )
    await session.commit()
    assert len(denied) == 2
