"""Uitwijk: Rotterdam gives Schiedam a mandate for its Burgerzaken; Schiedam accepts, acts, loses it.

Through the real app over HTTP and WebSocket, on SQLite and PostgreSQL: grant (and what a wrong
grant gets), acceptance, the desk's "Namens Gemeente Rotterdam", what the mandated official may and
may not reach, the audit trail on both sides, revocation mid-session (sockets closed, next request
404) and expiry.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.tokens import hash_token, new_token
from backend.db.models import (
    Appointment,
    AuditEvent,
    Mandate,
    Membership,
    Municipality,
    MunicipalityAdmin,
    Official,
    OpeningHours,
    Participant,
    Service,
    ServiceState,
    Team,
)
from backend.timefmt import AMSTERDAM
from tests.integration.signalling_support import Peer
from tests.live import CSRF_FIELD, cookie_header, sign_in_official
from tests.oidc import served_balie
from tests.support import ALL_DAY, seed_agenda

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


async def _all(session: AsyncSession, statement: Any) -> list[Any]:
    """Rows read, and the read ended (on SQLite an open read makes the app's next write wait)."""
    found = list(await session.scalars(statement))
    await session.commit()
    return found


async def _one(session: AsyncSession, statement: Any) -> Any:
    found = await _all(session, statement)
    assert len(found) == 1, found
    return found[0]


async def _appointment(session: AsyncSession, service: Service, name: str) -> tuple[Appointment, str]:
    token = new_token()
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    appointment = Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name=name,
        citizen_email="inwoner@example.nl",
        manage_token_hash=hash_token(new_token()),
        participants=[
            Participant(role="citizen", name=name, email="i@example.nl", join_token_hash=hash_token(token))
        ],
    )
    session.add(appointment)
    await session.commit()
    return appointment, token


class Towns:
    """Rotterdam (Burgerzaken and a Wijkteam) and Schiedam (Burgerzaken), officials and admins."""

    def __init__(self) -> None:
        self.ids: dict[str, Any] = {}
        self.now = dt.datetime.now(dt.UTC)
        self.hour = dt.timedelta(hours=1)

    async def seed(self, session: AsyncSession) -> Towns:
        rotterdam_service = await seed_agenda(session, cbs_code="0599", slug="rotterdam")
        schiedam_service = await seed_agenda(session, cbs_code="0606", slug="schiedam")
        rotterdam = rotterdam_service.team.municipality
        schiedam = schiedam_service.team.municipality
        wijkteam = Team(
            municipality_id=rotterdam.id,
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
        admin_r = Official(issuer="urn:balie:dev", subject="admin-rotterdam", name="Beheerder Rotterdam")
        admin_s = Official(issuer="urn:balie:dev", subject="admin-schiedam", name="Beheerder Schiedam")
        session.add_all([wijk_service, admin_r, admin_s])
        await session.flush()
        session.add_all(
            [
                MunicipalityAdmin(official_id=admin_r.id, municipality_id=rotterdam.id),
                MunicipalityAdmin(official_id=admin_s.id, municipality_id=schiedam.id),
            ]
        )
        await session.commit()
        own, _ = await _appointment(session, schiedam_service, "Inwoner Schiedam")
        theirs, token = await _appointment(session, rotterdam_service, "Inwoner Rotterdam")
        other_team, _ = await _appointment(session, wijk_service, "Inwoner Wijkteam")
        self.ids = {
            "rotterdam": rotterdam.id,
            "schiedam": schiedam.id,
            "burgerzaken": rotterdam_service.team_id,
            "rotterdam_service": rotterdam_service.id,
            "wijk_service": wijk_service.id,
            "own": own.id,
            "theirs": theirs.id,
            "theirs_token": token,
            "theirs_citizen": theirs.participants[0].id,
            "other_team": other_team.id,
            "admin_rotterdam": admin_r.id,
        }
        return self


async def _token(client: Any, path: str) -> str:
    page = await client.get(path)
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:300]
    return found.group(1)


