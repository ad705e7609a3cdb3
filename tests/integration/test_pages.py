"""The citizen's pages through HTTP: booking with CSRF, Dutch errors, join links, security headers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment, Participant
from tests.live import CSRF_FIELD
from tests.support import count_rows

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def csrf(client: Any, path: str) -> str:
    page = await client.get(path)
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def book_through_pages(
    client: Any, service: Any, *, name: str = "Sanne de Boer", email: str = "sanne@example.nl"
) -> Any:
    slots_page = await client.get(f"/diensten/{service.id}")
    assert slots_page.status_code == 200
    start = re.search(r'data-start="([^"]+)"', slots_page.text)
    assert start, "no slot on the page"
    form_path = f"/diensten/{service.id}/boeken?start={start.group(1).replace('+', '%2B')}"
    token = await csrf(client, form_path)
    return await client.post(
        f"/diensten/{service.id}/boeken",
        data={"_csrf_token": token, "start": start.group(1), "name": name, "email": email, "consent": "yes"},
    )


async def test_home_to_confirmation(client: Any, seeded_service: Any, session: AsyncSession) -> None:
    home = await client.get("/")  # the only municipality: straight to its page
    assert home.status_code == 302 and home.headers["location"] == "/testgemeente"
    municipality = await client.get("/testgemeente")
    assert "Gemeente Testgemeente" in municipality.text
    assert municipality.headers["content-type"].startswith("text/html")
    assert f"/diensten/{seeded_service.id}" in municipality.text
    done = await book_through_pages(client, seeded_service)
    assert done.status_code == 303
    confirmation = await client.get(done.headers["location"])
    assert "Uw afspraak is gemaakt" in confirmation.text
    assert re.search(r"DB-[A-Z0-9]{4}-[A-Z0-9]{2}", confirmation.text)
    assert "Uw identiteitsbewijs" in confirmation.text  # the documents checklist
    assert confirmation.headers["referrer-policy"] == "no-referrer"
    assert await count_rows(session, Appointment) == 1


async def test_form_errors_are_dutch_and_nothing_is_stored(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    response = await book_through_pages(client, seeded_service, name="", email="sanne-at-example")
    assert response.status_code == 422
    assert "Vul uw naam in." in response.text
    assert "Dit e-mailadres klopt niet." in response.text
    assert 'value="sanne-at-example"' in response.text  # what was typed is kept
    assert await count_rows(session, Appointment) == 0


async def test_english_on_request(client: Any, seeded_service: Any) -> None:
    home = await client.get("/?lang=en")  # the only municipality: its page, in English
    assert home.status_code == 302 and home.headers["location"] == "/testgemeente?lang=en"
    page = await client.get(home.headers["location"])
    assert '<html lang="en">' in page.text and "What would you like a video appointment for?" in page.text
    assert client.cookies.get("lang") == "en"
    response = await book_through_pages(client, seeded_service, name="", email="nope")
    assert response.status_code == 422
    assert "Please enter your name." in response.text and "Vul uw naam in." not in response.text


async def test_language_switch_keeps_the_page(client: Any, seeded_service: Any) -> None:
    slots_page = await client.get(f"/diensten/{seeded_service.id}")
    start = re.search(r'data-start="([^"]+)"', slots_page.text)
    assert start
    form = await client.get(f"/diensten/{seeded_service.id}/boeken", params={"start": start.group(1)})
    switch = re.search(r'<a href="([^"]+)" lang="en">English</a>', form.text)
    assert switch
    english = await client.get(switch.group(1).replace("&amp;", "&"))
    assert english.status_code == 200 and "Your details" in english.text
    assert start.group(1) in english.text  # still the same slot, not back to the list


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:00-12:00", "morgen", ""])
async def test_impossible_start_times_lead_back_to_the_slot_list(
    client: Any, seeded_service: Any, session: AsyncSession, start: str
) -> None:
    form = await client.get(f"/diensten/{seeded_service.id}/boeken", params={"start": start})
    assert form.status_code == 303 and form.headers["location"] == f"/diensten/{seeded_service.id}"
    slots_page = await client.get(f"/diensten/{seeded_service.id}")
    real = re.search(r'data-start="([^"]+)"', slots_page.text)
    assert real
    token = await csrf(
        client, f"/diensten/{seeded_service.id}/boeken?start={real.group(1).replace('+', '%2B')}"
    )
    data = {"_csrf_token": token, "start": start, "name": "A", "email": "a@example.nl", "consent": "yes"}
    posted = await client.post(f"/diensten/{seeded_service.id}/boeken", data=data)
    assert posted.status_code == 303 and posted.headers["location"] == f"/diensten/{seeded_service.id}"
    assert await count_rows(session, Appointment) == 0


async def test_post_without_csrf_is_refused(client: Any, seeded_service: Any, session: AsyncSession) -> None:
    response = await client.post(
        f"/diensten/{seeded_service.id}/boeken", data={"name": "x", "email": "a@b.nl"}
    )
    assert response.status_code == 403
    assert "Geen toegang" in response.text
    assert await count_rows(session, Appointment) == 0


async def test_taken_slot_gets_a_friendly_page(client: Any, seeded_service: Any) -> None:
    slots_page = await client.get(f"/diensten/{seeded_service.id}")
    start = re.search(r'data-start="([^"]+)"', slots_page.text)
    assert start
    token = await csrf(
        client, f"/diensten/{seeded_service.id}/boeken?start={start.group(1).replace('+', '%2B')}"
    )
    data = {
        "_csrf_token": token,
        "start": start.group(1),
        "name": "A",
        "email": "a@example.nl",
        "consent": "yes",
    }
    assert (await client.post(f"/diensten/{seeded_service.id}/boeken", data=data)).status_code == 303
    second = await client.post(f"/diensten/{seeded_service.id}/boeken", data=data)
    assert second.status_code == 409
    assert "niet meer vrij" in second.text
    # "Ander tijdstip kiezen": the form for the next time keeps what was typed, consent included.
    other = re.findall(r'data-start="([^"]+)"', (await client.get(f"/diensten/{seeded_service.id}")).text)[0]
    again = await client.get(f"/diensten/{seeded_service.id}/boeken?start={other.replace('+', '%2B')}")
    assert 'value="A"' in again.text and 'value="a@example.nl"' in again.text
    assert re.search(r'id="consent"[^>]*checked', again.text)


async def test_join_link_get_changes_nothing_and_bad_tokens_look_alike(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    from backend.booking.service import Citizen, book

    start_at = dt.datetime.now(dt.UTC)
    service = seeded_service
    slots_page = await client.get(f"/diensten/{service.id}")
    start = dt.datetime.fromisoformat(re.search(r'data-start="([^"]+)"', slots_page.text).group(1))  # type: ignore[union-attr]
    booking = await book(session, service, start, Citizen("Sanne", "s@example.nl"), now=start_at)
    token = booking.join_token

    landing = await client.get(f"/j/{token}")
    assert landing.status_code == 200 and "Start" in landing.text
    assert landing.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in landing.headers["cache-control"]  # a shared computer keeps no copy
    manage = await client.get(f"/afspraak/{booking.manage_token}")
    assert manage.status_code == 200 and "no-store" in manage.headers["cache-control"]
    participant = await session.get(Participant, booking.participant.id)
    await session.refresh(participant)
    assert participant is not None and participant.state == "invited"
    await session.commit()

    unknown = await client.get("/j/" + "A" * 43)
    tampered = await client.get(f"/j/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}")
    nonsense = await client.get("/j/%3Cscript%3E")
    assert unknown.status_code == tampered.status_code == nonsense.status_code == 404
    assert "Deze link werkt niet" in unknown.text
    assert _main(unknown.text) == _main(tampered.text) == _main(nonsense.text)

    token_csrf = await csrf(client, f"/j/{token}")
    started = await client.post(f"/j/{token}/start", data={"_csrf_token": token_csrf})
    assert started.status_code == 303 and started.headers["location"] == f"/j/{token}/wachtkamer"


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


async def test_security_headers(client: Any, seeded_service: Any) -> None:
    response = await client.get("/testgemeente")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/bestaat-niet", 404),  # no route: answered before any route middleware
        ("DELETE", "/healthz", 405),
        ("POST", "/balie/uitloggen", 403),  # the CSRF middleware's refusal
        ("GET", "/api/v1/bestaat-niet", 404),
    ],
)
async def test_the_frameworks_own_answers_carry_the_security_headers(
    client: Any, seeded_service: Any, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_unknown_pages_are_dutch_404(client: Any, seeded_service: Any) -> None:
    response = await client.get("/bestaat-niet")
    assert response.status_code == 404 and "Pagina niet gevonden" in response.text
    assert (await client.get("/diensten/not-a-uuid")).status_code in (400, 404)


async def test_desk_requires_sign_in_and_scopes_to_team(
    settings: Any, engine: Any, seeded_service: Any, session: AsyncSession
) -> None:
    from sqlalchemy import select

    from backend.booking.service import Citizen, book, free_slots
    from backend.db.models import AuditEvent
    from tests.live import sign_in_official
    from tests.oidc import served_balie
    from tests.support import seed_agenda

    other = await seed_agenda(session, cbs_code="0363", slug="amsterdam")
    now = dt.datetime.now(dt.UTC)
    start = (await free_slots(session, other, now.date(), now.date() + dt.timedelta(days=3), now))[0]
    foreign = await book(session, other, start, Citizen("Piet", "p@example.nl"), now=now)

    async with served_balie(settings) as (_, client):
        redirect = await client.get("/balie/")
        assert redirect.status_code in (302, 303) and redirect.headers["location"] == "/balie/inloggen"
        await sign_in_official(client, "official-testgemeente")
        desk = await client.get("/balie/")
        assert desk.status_code == 200
        assert "Piet" not in desk.text
        denied = await client.get(f"/balie/afspraken/{foreign.appointment.id}/gesprek")
        assert denied.status_code == 404
    actions = list(await session.scalars(select(AuditEvent.action)))
    await session.commit()
    assert "access.denied" in actions and "session.sign_in" in actions


async def test_a_colleague_sees_who_leads_the_call_and_can_take_it_over(
    settings: Any, engine: Any, seeded_service: Any, session: AsyncSession
) -> None:
    import httpx
    from sqlalchemy import select

    from backend.booking.service import Citizen, book, free_slots
    from backend.db.models import AuditEvent, Membership, Official
    from tests.live import sign_in_official
    from tests.oidc import served_balie

    now = dt.datetime.now(dt.UTC)
    start = (await free_slots(session, seeded_service, now.date(), now.date() + dt.timedelta(days=3), now))[0]
    booked = await book(session, seeded_service, start, Citizen("Piet", "p@example.nl"), now=now)
    first = await session.scalar(select(Official).where(Official.subject == "official-testgemeente"))
    assert first is not None
    colleague = Official(issuer=first.issuer, subject="collega", name="Kees Collega")
    session.add(Membership(official=colleague, team_id=seeded_service.team_id))
    appointment = booked.appointment
    appointment.status, appointment.call_started_at = "in_call", now
    appointment.assigned_official_id = first.id
    await session.commit()
    call_path = f"/balie/afspraken/{appointment.id}/gesprek"

    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "collega")
        offered = await client.get(call_path)
        assert offered.status_code == 200
        assert "Een collega voert dit gesprek" in offered.text and first.name in offered.text
        found = CSRF_FIELD.search(offered.text)
        assert found
        taken = await client.post(
            f"/balie/afspraken/{appointment.id}/overnemen", data={"_csrf_token": found.group(1)}
        )
        assert taken.status_code == 303 and taken.headers["location"] == call_path
        assert "data-desk-call" in (await client.get(call_path)).text
        async with httpx.AsyncClient(base_url=str(client.base_url)) as outsider:
            forged = await outsider.post(f"/balie/afspraken/{appointment.id}/overnemen")
            assert forged.status_code in (401, 403) or forged.headers.get("location") == "/balie/inloggen"
    await session.refresh(appointment)
    assert appointment.assigned_official_id == colleague.id
    actions = list(await session.scalars(select(AuditEvent.action)))
    await session.commit()
    assert "call.take_over" in actions


async def test_the_desk_page_tells_the_browser_the_one_local_time_zone(
    settings: Any, engine: Any, seeded_service: Any
) -> None:
    from backend.timefmt import LOCAL_TIMEZONE
    from tests.live import sign_in_official
    from tests.oidc import served_balie

    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        desk = await client.get("/balie/")
    assert f'data-timezone="{LOCAL_TIMEZONE}"' in desk.text  # desk.js shows the queue's times in it
