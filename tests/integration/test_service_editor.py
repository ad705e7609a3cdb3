"""A team admin sets up a service on /balie/diensten: a draft that no one can book, the texts, rules,
questions, checklist and email texts, then published and bookable at once; withdrawn, it stops
taking bookings and keeps the ones it has. Bad input is refused field by field and stores nothing;
another team's admin gets 404, audited."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    Appointment,
    AuditEvent,
    DocumentRetention,
    Membership,
    Official,
    Service,
    ServiceState,
    Team,
)
from tests.live import post_form, sign_in_official
from tests.oidc import served_balie

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EDITOR_FORM: dict[str, str] = {
    "name": "Kennismakingsgesprek",
    "name_en": "Introductory talk",
    "description": "Een eerste gesprek met het wijkteam.",
    "description_en": "A first talk with the district team.",
    "documents": "Uw paspoort of ID-kaart\nUw laatste loonstrook",
    "documents_en": "Your passport or ID card\nYour latest payslip",
    "required_loa": "none",
    "max_participants": "3",
    "deadline_rule": "",
    "keep_days": "",
    "duration_minutes": "30",
    "step_minutes": "",
    "buffer_minutes": "5",
    "lead_minutes": "0",
    "horizon_days": "",
    "capacity": "",
    "max_active_per_email": "1",
    "reminder_hours": "24",
}


@pytest.fixture
async def team_admin(session: AsyncSession, seeded_service: Service) -> str:
    first = await session.scalar(select(Official).where(Official.subject == "official-testgemeente"))
    assert first is not None
    head = Official(issuer=first.issuer, subject="teamleider", name="Teamleider Burgerzaken")
    session.add(Membership(official=head, team_id=seeded_service.team_id, role="admin"))
    await session.commit()
    return "teamleider"


async def _new_draft(client: httpx.AsyncClient, team_id: object, name: str = "Kennismakingsgesprek") -> str:
    made = await post_form(
        client, "/balie/diensten/", "/balie/diensten/", {"team": str(team_id), "name": name}
    )
    assert made.status_code == 303, made.text[:300]
    found = re.fullmatch(r"/balie/diensten/([0-9a-f-]{36})\?klaar=aangemaakt", made.headers["location"])
    assert found, made.headers["location"]
    return found.group(1)


async def _service(session: AsyncSession, service_id: str) -> Service:
    session.expire_all()
    service = await session.get(Service, uuid.UUID(service_id))
    assert service is not None
    await session.commit()  # end the read (SQLite) before the app writes
    return service


async def _bookable(client: httpx.AsyncClient) -> set[str]:
    listed = await client.get("/api/v1/services")
    assert listed.status_code == 200
    return {s["id"] for s in listed.json()}


async def _book(client: httpx.AsyncClient, service_id: str, email: str, **intake: Any) -> httpx.Response:
    slots = await client.get(f"/api/v1/services/{service_id}/slots")
    assert slots.status_code == 200, slots.text
    assert slots.json(), "no free time"
    return await client.post(
        "/api/v1/appointments",
        json={
            "service_id": service_id,
            "start": slots.json()[0]["start"],
            "citizen": {"name": "Iris de Vries", "email": email},
            "intake": intake,
        },
    )


async def test_a_draft_is_written_published_booked_and_withdrawn(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, team_admin)
        service_id = await _new_draft(client, seeded_service.team_id)
        editor = await client.get(f"/balie/diensten/{service_id}")
        assert editor.status_code == 200 and "Concept: nog niet te boeken" in editor.text

        # A draft is offered nowhere: not in the list, not by its address, not on the phone.
        assert service_id not in await _bookable(client)
        assert (await client.get(f"/api/v1/services/{service_id}/slots")).status_code == 404
        assert (await client.get(f"/diensten/{service_id}")).status_code == 404
        assert (await client.get(f"/balie/afspraak-maken/{service_id}/vragen")).status_code == 404

        saved = await post_form(
            client, f"/balie/diensten/{service_id}", f"/balie/diensten/{service_id}", EDITOR_FORM
        )
        assert saved.status_code == 303
        for question in (
            {"label": "Waar wilt u over praten?", "label_en": "What would you like to talk about?",
             "type": "text", "required": "yes", "max_length": "300"},
            {"label": "Heeft u al hulp?", "label_en": "Do you have help already?", "type": "choice",
             "options": "Ja | Yes\nNee | No", "required": "yes"},
        ):  # fmt: skip
            added = await post_form(
                client, f"/balie/diensten/{service_id}", f"/balie/diensten/{service_id}/vragen", question
            )
            assert added.status_code == 303, added.text[:500]
        stored = await _service(session, service_id)
        assert stored.state == ServiceState.DRAFT and stored.duration_minutes == 30
        assert stored.documents == ["Uw paspoort of ID-kaart", "Uw laatste loonstrook"]
        assert stored.translations["en"]["name"] == "Introductory talk"
        assert [q["key"] for q in stored.intake] == ["waar_wilt_u_over_praten", "heeft_u_al_hulp"]

        published = await post_form(
            client, f"/balie/diensten/{service_id}", f"/balie/diensten/{service_id}/publiceren"
        )
        assert published.status_code == 303
        assert service_id in await _bookable(client)
        page = await client.get(f"/diensten/{service_id}/vragen")
        assert page.status_code == 200 and "Waar wilt u over praten?" in page.text
        english = await client.get(f"/diensten/{service_id}/vragen?lang=en")
        assert "What would you like to talk about?" in english.text

        missing = await _book(client, service_id, "iris@example.org")
        assert missing.status_code == 422  # the required questions are asked
        booked = await _book(
            client,
            service_id,
            "iris@example.org",
            waar_wilt_u_over_praten="Schulden",
            heeft_u_al_hulp="Nee",
        )
        assert booked.status_code == 201, booked.text

        withdrawn = await post_form(
            client, f"/balie/diensten/{service_id}", f"/balie/diensten/{service_id}/intrekken"
        )
        assert withdrawn.status_code == 303
        assert service_id not in await _bookable(client)
        assert (await client.get(f"/api/v1/services/{service_id}/slots")).status_code == 404
    stored = await _service(session, service_id)
    assert stored.state == ServiceState.WITHDRAWN
    kept = await session.scalar(
        select(func.count()).select_from(Appointment).where(Appointment.service_id == stored.id)
    )
    assert kept == 1  # the booked appointment stays
    actions = list(
        await session.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action == "service.changed")
            .order_by(AuditEvent.created_at)
        )
    )
    assert [d["what"] for d in actions] == [
        "created", "edited", "question_added", "question_added", "published", "withdrawn"
    ]  # fmt: skip


BAD_SERVICE_FORMS = [
    ({"name": ""}, "name", "Vul dit in."),
    ({"duration_minutes": "7"}, "duration_minutes", "Gebruik stappen van 5 minuten."),
    ({"max_participants": "9"}, "max_participants", "Vul een getal in van 1 tot en met 4."),
    ({"required_loa": "ultra"}, "required_loa", "Kies een van de mogelijkheden."),
    ({"deadline_rule": "drop table"}, "deadline_rule", "Kies een van de mogelijkheden."),
    ({"documents_en": "Only one line"}, "documents_en", "Zet evenveel regels als in het Nederlands (2)"),
    ({"keep_days": "99999"}, "keep_days", "Vul een getal in van 0 tot en met"),
    ({"name": "x" * 121}, "name", "hoogstens 120 tekens"),
    ({"reminder_hours": "morgen"}, "reminder_hours", "Vul uren in"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_SERVICE_FORMS)
async def test_a_wrong_service_form_is_refused_at_its_field_and_stores_nothing(
    settings: Any,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    team_admin: str,
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, team_admin)
        service_id = await _new_draft(client, seeded_service.team_id)
        refused = await post_form(
            client,
            f"/balie/diensten/{service_id}",
            f"/balie/diensten/{service_id}",
            {**EDITOR_FORM, **change},
        )
        assert refused.status_code == 422
        assert f'id="service-{field}-error"' in refused.text and message in refused.text
        assert 'aria-invalid="true"' in refused.text
    stored = await _service(session, service_id)
    assert stored.duration_minutes == 20 and stored.documents == []  # the draft as it was made
    assert (
        await session.scalar(select(DocumentRetention).where(DocumentRetention.service_id == stored.id))
        is None
    )


BAD_QUESTIONS = [
    ({"label": "", "type": "text"}, "label", "Vul de vraag in."),
    ({"label": "Welke dag?", "type": "weekday"}, "type", "Kies een van de mogelijkheden."),
    ({"label": "Welke?", "type": "choice", "options": ""}, "options", "Zet minstens één keuze"),
    ({"label": "Welke?", "type": "choice", "options": "Ja\nJa"}, "options", "Twee keuzes zijn hetzelfde."),
    ({"label": "Code", "type": "text", "key": "1abc"}, "key", "begin met een letter"),
    ({"label": "Code", "type": "text", "key": "ONDERWERP"}, "key", "Deze dienst heeft al een vraag"),
    ({"label": "Code", "type": "text", "max_length": "5000"}, "max_length", "tot en met 2000"),
]


@pytest.mark.parametrize(("question", "field", "message"), BAD_QUESTIONS)
async def test_a_wrong_question_is_refused_at_its_field_and_stores_nothing(
    settings: Any,
    engine: Any,
    seeded_service: Service,
    session: AsyncSession,
    team_admin: str,
    question: dict[str, str],
    field: str,
    message: str,
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, team_admin)
        service_id = await _new_draft(client, seeded_service.team_id)
        first = {"label": "Onderwerp", "type": "text", "key": "onderwerp"}
        assert (
            await post_form(
                client, f"/balie/diensten/{service_id}", f"/balie/diensten/{service_id}/vragen", first
            )
        ).status_code == 303
        refused = await post_form(
            client, f"/balie/diensten/{service_id}", f"/balie/diensten/{service_id}/vragen", question
        )
        assert refused.status_code == 422
        assert f'id="new-question-{field}-error"' in refused.text and message in refused.text
    stored = await _service(session, service_id)
    assert [q["key"] for q in stored.intake] == ["onderwerp"]


async def test_questions_are_changed_moved_and_removed(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, team_admin)
        service_id = await _new_draft(client, seeded_service.team_id)
        base = f"/balie/diensten/{service_id}"
        for key, kind in (("eerste", "text"), ("tweede", "date"), ("derde", "checkbox")):
            made = await post_form(
                client, base, f"{base}/vragen", {"label": key.title(), "type": kind, "key": key}
            )
            assert made.status_code == 303
        assert (await post_form(client, base, f"{base}/vragen/derde/omhoog")).status_code == 303
        changed = await post_form(
            client,
            base,
            f"{base}/vragen/tweede",
            {
                "label": "Geboortedatum",
                "label_en": "Date of birth",
                "type": "date",
                "not_future": "yes",
                "required": "yes",
            },
        )
        assert changed.status_code == 303
        assert (await post_form(client, base, f"{base}/vragen/eerste/verwijderen")).status_code == 303
        assert (await post_form(client, base, f"{base}/vragen/onbekend/verwijderen")).status_code == 404
    stored = await _service(session, service_id)
    assert [q["key"] for q in stored.intake] == ["derde", "tweede"]
    assert stored.intake[1] == {
        "key": "tweede",
        "type": "date",
        "required": True,
        "label": {"nl": "Geboortedatum", "en": "Date of birth"},
        "not_future": True,
    }


async def test_publishing_waits_for_what_the_legal_term_needs(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, team_admin)
        service_id = await _new_draft(client, seeded_service.team_id, "Aangifte van geboorte")
        base = f"/balie/diensten/{service_id}"
        form = {**EDITOR_FORM, "name": "Aangifte van geboorte", "deadline_rule": "birth_registration"}
        assert (await post_form(client, base, base, form)).status_code == 303
        refused = await post_form(client, base, f"{base}/publiceren")
        assert refused.status_code == 422 and "birth_date" in refused.text and 'role="alert"' in refused.text
        assert (await _service(session, service_id)).state == ServiceState.DRAFT
        date = {"label": "Geboortedatum van het kind", "type": "date", "key": "birth_date", "required": "yes"}
        assert (await post_form(client, base, f"{base}/vragen", date)).status_code == 303
        assert (await post_form(client, base, f"{base}/publiceren")).status_code == 303
    assert (await _service(session, service_id)).state == ServiceState.PUBLISHED


async def test_the_teams_own_words_are_in_the_preview_and_the_real_email(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    texts = {
        "confirmation_nl": "Neem uw loonstroken mee.\n\n<b>Tot dan!</b>",
        "confirmation_en": "Bring your payslips.",
    }
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, team_admin)
        base = f"/balie/diensten/{seeded_service.id}"
        only_english = await post_form(client, base, f"{base}/e-mails", {"reminder_en": "See you"})
        assert only_english.status_code == 422 and 'id="emails-reminder_nl-error"' in only_english.text
        assert (await post_form(client, base, f"{base}/e-mails", texts)).status_code == 303

        preview = await client.get(f"{base}/e-mails/confirmation?taal=nl")
        assert preview.status_code == 200
        assert "Neem uw loonstroken mee." in preview.text
        assert "<b>Tot dan!</b>" not in preview.text  # shown as typed, never as HTML
        english = await client.get(f"{base}/e-mails/confirmation?taal=en")
        assert "Bring your payslips." in english.text and "Neem uw" not in english.text
        assert (await client.get(f"{base}/e-mails/receipt")).status_code == 404
    stored = await _service(session, str(seeded_service.id))
    assert stored.email_texts == {
        "confirmation": {"nl": "Neem uw loonstroken mee.\n\n<b>Tot dan!</b>", "en": "Bring your payslips."}
    }


async def test_another_teams_admin_reaches_nothing_and_is_audited(
    settings: Any, engine: Any, seeded_service: Service, session: AsyncSession, team_admin: str
) -> None:
    other = Team(municipality_id=seeded_service.team.municipality_id, name="Wijkteam", slug="wijkteam")
    outsider = Official(issuer="urn:balie:dev", subject="wijkleider", name="Leider Wijkteam")
    session.add_all([other, Membership(official=outsider, team=other, role="admin")])
    await session.commit()
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "wijkleider")
        base = f"/balie/diensten/{seeded_service.id}"
        assert (await client.get(base)).status_code == 404
        token_page = "/balie/diensten/"
        for action, data in (
            (base, EDITOR_FORM),
            (f"{base}/publiceren", {}),
            (f"{base}/intrekken", {}),
            (f"{base}/vragen", {"label": "x", "type": "text"}),
            (f"{base}/e-mails", {}),
            ("/balie/diensten/", {"team": str(seeded_service.team_id), "name": "Indringer"}),
        ):
            assert (await post_form(client, token_page, action, data)).status_code == 404, action
        assert (await client.get(f"{base}/e-mails/confirmation")).status_code == 404
    denied = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access.denied")
    )
    assert denied is not None and denied >= 8
    names = set(await session.scalars(select(Service.name).where(Service.team_id == seeded_service.team_id)))
    assert "Indringer" not in names