async def _post(client: Any, path: str, data: dict[str, str], *, form_page: str = "/balie/mandaten") -> Any:
    return await client.post(path, data={"_csrf_token": await _token(client, form_page), **data})


def _grant_form(towns: Towns, *, starts: dt.date, ends: dt.date, **extra: str) -> dict[str, str]:
    return {
        "grantee": str(towns.ids["schiedam"]),
        f"team_{towns.ids['burgerzaken']}": "yes",
        "starts": starts.isoformat(),
        "ends": ends.isoformat(),
        "reason": "Ons stadhuis is dicht door een storing.",
        **extra,
    }


async def test_grant_accept_act_audit_revoke(settings: Any, session: AsyncSession) -> None:
    """One app (one channels hub): the three people are three browsers on it."""
    towns = await Towns().seed(session)
    today = dt.datetime.now(AMSTERDAM).date()
    async with served_balie(settings) as (_, admin_r):
        await sign_in_official(admin_r, "admin-rotterdam")
        assert "/balie/mandaten" in (await admin_r.get("/balie/")).text

        # Wrong grants change nothing and say what is wrong, at the field, with the input kept.
        wrong = await _post(
            admin_r, "/balie/mandaten", _grant_form(towns, starts=today, ends=today - dt.timedelta(days=2))
        )
        assert wrong.status_code == 422 and "Het mandaat moet eindigen na het begin." in wrong.text
        assert "Ons stadhuis is dicht door een storing." in wrong.text
        no_team = _grant_form(towns, starts=today, ends=today)
        del no_team[f"team_{towns.ids['burgerzaken']}"]
        assert "Kies minstens één team." in (await _post(admin_r, "/balie/mandaten", no_team)).text
        stranger = _grant_form(towns, starts=today, ends=today, officials="niemand@elders.example")
        assert "niemand@elders.example" in (await _post(admin_r, "/balie/mandaten", stranger)).text
        assert await _all(session, select(Mandate)) == []

        granted = await _post(
            admin_r, "/balie/mandaten", _grant_form(towns, starts=today, ends=today + dt.timedelta(days=6))
        )
        assert granted.status_code == 303, granted.text[:500]
        overlapping = await _post(
            admin_r,
            "/balie/mandaten",
            _grant_form(towns, starts=today + dt.timedelta(days=3), ends=today + dt.timedelta(days=9)),
        )
        assert overlapping.status_code == 422 and "Er is al een mandaat" in overlapping.text
        mandate = await _one(session, select(Mandate))

        async with httpx.AsyncClient(base_url=admin_r.base_url, timeout=20) as official_s:
            await sign_in_official(official_s, "official-schiedam")
            desk = await official_s.get("/balie/")
            assert "Namens" not in desk.text  # not accepted yet: no mandate to act under
            # An admin of Rotterdam cannot accept on Schiedam's behalf (404, as any foreign object).
            assert (await _post(admin_r, f"/balie/mandaten/{mandate.id}/aanvaarden", {})).status_code == 404

            async with httpx.AsyncClient(base_url=admin_r.base_url, timeout=20) as admin_s:
                await sign_in_official(admin_s, "admin-schiedam")
                received = await admin_s.get("/balie/mandaten")
                assert "Gemeente Rotterdam" in received.text and "Wacht op antwoord" in received.text
                accepted = await _post(admin_s, f"/balie/mandaten/{mandate.id}/aanvaarden", {})
                assert accepted.status_code == 303

                # Before switching, the Schiedam official works in Schiedam only.
                assert (
                    await official_s.get(f"/balie/afspraken/{towns.ids['theirs']}/gesprek")
                ).status_code == 404
                desk = await official_s.get("/balie/")
                assert "Namens Gemeente Rotterdam" in desk.text
                switched = await _post(
                    official_s, "/balie/namens", {"mandate": str(mandate.id)}, form_page="/balie/"
                )
                assert switched.status_code == 303
                desk = await official_s.get("/balie/")
                assert "U werkt namens Gemeente Rotterdam" in desk.text
                assert "Inwoner Rotterdam" in desk.text
                assert "Inwoner Schiedam" not in desk.text and "Inwoner Wijkteam" not in desk.text
                assert (
                    await official_s.get(f"/balie/afspraken/{towns.ids['theirs']}/gesprek")
                ).status_code == 200
                for foreign in ("own", "other_team"):
                    assert (
                        await official_s.get(f"/balie/afspraken/{towns.ids[foreign]}/gesprek")
                    ).status_code == 404
                assert (await official_s.get("/balie/agenda")).status_code == 404
                assert (await official_s.get("/balie/logboek")).status_code in (401, 403, 404)
                services = await official_s.get("/balie/afspraak-maken")
                assert str(towns.ids["rotterdam_service"]) in services.text
                assert str(towns.ids["wijk_service"]) not in services.text

                # The call socket works for Rotterdam's appointment under the mandate ...
                base = settings_base(official_s)
                call = await Peer.open(
                    base, f"/ws/call/{towns.ids['theirs']}", {"session": secrets.token_hex(8)},
                    cookie_header(official_s), origin=str(official_s.base_url).rstrip("/"),
                )  # fmt: skip
                assert (await call.receive("welcome"))["type"] == "welcome"
                desk_socket = await Peer.open(
                    base, "/ws/desk", {"session": secrets.token_hex(8)},
                    cookie_header(official_s), origin=str(official_s.base_url).rstrip("/"),
                )  # fmt: skip
                queue = await desk_socket.receive_until("queue")
                assert [a["id"] for a in queue["appointments"]] == [str(towns.ids["theirs"])]

                # What they do there is audited as done for Rotterdam, shared with Schiedam.
                asked = await _post(
                    official_s,
                    f"/balie/afspraken/{towns.ids['theirs']}/deelnemers/{towns.ids['theirs_citizen']}/digid",
                    {},
                    form_page=f"/balie/afspraken/{towns.ids['theirs']}/gesprek",
                )
                assert asked.status_code in (204, 303), asked.text[:300]
                request_event = await _one(
                    session, select(AuditEvent).where(AuditEvent.action == "identity.request")
                )
                assert request_event.municipality_id == towns.ids["rotterdam"]
                assert request_event.mandate_id == mandate.id
                assert request_event.shared_with_id == towns.ids["schiedam"]

                # ... and both trails show what the Schiedam official did for Rotterdam.
                for admin in (admin_r, admin_s):
                    trail = await admin.get("/balie/logboek")
                    assert trail.status_code == 200
                    assert 'data-action="mandate.acting"' in trail.text
                    assert "namens Gemeente Rotterdam" in trail.text
                    assert "mandaat Gemeente Rotterdam → Gemeente Schiedam" in trail.text  # names, not ids
                    assert str(mandate.id) not in trail.text
                acting = await _one(session, select(AuditEvent).where(AuditEvent.action == "mandate.acting"))
                assert acting.municipality_id == towns.ids["rotterdam"]
                assert acting.shared_with_id == towns.ids["schiedam"] and acting.mandate_id == mandate.id
                granted_event = await _one(
                    session, select(AuditEvent).where(AuditEvent.action == "mandate.granted")
                )
                assert granted_event.details["before"] is None
                assert granted_event.details["after"]["teams"] == [str(towns.ids["burgerzaken"])]

                # Rotterdam revokes: the open sockets close, the next request is 404.
                revoked = await _post(admin_r, f"/balie/mandaten/{mandate.id}/intrekken", {})
                assert revoked.status_code == 303
                assert await call.closed_with() == 4403
                assert await desk_socket.closed_with() == 4403
                assert (
                    await official_s.get(f"/balie/afspraken/{towns.ids['theirs']}/gesprek")
                ).status_code == 404
                desk = await official_s.get("/balie/")
                assert "Inwoner Schiedam" in desk.text and "Inwoner Rotterdam" not in desk.text
                revoked_event = await _one(
                    session, select(AuditEvent).where(AuditEvent.action == "mandate.revoked")
                )
                assert revoked_event.details["before"]["revoked_at"] is None
                assert revoked_event.details["after"]["revoked_at"] is not None
                # A revoked mandate cannot be accepted again.
                again = await _post(admin_s, f"/balie/mandaten/{mandate.id}/aanvaarden", {})
                assert again.status_code == 409


