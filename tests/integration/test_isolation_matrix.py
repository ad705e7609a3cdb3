"""Isolation, proved from the app's own route table (docs/adr/0011-tenancy.md).

Every staff route that takes an object id is tried with an id of Rotterdam's Burgerzaken (an
appointment, its participant and document, the team, its service and a day with other hours, a
mandate between two other municipalities, and Rotterdam itself) by an official who may not reach it:

- an official (and admin) of another municipality, Schiedam;
- an official (and team admin) of another team of Rotterdam, the Wijkteam;
- Schiedam's official under a mandate for Burgerzaken that was revoked, or that ended, after they
  switched to it;
- Schiedam's official under a running mandate for Rotterdam's Wijkteam (another team).

Each id is tried alone (the route's other ids the official's own) and all together. Every attempt
answers 404, never 200 and never a 403 that would say the object exists, and writes one
``access.denied`` audit event. The call socket closes with 4404 for the foreign appointment. A new
route with an id is in the matrix without anyone adding it; an id this test cannot fill fails it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import re
import secrets
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.enums import RequestEncodingType
from litestar.routes import HTTPRoute
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.tokens import hash_token, new_token
from backend.db.models import (
    Appointment,
    AuditEvent,
    Document,
    Fee,
    Mandate,
    Membership,
    Municipality,
    MunicipalityAdmin,
    Official,
    OpeningHours,
    Participant,
    Payment,
    ScheduleException,
    Service,
    ServiceState,
    StaffInvitation,
    Team,
)
from tests.integration.signalling_support import Peer
from tests.live import CSRF_FIELD, cookie_header, sign_in_official
from tests.oidc import served_balie
from tests.support import ALL_DAY, seed_agenda

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)

ID_PARAM = re.compile(r"\{(\w+):uuid\}")
SCENARIOS = ("other_municipality", "other_team", "revoked_mandate", "ended_mandate", "mandate_for_other_team")


@dataclasses.dataclass
class Objects:
    """One of each object type in one team: the ids a route can take."""

    appointment_id: uuid.UUID
    participant_id: uuid.UUID
    document_id: uuid.UUID
    team_id: uuid.UUID
    service_id: uuid.UUID
    exception_id: uuid.UUID
    mandate_id: uuid.UUID
    membership_id: uuid.UUID
    invitation_id: uuid.UUID
    municipality_id: uuid.UUID
    payment_id: uuid.UUID
    fee_id: uuid.UUID

    def ids(self) -> dict[str, uuid.UUID]:
        return dataclasses.asdict(self)


async def _objects(session: AsyncSession, service: Service, mandate_id: uuid.UUID) -> Objects:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    participant = Participant(
        role="citizen", name="Inwoner", email="i@example.nl", join_token_hash=hash_token(new_token())
    )
    appointment = Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name="Inwoner",
        citizen_email="inwoner@example.nl",
        manage_token_hash=hash_token(new_token()),
        participants=[participant],
    )
    session.add(appointment)
    await session.flush()
    document = Document(
        appointment_id=appointment.id,
        shared_by_role="citizen",
        shared_by_participant_id=participant.id,
        name="paspoort.pdf",
        content_type="application/pdf",
        size=10,
        sha256="ab" * 32,
        storage_key=secrets.token_hex(16),
        wrapped_key=b"x",
        expires_at=start + dt.timedelta(days=1),
    )
    exception = ScheduleException(
        team_id=service.team_id, day=start.date() + dt.timedelta(days=30), blocks=[]
    )
    member = Official(issuer="urn:balie:dev", subject=f"lid-{secrets.token_hex(4)}", name="Lid")
    membership = Membership(official=member, team_id=service.team_id, role="official", source="app")
    invitation = StaffInvitation(
        team_id=service.team_id,
        email="nieuw@example.nl",
        token_hash=hash_token(new_token()),
        expires_at=start + dt.timedelta(days=7),
    )
    fee = Fee(service_id=service.id, description="Afschrift", amount_cents=1710)
    session.add_all([document, exception, membership, invitation, fee])
    await session.flush()
    payment = Payment(
        appointment_id=appointment.id,
        municipality_id=appointment.municipality_id,
        fee_id=fee.id,
        description="Afschrift",
        amount_cents=1710,
        provider_payment_id=f"tr_{secrets.token_hex(5)}",
        status="open",
        status_changed_at=start,
    )
    session.add(payment)
    await session.commit()
    return Objects(
        appointment.id,
        participant.id,
        document.id,
        service.team_id,
        service.id,
        exception.id,
        mandate_id,
        membership.id,
        invitation.id,
        service.team.municipality_id,
        payment.id,
        fee.id,
    )


def _mandate(grantor: uuid.UUID, grantee: uuid.UUID, team: uuid.UUID, by: uuid.UUID, **marks: Any) -> Mandate:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "grantor_id": grantor,
        "grantee_id": grantee,
        "team_ids": [str(team)],
        "official_ids": [],
        "starts_at": now - dt.timedelta(days=1),
        "ends_at": now + dt.timedelta(days=7),
        "reason": "Storing",
        "granted_by": by,
        "accepted_at": now - dt.timedelta(days=1),
    }
    return Mandate(**{**values, **marks})


@dataclasses.dataclass
class World:
    foreign: Objects
    """Rotterdam's Burgerzaken: what nobody in the scenarios may reach."""
    schiedam: Objects
    wijkteam: Objects
    mandates: dict[str, uuid.UUID]


