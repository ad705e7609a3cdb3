"""The desk's list shows no row of another scope, whatever the data (a property test, both databases).

Random appointments across three teams of two municipalities; an official of one team, or of the
other municipality acting under a mandate for some teams: the desk's list (backend.calls, fed by
the official's scope) holds exactly the scope's appointments of today and those waiting or in a
call now, and not one row of anywhere else.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import calls
from backend.booking.tokens import hash_token, new_token
from backend.db.models import Appointment, Mandate, Official, OpeningHours, Service, ServiceState, Team
from backend.tenancy.scope import scope_of
from backend.timefmt import AMSTERDAM
from tests.support import ALL_DAY, seed_agenda

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
STATUSES = ("booked", "waiting", "in_call", "completed", "cancelled")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

appointments = st.lists(
    st.tuples(
        st.integers(0, 2),  # the team: Rotterdam Burgerzaken, Rotterdam Wijkteam, Schiedam
        st.integers(-3 * 24 * 60, 3 * 24 * 60),  # start, in minutes from now
        st.sampled_from(STATUSES),
    ),
    max_size=12,
)
viewers = st.one_of(
    st.tuples(st.just("member"), st.integers(0, 2)),
    st.tuples(st.just("mandate"), st.sets(st.integers(0, 1), min_size=1)),
)


async def _teams(session: AsyncSession) -> None:
    rotterdam = await seed_agenda(session, cbs_code="0599", slug="rotterdam")
    await seed_agenda(session, cbs_code="0606", slug="schiedam")
    wijkteam = Team(
        municipality_id=rotterdam.team.municipality_id,
        name="Wijkteam",
        slug="wijkteam",
        opening_hours=[OpeningHours(weekday=d, opens=ALL_DAY[0], closes=ALL_DAY[1]) for d in range(7)],
    )
    wijk = Service(state=ServiceState.PUBLISHED, team=wijkteam, name="Kennismaking", slug="kennismaking")
    session.add(wijk)
    await session.commit()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=appointments, viewer=viewers)
async def test_the_desk_lists_its_scope_and_nothing_else(
    session: AsyncSession, rows: list[tuple[int, int, str]], viewer: tuple[str, Any]
) -> None:
    await session.execute(delete(Appointment))
    await session.execute(delete(Mandate))
    await session.commit()
    if not await session.scalar(select(Team.id).limit(1)):
        await _teams(session)
    services = [
        await session.scalar(select(Service).where(Service.slug == slug).join(Team).where(Team.name == team))
        for slug, team in (("geboorteaangifte", "Burgerzaken"), ("kennismaking", "Wijkteam"))
    ]
    schiedam_service = await session.scalar(
        select(Service).join(Team).where(Team.municipality_id != services[0].team.municipality_id)
    )
    services.append(schiedam_service)
    rotterdam_official = await session.scalar(
        select(Official).where(Official.subject == "official-rotterdam")
    )
    schiedam_official = await session.scalar(select(Official).where(Official.subject == "official-schiedam"))
    assert all(services) and rotterdam_official and schiedam_official
    # The Rotterdam official is a member of the team the example names.
    rotterdam_official.memberships[0].team_id = (
        services[viewer[1]].team_id if viewer[0] == "member" else services[0].team_id
    )
    made = []
    for team, minutes, status in rows:
        start = NOW + dt.timedelta(minutes=minutes)
        service = services[team]
        appointment = Appointment(
            reference=f"T-{secrets.token_hex(4).upper()}",
            service_id=service.id,
            team_id=service.team_id,
            municipality_id=service.team.municipality_id,
            start_at=start,
            end_at=start + dt.timedelta(minutes=20),
            citizen_name="Inwoner",
            citizen_email="i@example.nl",
            manage_token_hash=hash_token(new_token()),
            status=status,
        )
        session.add(appointment)
        made.append((appointment, team))
    mandate_id = None
    if viewer[0] == "mandate":
        mandate = Mandate(
            grantor_id=services[0].team.municipality_id,
            grantee_id=services[2].team.municipality_id,
            team_ids=[str(services[t].team_id) for t in sorted(viewer[1])],
            official_ids=[],
            starts_at=NOW - dt.timedelta(days=1),
            ends_at=NOW + dt.timedelta(days=1),
            reason="Storing",
            granted_by=rotterdam_official.id,
            accepted_at=NOW - dt.timedelta(days=1),
        )
        session.add(mandate)
        await session.flush()
        mandate_id = mandate.id
    await session.commit()
    official = schiedam_official if viewer[0] == "mandate" else rotterdam_official
    await session.refresh(official, ["memberships"])
    scope = await scope_of(session, official, mandate_id, NOW)
    allowed = (
        {services[viewer[1]].team_id} if viewer[0] == "member" else {services[t].team_id for t in viewer[1]}
    )
    assert scope.team_ids == allowed

    today = NOW.astimezone(AMSTERDAM).date()
    listed = {a.id for a in await calls.desk_appointments(session, scope.team_ids, today)}
    expected = {
        a.id
        for a, _ in made
        if a.team_id in allowed
        and (a.start_at.astimezone(AMSTERDAM).date() == today or a.status in ("waiting", "in_call"))
    }
    assert listed == expected
    assert all(a.team_id in allowed for a, _ in made if a.id in listed)  # zero foreign rows
    await session.commit()