def settings_base(client: Any) -> str:
    return re.sub(r"^https?://", "", str(client.base_url)).rstrip("/")


async def test_an_ended_mandate_stops_by_itself(settings: Any, session: AsyncSession) -> None:
    """Expiry needs nobody: at its end the mandate's sockets close and it counts no longer."""
    towns = await Towns().seed(session)
    now = dt.datetime.now(dt.UTC)
    admin_r = await _one(session, select(Official).where(Official.subject == "admin-rotterdam"))
    mandate = Mandate(
        grantor_id=towns.ids["rotterdam"],
        grantee_id=towns.ids["schiedam"],
        team_ids=[str(towns.ids["burgerzaken"])],
        official_ids=[],
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(seconds=4),
        reason="Oefening",
        granted_by=admin_r.id,
        accepted_at=now - dt.timedelta(minutes=30),
    )
    session.add(mandate)
    await session.commit()
    async with served_balie(settings) as (_, official_s):
        await sign_in_official(official_s, "official-schiedam")
        await _post(official_s, "/balie/namens", {"mandate": str(mandate.id)}, form_page="/balie/")
        assert "U werkt namens Gemeente Rotterdam" in (await official_s.get("/balie/")).text
        desk_socket = await Peer.open(
            settings_base(official_s), "/ws/desk", {"session": secrets.token_hex(8)},
            cookie_header(official_s), origin=str(official_s.base_url).rstrip("/"),
        )  # fmt: skip
        await desk_socket.receive_until("queue")
        assert await desk_socket.closed_with() == 4403
        assert (await official_s.get(f"/balie/afspraken/{towns.ids['theirs']}/gesprek")).status_code == 404
        assert "U werkt namens" not in (await official_s.get("/balie/")).text