async def _world(session: AsyncSession) -> World:
    burgerzaken = await seed_agenda(session, cbs_code="0599", slug="rotterdam")
    schiedam_service = await seed_agenda(session, cbs_code="0606", slug="schiedam")
    rotterdam_id = burgerzaken.team.municipality_id
    schiedam_id = schiedam_service.team.municipality_id
    vlaardingen = Municipality(cbs_code="0622", name="Gemeente Vlaardingen", slug="vlaardingen")
    wijkteam = Team(
        municipality_id=rotterdam_id,
        name="Wijkteam",
        slug="wijkteam",
        closed_on_public_holidays=False,
        opening_hours=[OpeningHours(weekday=d, opens=ALL_DAY[0], closes=ALL_DAY[1]) for d in range(7)],
    )
    wijk_service = Service(
        state=ServiceState.PUBLISHED,
        team=wijkteam,
        name="Kennismaking",
        slug="kennismaking",
        duration_minutes=30,
    )
    wijk_official = Official(issuer="urn:balie:dev", subject="wijk-rotterdam", name="Wijkteam Rotterdam")
    session.add_all([vlaardingen, wijk_service, wijk_official])
    await session.flush()
    schiedam_official = await session.scalar(select(Official).where(Official.subject == "official-schiedam"))
    assert schiedam_official is not None
    await session.execute(  # the strongest roles their own municipality and team can give
        update(Membership).where(Membership.official_id == schiedam_official.id).values(role="admin")
    )
    session.add_all(
        [
            Membership(official_id=wijk_official.id, team_id=wijkteam.id, role="admin"),
            MunicipalityAdmin(official_id=schiedam_official.id, municipality_id=schiedam_id),
        ]
    )
    by = wijk_official.id
    elsewhere = _mandate(rotterdam_id, vlaardingen.id, burgerzaken.team_id, by, accepted_at=None)
    revoked = _mandate(rotterdam_id, schiedam_id, burgerzaken.team_id, by)
    ended = _mandate(rotterdam_id, schiedam_id, burgerzaken.team_id, by, starts_at=dt.datetime.now(dt.UTC))
    other_team = _mandate(rotterdam_id, schiedam_id, wijkteam.id, by)
    session.add_all([elsewhere, revoked, ended, other_team])
    await session.commit()
    return World(
        foreign=await _objects(session, burgerzaken, elsewhere.id),
        schiedam=await _objects(session, schiedam_service, elsewhere.id),
        wijkteam=await _objects(session, wijk_service, elsewhere.id),
        mandates={"revoked": revoked.id, "ended": ended.id, "other_team": other_team.id},
    )


