"""A sign-in keeps the memberships in step with the provider's groups, and leaves app grants alone."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Membership, OpeningHours, Team
from backend.identity import officials
from tests.support import ALL_DAY, seed_agenda

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
DEV = "urn:balie:dev"


async def test_the_provider_decides_its_own_memberships_only(session: AsyncSession) -> None:
    service = await seed_agenda(session, slug="rotterdam")
    burgerzaken = service.team
    wijkteam = Team(
        municipality_id=burgerzaken.municipality_id,
        name="Wijkteam",
        slug="wijkteam",
        opening_hours=[OpeningHours(weekday=0, opens=ALL_DAY[0], closes=ALL_DAY[1])],
    )
    session.add(wijkteam)
    await session.commit()
    claims = {"iss": DEV, "sub": "official-rotterdam", "name": "Medewerker Rotterdam"}

    # An admin granted the Wijkteam in the app; the provider gives Burgerzaken only.
    official = await officials.provision(session, claims, {burgerzaken.id: "official"}, dev_issuer=DEV)
    assert official is not None
    session.add(Membership(official_id=official.id, team_id=wijkteam.id, role="official", source="app"))
    await session.commit()

    again = await officials.provision(session, claims, {burgerzaken.id: "admin"}, dev_issuer=DEV)
    await session.commit()
    assert again is not None
    rows = {m.team_id: (m.role, m.source) for m in await session.scalars(select(Membership))}
    assert rows == {burgerzaken.id: ("admin", "provider"), wijkteam.id: ("official", "app")}

    # The provider takes Burgerzaken away: gone; the app grant stays, so the official still gets in.
    left = await officials.provision(session, claims, {}, dev_issuer=DEV)
    await session.commit()
    assert left is not None
    rows = {m.team_id: (m.role, m.source) for m in await session.scalars(select(Membership))}
    assert rows == {wijkteam.id: ("official", "app")}

    # The provider now gives the Wijkteam itself: from then on it is the provider's to take.
    await officials.provision(session, claims, {wijkteam.id: "official"}, dev_issuer=DEV)
    await session.commit()
    assert [m.source for m in await session.scalars(select(Membership))] == ["provider"]
    assert await officials.provision(session, claims, {}, dev_issuer=DEV) is None
    await session.commit()
    assert list(await session.scalars(select(Membership))) == []
