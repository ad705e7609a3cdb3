"""A team admin manages the team's officials on /balie/medewerkers: an invitation by e-mail with a
one-time link that binds whoever signs in with it (the invited address only), roles changed,
an official taken off the team (their desk socket closes at once, a sign-in does not bring them
back) and let in again. Bad input and other teams' objects are refused."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEvent, Membership, Official, OutboxMessage, Service, StaffInvitation, Team
from tests.integration.signalling_support import Peer
from tests.integration.test_invitations import opened, parts
from tests.live import cookie_header, follow_link, post_form, sign_in_official, through_dev_provider
from tests.oidc import served_balie

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PAGE = "/balie/medewerkers/"
NEWCOMER = "nieuw@testgemeente.example"


@pytest.fixture
async def team_admin(session: AsyncSession, seeded_service: Service) -> str:
    head = Official(
        issuer="urn:balie:dev", subject="teamleider", name="Teamleider", email="leider@testgemeente.example"
    )
    session.add(Membership(official=head, team_id=seeded_service.team_id, role="admin"))
    newcomer = Official(issuer="urn:balie:dev", subject="nieuw", name="Nina Nieuw", email=NEWCOMER)
    stranger = Official(
        issuer="urn:balie:dev", subject="ander", name="Anton Ander", email="ander@elders.example"
    )
    session.add_all([newcomer, stranger])
    await session.commit()
    return "teamleider"


async def _invite(
    client: httpx.AsyncClient, team_id: object, email: str = NEWCOMER, role: str = "official"
) -> httpx.Response:
    return await post_form(client, PAGE, f"{PAGE}{team_id}/uitnodigen", {"email": email, "role": role})


async def _link_token(session: AsyncSession, settings: Any) -> str:
    session.expire_all()
    row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "staff_invitation"))
    assert row is not None
    text, html = parts(await opened(row, settings, session))
    await session.commit()
    found = re.search(r"/balie/uitnodiging/([A-Za-z0-9_-]+)", text)
    assert found and found.group(0) in html
    assert "Teamleider nodigt u uit voor team Burgerzaken" in text
    return found.group(1)


async def _sign_in_with(client: httpx.AsyncClient, token: str, subject: str) -> httpx.Response:
    shown = await client.get(f"/balie/uitnodiging/{token}")
    assert shown.status_code == 200 and "Burgerzaken" in shown.text
    onward = await client.get(f"/balie/uitnodiging/{token}/inloggen")
    assert onward.status_code == 303 and onward.headers["location"] == "/balie/inloggen?uitnodiging=1"
    started = await follow_link(client, onward.headers["location"], "sign-in")
    callback = await through_dev_provider(client, started, {"sub": subject})
    return await client.get(callback)


async def _membership(session: AsyncSession, subject: str) -> Membership | None:
    session.expire_all()
    found = await session.scalar(select(Membership).join(Official).where(Official.subject == subject))
    await session.commit()
    return found


async def test_an_invited_colleague_signs_in_once_and_joins_the_team(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, team_admin)
        invited = await _invite(admin, seeded_service.team_id)
        assert invited.status_code == 303
        listed = await admin.get(PAGE)
        assert f'data-invitation="{NEWCOMER}"' in listed.text
        token = await _link_token(session, settings)

        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as newcomer:
            joined = await _sign_in_with(newcomer, token, "nieuw")
            assert joined.status_code == 303 and joined.headers["location"] == "/balie"
            desk = await newcomer.get("/balie/")
            assert desk.status_code == 200
        membership = await _membership(session, "nieuw")
        assert membership is not None and membership.role == "official" and membership.source == "app"

        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as again:
            used = await again.get(f"/balie/uitnodiging/{token}")
            assert used.status_code == 404 and "al gebruikt" in used.text  # once only
            assert (await again.get(f"/balie/uitnodiging/{token}/inloggen")).status_code == 404
        # A later sign-in keeps the app's membership (the provider sends no group for it).
        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as later:
            await sign_in_official(later, "nieuw")
    accepted = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff.invitation_accepted")
    )
    assert accepted == 1


async def test_a_forwarded_link_binds_no_one_else(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, team_admin)
        assert (await _invite(admin, seeded_service.team_id)).status_code == 303
        token = await _link_token(session, settings)
        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as stranger:
            refused = await _sign_in_with(stranger, token, "ander")
            assert refused.status_code == 403 and "ander e-mailadres" in refused.text
        assert await _membership(session, "ander") is None
        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as newcomer:
            assert (await _sign_in_with(newcomer, token, "nieuw")).status_code == 303  # still open for them
    reasons = list(
        await session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == "session.sign_in", AuditEvent.result == "failure"
            )
        )
    )
    assert {"reason": "invitation_other_email"}.items() <= reasons[-1].items()


async def test_a_new_invitation_replaces_the_old_and_revoking_stops_it(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, team_admin)
        assert (await _invite(admin, seeded_service.team_id)).status_code == 303
        assert (await _invite(admin, seeded_service.team_id, role="admin")).status_code == 303
        session.expire_all()
        rows = list(await session.scalars(select(StaffInvitation).order_by(StaffInvitation.created_at)))
        await session.commit()
        assert [r.revoked_at is None for r in rows] == [False, True] and rows[1].role == "admin"
        revoked = await post_form(
            admin, PAGE, f"{PAGE}{seeded_service.team_id}/uitnodigingen/{rows[1].id}/intrekken"
        )
        assert revoked.status_code == 303
        assert f'data-invitation="{NEWCOMER}"' not in (await admin.get(PAGE)).text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "", "role": "official"}, "email", "Vul uw e-mailadres in"),
        ({"email": "geen-adres", "role": "official"}, "email", "e-mailadres"),
        ({"email": NEWCOMER, "role": "koning"}, "role", "Kies een van de mogelijkheden."),
    ],
)
async def test_a_wrong_invitation_is_refused_at_its_field(
    settings: Any,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    team_admin: str,
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, team_admin)
        refused = await post_form(admin, PAGE, f"{PAGE}{seeded_service.team_id}/uitnodigen", form)
        assert refused.status_code == 422
        assert (
            f'id="invite-{seeded_service.team_id}-{field}-error"' in refused.text and message in refused.text
        )
    assert await session.scalar(select(func.count()).select_from(StaffInvitation)) == 0
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_taken_off_the_team_the_desk_closes_and_a_sign_in_does_not_bring_it_back(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    member = await _membership(session, "official-testgemeente")
    assert member is not None and member.source == "provider"
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, team_admin)
        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as official:
            await sign_in_official(official, "official-testgemeente")
            desk = await Peer.open(
                official.base_url.netloc.decode(), "/ws/desk", {"session": "d"}, cookie_header(official)
            )
            await desk.receive_until("queue")
            assert str(seeded_service.id) in (await official.get("/balie/afspraak-maken/")).text

            own = await post_form(
                admin, PAGE, f"{PAGE}{seeded_service.team_id}/leden/{member.id}/rol", {"role": "admin"}
            )
            assert own.status_code == 422 and "groepen van uw organisatie" in own.text  # the provider's role
            off = await post_form(admin, PAGE, f"{PAGE}{seeded_service.team_id}/leden/{member.id}/uitzetten")
            assert off.status_code == 303
            assert await desk.closed_with() == 4403
            phone_booking = await official.get("/balie/afspraak-maken/")
            assert str(seeded_service.id) not in phone_booking.text  # the team's services are gone

        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as again:
            started = await follow_link(again, "/balie/inloggen", "sign-in")
            callback = await through_dev_provider(again, started, {"sub": "official-testgemeente"})
            no_access = await again.get(callback)
            assert (
                no_access.status_code == 403 and "geen toegang" in no_access.text
            )  # the group is not enough

        on = await post_form(admin, PAGE, f"{PAGE}{seeded_service.team_id}/leden/{member.id}/aanzetten")
        assert on.status_code == 303
        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as back:
            await sign_in_official(back, "official-testgemeente")
            assert str(seeded_service.id) in (await back.get("/balie/afspraak-maken/")).text
    whats = list(
        await session.scalars(select(AuditEvent.details).where(AuditEvent.action == "staff.changed"))
    )
    assert [d["what"] for d in whats] == ["deactivated", "reactivated"]


async def test_an_admin_cannot_take_themself_off_nor_reach_another_team(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    other = Team(municipality_id=seeded_service.team.municipality_id, name="Wijkteam", slug="wijkteam")
    session.add(other)
    await session.commit()
    other_id = other.id
    mine = await _membership(session, "teamleider")
    assert mine is not None
    mine_id = mine.id
    member = await _membership(session, "official-testgemeente")
    assert member is not None
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, team_admin)
        myself = await post_form(admin, PAGE, f"{PAGE}{seeded_service.team_id}/leden/{mine_id}/uitzetten")
        assert myself.status_code == 422 and "uzelf niet" in myself.text
        for action in (
            f"{PAGE}{other_id}/uitnodigen",
            f"{PAGE}{other_id}/leden/{member.id}/uitzetten",
            f"{PAGE}{other_id}/leden/{member.id}/rol",
            f"{PAGE}{seeded_service.team_id}/leden/{other_id}/uitzetten",
            f"{PAGE}{seeded_service.team_id}/uitnodigingen/{other_id}/intrekken",
        ):
            assert (
                await post_form(admin, PAGE, action, {"email": NEWCOMER, "role": "official"})
            ).status_code == 404
    still = await _membership(session, "teamleider")
    assert still is not None and still.active
    assert await session.scalar(select(func.count()).select_from(StaffInvitation)) == 0
