"""An official books for a citizen who phones: notice and horizon may be passed, capacity not."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment, AuditEvent, Official, OutboxMessage
from backend.timefmt import AMSTERDAM
from tests.live import CSRF_FIELD, sign_in_official
from tests.oidc import served_balie
from tests.support import seed_agenda

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


async def form_token(client: Any, path: str) -> str:
    page = await client.get(path)
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:300]
    return found.group(1)


async def test_an_official_books_outside_notice_and_horizon_but_not_over_capacity(
    settings: Any, seeded_service: Any, session: AsyncSession
) -> None:
    seeded_service.team.lead_minutes = 24 * 60  # citizens may book one day ahead at the soonest
    await session.commit()
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        await _book_for_a_caller(client, seeded_service, session)


async def _book_for_a_caller(client: Any, seeded_service: Any, session: AsyncSession) -> None:
    desk = await client.get("/balie/")
    assert "/balie/afspraak-maken" in desk.text

    listing = await client.get("/balie/afspraak-maken")
    assert f'href="/balie/afspraak-maken/{seeded_service.id}/vragen"' in listing.text
    assert (await client.get(f"/balie/afspraak-maken/{seeded_service.id}/vragen")).status_code == 303

    soon = await client.get(f"/balie/afspraak-maken/{seeded_service.id}")
    starts = [dt.datetime.fromisoformat(s) for s in re.findall(r'data-start="([^"]+)"', soon.text)]
    assert starts and starts[0] < dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # no day's notice
    far_day = dt.datetime.now(AMSTERDAM).date() + dt.timedelta(days=30)  # beyond the 14-day horizon
    far = await client.get(
        f"/balie/afspraak-maken/{seeded_service.id}", params={"vanaf": far_day.isoformat()}
    )
    far_start = re.findall(r'data-start="([^"]+)"', far.text)[0]
    citizen_view = await client.get(
        f"/api/v1/services/{seeded_service.id}/slots", params={"from": far_day.isoformat()}
    )
    assert citizen_view.json() == []  # citizens cannot book that far ahead

    path = f"/balie/afspraak-maken/{seeded_service.id}/boeken"
    token = await form_token(client, f"{path}?start={far_start.replace('+', '%2B')}")
    data = {
        "_csrf_token": token,
        "start": far_start,
        "name": "Piet Jansen",
        "email": "piet@example.nl",
        "language": "en",
        "consent": "yes",
    }
    made = await client.post(path, data=data)
    assert made.status_code == 303, made.text
    done = await client.get(made.headers["location"])
    assert "De afspraak is gemaakt" in done.text and re.search(r"DB-[A-Z0-9]{4}-[A-Z0-9]{2}", done.text)

    appointment = (await session.scalars(select(Appointment))).one()
    official = (
        await session.scalars(select(Official).where(Official.subject == "official-testgemeente"))
    ).one()
    confirmation = (
        await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    ).one()
    booked = (
        await session.scalars(select(AuditEvent).where(AuditEvent.action == "appointment.booked"))
    ).one()
    await session.commit()
    assert appointment.created_by_official_id == official.id and appointment.locale == "en"
    assert confirmation.subject.startswith("Your video appointment")
    assert booked.actor == f"official:{official.id}" and booked.details["by_official"] is True

    again = await client.post(path, data={**data, "email": "anders@example.nl"})
    assert again.status_code == 409 and "net door iemand anders geboekt" in again.text

    desk = await client.get("/balie/")
    assert desk.status_code == 200


async def test_another_teams_service_is_not_found_and_audited(
    settings: Any, seeded_service: Any, session: AsyncSession
) -> None:
    other = await seed_agenda(session, cbs_code="0363", slug="amsterdam")
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        refused = await client.get(f"/balie/afspraak-maken/{other.id}")
    assert refused.status_code == 404
    denied = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied"))).all()
    await session.commit()
    assert [e.object_id for e in denied] == [str(other.id)]