async def test_a_mandate_for_named_officials_leaves_their_colleagues_out(
    settings: Any, session: AsyncSession
) -> None:
    towns = await Towns().seed(session)
    schiedam_team = await _one(session, select(Team).where(Team.municipality_id == towns.ids["schiedam"]))
    named = Official(
        issuer="urn:balie:dev", subject="named-schiedam", name="Genoemd", email="genoemd@schiedam.example"
    )
    session.add(named)
    await session.flush()
    session.add(Membership(official_id=named.id, team_id=schiedam_team.id, role="official"))
    await session.commit()
    today = dt.datetime.now(AMSTERDAM).date()
    async with served_balie(settings) as (_, admin_r):
        await sign_in_official(admin_r, "admin-rotterdam")
        form = _grant_form(towns, starts=today, ends=today, officials="Genoemd@Schiedam.example")
        assert (await _post(admin_r, "/balie/mandaten", form)).status_code == 303
        mandate = await _one(session, select(Mandate))
        assert mandate.official_ids == [str(named.id)]
        mandate.accepted_at = dt.datetime.now(dt.UTC)
        await session.commit()
    async with served_balie(settings) as (_, colleague):
        await sign_in_official(colleague, "official-schiedam")
        assert "Namens Gemeente Rotterdam" not in (await colleague.get("/balie/")).text
        await _post(colleague, "/balie/namens", {"mandate": str(mandate.id)}, form_page="/balie/")
        assert (await colleague.get(f"/balie/afspraken/{towns.ids['theirs']}/gesprek")).status_code == 404
    async with served_balie(settings) as (_, holder):
        await sign_in_official(holder, "named-schiedam")
        assert "Namens Gemeente Rotterdam" in (await holder.get("/balie/")).text
        await _post(holder, "/balie/namens", {"mandate": str(mandate.id)}, form_page="/balie/")
        assert (await holder.get(f"/balie/afspraken/{towns.ids['theirs']}/gesprek")).status_code == 200
    municipalities = await _all(session, select(Municipality))
    assert len(municipalities) == 2
