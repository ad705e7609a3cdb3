"""The language of a booking carries on: the join link, the waiting room and the call speak the
language the appointment was booked in, whatever the browser says (an explicit choice still wins),
and the names of the municipality, its teams and services are shown in that language too, as their
admins typed them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.tokens import new_token
from backend.db.models import (
    AuditEvent,
    MunicipalityAdmin,
    Official,
    OutboxMessage,
    Service,
    ServiceState,
    Team,
)
from tests.integration.test_invitations import opened, parts
from tests.integration.test_pages import book_through_pages
from tests.live import post_form, sign_in_official
from tests.oidc import served_balie
from tests.support import citizen_appointment

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DUTCH_BROWSER = {"Accept-Language": "nl-NL,nl;q=0.9"}
ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9"}
SERVICE_EN = {"en": {"name": "Registering a birth", "documents": ["Your proof of identity"]}}


async def booked(session: AsyncSession, service: Service, locale: str) -> str:
    """An appointment starting now (its link works), booked in ``locale``: its join token."""
    token = new_token()
    appointment = citizen_appointment(
        service, dt.datetime.now(dt.UTC).replace(microsecond=0), join_token=token, manage_token=new_token()
    )
    appointment.locale = locale
    session.add(appointment)
    await session.commit()
    return token


def lang_of(response: httpx.Response) -> str:
    found = re.search(r'<html lang="(\w+)">', response.text)
    assert found, response.text[:300]
    return found.group(1)


async def test_the_join_pages_speak_the_language_of_the_booking(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    english = await booked(session, seeded_service, "en")

    # A Dutch browser (the email opened on another device): English, as the booking and its emails.
    landing = await client.get(f"/j/{english}", headers=DUTCH_BROWSER)
    assert landing.status_code == 200 and lang_of(landing) == "en"
    assert "Your video appointment" in landing.text and "Uw video-afspraak" not in landing.text
    room = await client.get(f"/j/{english}/wachtkamer", headers=DUTCH_BROWSER)
    assert room.status_code == 200 and lang_of(room) == "en"
    assert "Go to the waiting room" in room.text  # the device check, the waiting room and the call
    assert "lang" not in client.cookies  # nothing was chosen, so nothing is remembered

    # The citizen's answers from the documents panel speak it too.
    csrf = re.search(r'data-csrf="([^"]+)"', room.text)
    assert csrf
    refused = await client.post(
        f"/j/{english}/documenten/{uuid4()}/verwijderen",
        headers={**DUTCH_BROWSER, "X-CSRFToken": csrf.group(1), "Accept": "application/json"},
    )
    assert refused.status_code == 404 and refused.json()["title"] == "Document not found"

    # An explicit choice wins, and the cookie keeps it for the rest of the visit.
    dutch = await client.get(f"/j/{english}?lang=nl", headers=ENGLISH_BROWSER)
    assert lang_of(dutch) == "nl" and "Uw video-afspraak" in dutch.text
    assert client.cookies.get("lang") == "nl"
    assert lang_of(await client.get(f"/j/{english}/wachtkamer", headers=ENGLISH_BROWSER)) == "nl"
    client.cookies.clear()

    # Booked in Dutch: Dutch, also for an English browser; English on request.
    booked_dutch = await booked(session, seeded_service, "nl")
    assert lang_of(await client.get(f"/j/{booked_dutch}", headers=ENGLISH_BROWSER)) == "nl"
    assert lang_of(await client.get(f"/j/{booked_dutch}/wachtkamer", headers=ENGLISH_BROWSER)) == "nl"
    assert lang_of(await client.get(f"/j/{booked_dutch}?lang=en", headers=DUTCH_BROWSER)) == "en"

    # Pages about no booking still follow the browser.
    client.cookies.clear()
    assert lang_of(await client.get("/testgemeente", headers=ENGLISH_BROWSER)) == "en"
    assert lang_of(await client.get("/testgemeente", headers=DUTCH_BROWSER)) == "nl"


@pytest.fixture
async def municipality_admin(session: AsyncSession, seeded_service: Service) -> str:
    admin = Official(issuer="urn:balie:dev", subject="beheerder", name="Bea Beheer")
    session.add(admin)
    await session.flush()
    session.add(MunicipalityAdmin(official_id=admin.id, municipality_id=seeded_service.team.municipality_id))
    await session.commit()
    return "beheerder"


PROFILE = {
    "name": "Gemeente Testgemeente",
    "name_en": "Municipality of Testgemeente",
    "phone": "14 010",
    "website": "",
    "privacy_url": "",
    "email_sender_name": "",
    "reply_to": "",
}


async def test_admins_give_english_names_that_citizens_see_on_pages_and_in_emails(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, municipality_admin: str
) -> None:
    town_id = seeded_service.team.municipality_id
    seeded_service.translations = SERVICE_EN
    await session.commit()
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, municipality_admin)
        profile_page = f"/balie/gemeenten/{town_id}"
        assert 'name="name_en"' in (await admin.get(profile_page)).text
        saved = await post_form(admin, profile_page, profile_page, PROFILE)
        assert saved.status_code == 303, saved.text[:500]
        assert 'value="Municipality of Testgemeente"' in (await admin.get(profile_page)).text
        made = await post_form(
            admin,
            "/balie/teams/",
            "/balie/teams/",
            {
                "municipality": str(town_id),
                "name": "Sociaal wijkteam Noord",
                "description": "Hulp bij geld, werk en zorg.",
                "name_en": "Social team North",
                "description_en": "Help with money, work and care.",
                "desks": "1",
            },
        )
        assert made.status_code == 303, made.text[:500]
        team = await session.scalar(select(Team).where(Team.name == "Sociaal wijkteam Noord"))
        assert team is not None
        team_id = team.id
        assert team.translations == {
            "en": {"name": "Social team North", "description": "Help with money, work and care."}
        }
        session.add(
            Service(state=ServiceState.PUBLISHED, team_id=team_id, name="Kennismaking", slug="kennismaking")
        )
        await session.commit()

        # The municipality's page: English names in English, Dutch in Dutch.
        async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=20) as citizen:
            page_en = (await citizen.get("/testgemeente", headers=ENGLISH_BROWSER)).text
            assert "<h1>Municipality of Testgemeente</h1>" in page_en
            assert "Social team North" in page_en and "Help with money, work and care." in page_en
            assert "Sociaal wijkteam Noord" not in page_en and "Gemeente Testgemeente" not in page_en
            assert "Registering a birth" in page_en
            page_nl = (await citizen.get("/testgemeente", headers=DUTCH_BROWSER)).text
            assert "Sociaal wijkteam Noord" in page_nl and "Hulp bij geld, werk en zorg." in page_nl
            assert "<h1>Gemeente Testgemeente</h1>" in page_nl and "Social team North" not in page_nl

            # A booking in English: its email, its join page and its waiting room use the English names.
            await citizen.get("/testgemeente?lang=en")
            assert (await book_through_pages(citizen, seeded_service)).status_code == 303
            citizen.cookies.clear()
            token = await booked(session, seeded_service, "en")
            landing = (await citizen.get(f"/j/{token}", headers=DUTCH_BROWSER)).text
            assert "with Municipality of Testgemeente about Registering a birth" in landing
            room = (await citizen.get(f"/j/{token}/wachtkamer", headers=DUTCH_BROWSER)).text
            assert "<dd>Registering a birth</dd>" in room and "<dd>Municipality of Testgemeente</dd>" in room
            assert "<li>Your proof of identity</li>" in room  # the documents checklist
            assert "Gemeente Testgemeente" not in room and "Geboorteaangifte" not in room

    session.expire_all()
    row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    assert row is not None
    text, html = parts(await opened(row, settings, session))
    assert "Municipality of Testgemeente" in text and "Municipality of Testgemeente" in html
    assert "Gemeente Testgemeente" not in text

    changed = await session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "municipality.changed", AuditEvent.object_id == str(town_id)
        )
    )
    assert changed is not None and changed.details["what"] == "profile"
    assert changed.details["before"] == {"name_en": ""}
    assert changed.details["after"] == {"name_en": "Municipality of Testgemeente"}
    created = await session.scalar(select(AuditEvent).where(AuditEvent.action == "team.created"))
    assert created is not None and created.object_id == str(team_id)