def staff_routes(app: Litestar) -> list[tuple[str, str, list[str], bool]]:
    """(method, path, id parameters, whether it takes JSON) of every staff route with an object id."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/balie/"):
            continue
        params = ID_PARAM.findall(route.path)
        for method in sorted(set(route.methods) - {"OPTIONS", "HEAD"}):
            if params:
                handler = route.route_handler_map[method][0]
                data = inspect.signature(handler.fn).parameters.get("data")
                media = getattr(data.default, "media_type", None) if data is not None else None
                takes_json = data is not None and media in (None, RequestEncodingType.JSON)
                found.append((method, route.path, params, takes_json))
    return found


async def _token(client: httpx.AsyncClient) -> str:
    desk = await client.get("/balie/")
    found = CSRF_FIELD.search(desk.text)
    assert found, desk.text[:300]
    return found.group(1)


async def _as(scenario: str, client: httpx.AsyncClient, session: AsyncSession, world: World) -> Objects:
    """Sign in as the scenario's official (switching to its mandate); their own objects."""
    if scenario == "other_team":
        await sign_in_official(client, "wijk-rotterdam")
        return world.wijkteam
    await sign_in_official(client, "official-schiedam")
    key = {"revoked_mandate": "revoked", "ended_mandate": "ended", "mandate_for_other_team": "other_team"}
    if scenario not in key:
        return world.schiedam
    mandate_id = world.mandates[key[scenario]]
    switched = await client.post(
        "/balie/namens", data={"_csrf_token": await _token(client), "mandate": str(mandate_id)}
    )
    assert switched.status_code == 303
    assert "U werkt namens" in (await client.get("/balie/")).text
    now = dt.datetime.now(dt.UTC)
    if scenario == "revoked_mandate":
        await session.execute(update(Mandate).where(Mandate.id == mandate_id).values(revoked_at=now))
    elif scenario == "ended_mandate":
        await session.execute(update(Mandate).where(Mandate.id == mandate_id).values(ends_at=now))
    await session.commit()
    return world.wijkteam if scenario == "mandate_for_other_team" else world.schiedam


async def _denials(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access.denied")
    )
    await session.commit()  # end the read: on SQLite the app's next write would wait for it
    return int(count or 0)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_no_route_reaches_what_is_not_yours(
    settings: Any, session: AsyncSession, scenario: str
) -> None:
    world = await _world(session)
    async with served_balie(settings) as (app, client):
        own = await _as(scenario, client, session, world)
        token = await _token(client)
        routes = staff_routes(app)
        assert len(routes) >= 20, routes  # the matrix reads the real table
        wrong: list[str] = []
        for method, path, params, takes_json in routes:
            unknown = [p for p in params if p not in own.ids()]
            assert not unknown, f"{path}: no object for {unknown}; add the type to Objects"
            tries = [{p} for p in params] + ([set(params)] if len(params) > 1 else [])
            for foreign in tries:
                url = path
                for p in params:
                    chosen = world.foreign if p in foreign else own
                    url = url.replace(f"{{{p}:uuid}}", str(chosen.ids()[p]))
                before = await _denials(session)
                if method == "GET":
                    answer = await client.get(url)
                elif takes_json:
                    answer = await client.request(method, url, json={}, headers={"X-CSRFToken": token})
                else:
                    answer = await client.request(method, url, data={"_csrf_token": token})
                after = await _denials(session)
                if answer.status_code != 404 or after != before + 1:
                    audited = after - before
                    wrong.append(
                        f"{method} {path} foreign={sorted(foreign)}: {answer.status_code}, audited {audited}"
                    )
        assert not wrong, "\n".join(wrong)

        base = str(client.base_url).removeprefix("http://").rstrip("/")
        call = await Peer.open(
            base,
            f"/ws/call/{world.foreign.appointment_id}",
            {"session": secrets.token_hex(8)},
            cookie_header(client),
            origin=str(client.base_url).rstrip("/"),
        )
        assert await call.closed_with() == 4404
