"""Each reads their own words: the official the questions and the checklist in the third person
("Geboortedatum van het kind"), the citizen theirs ("van uw kind"); and the code of an appointment
has one name everywhere, "Afspraakcode" ("Appointment code"), on pages, in e-mails and in the .ics."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import icalendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.intake import parse_questions
from backend.catalog import service_form
from backend.catalog.official_words import official_documents
from backend.db.models import Appointment, Municipality, Participant, Service, Team
from backend.demo import load_demo
from backend.email.messages import Kind, Tokens, build_appointment_email
from backend.settings import Settings
from backend.timefmt import AMSTERDAM
from tests.live import post_form, sign_in_official
from tests.oidc import served_balie


def _visible(page: str) -> str:
    """The text a person reads: no tags, so no class names or attributes."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.split("<main", 1)[-1]))


async def _demo_service(session: AsyncSession, slug: str) -> Service:
    service = await session.scalar(
        select(Service)
        .join(Team, Service.team_id == Team.id)
        .join(Municipality, Team.municipality_id == Municipality.id)
        .where(Municipality.slug == "rotterdam", Service.slug == slug)
    )
    assert service is not None
    await session.commit()  # end the read (SQLite) before the app writes
    return service


async def test_the_official_books_by_phone_and_calls_in_their_own_words(
    settings: Settings, session: AsyncSession
) -> None:
    await load_demo(session)
    birth = await _demo_service(session, "geboorteaangifte")
    base = f"/balie/afspraak-maken/{birth.id}"
    async with served_balie(settings) as (_, desk):
        citizen_questions = await desk.get(f"/diensten/{birth.id}/vragen")
        assert "Geboortedatum van uw kind" in citizen_questions.text  # the citizen keeps their words

        await sign_in_official(desk, "fatima")
        questions = await desk.get(f"{base}/vragen")
        assert "Geboortedatum van het kind" in questions.text and "uw kind" not in questions.text
        today = dt.datetime.now(AMSTERDAM).date()
        answered = await post_form(
            desk, f"{base}/vragen", f"{base}/vragen", {"birth_date": today.isoformat()}
        )
        assert answered.status_code == 303, answered.text[:300]
        start = re.findall(r'data-start="([^"]+)"', (await desk.get(base)).text)[0]
        form_path = f"{base}/boeken?start={quote(start)}"
        form = await desk.get(form_path)
        assert "Geboortedatum van het kind" in form.text and "uw kind" not in form.text
        contact = {"start": start, "name": "Piet Jansen", "email": "piet@example.nl", "consent": "yes"}
        made = await post_form(desk, form_path, f"{base}/boeken", contact)
        assert made.status_code == 303, made.text[:300]
        done = await desk.get(made.headers["location"])
        assert "Geboortedatum van het kind" in done.text and "uw kind" not in done.text

        appointment_id = made.headers["location"].rsplit("/", 1)[1]
        call = await desk.get(f"/balie/afspraken/{appointment_id}/gesprek")
        assert call.status_code == 200
        assert "Identiteitsbewijs van de aangever" in call.text and "Uw identiteitsbewijs" not in call.text

        english_call = await desk.get(f"/balie/afspraken/{appointment_id}/gesprek", params={"lang": "en"})
        assert "Identity document of the person registering" in english_call.text
        assert "Your identity document" not in english_call.text
        english_done = _visible((await desk.get(made.headers["location"])).text)
        assert "Appointment code" in english_done and "The child's date of birth" in english_done
        assert "Tell the resident the appointment code." in english_done
        assert "reference" not in english_done.lower()


async def test_the_demo_services_have_the_officials_words(session: AsyncSession) -> None:
    await load_demo(session)
    for slug in ("geboorteaangifte", "ondertrouw"):
        service = await _demo_service(session, slug)
        questions = parse_questions(service.intake)
        assert questions, slug
        for question in questions:
            dutch, english = question.official_text("nl"), question.official_text("en")
            assert dutch != question.text("nl") and english != question.text("en"), question.key
            assert not re.search(r"\b[Uu]w?\b", dutch) and "your" not in english.lower(), question.key
        for locale, words in (("nl", r"\b[Uu]w?\b"), ("en", r"\b(you|your)\b")):
            checklist = official_documents(service, locale)
            assert checklist and len(checklist) == len(service.documents), slug
            assert not any(re.search(words, line, re.IGNORECASE) for line in checklist), checklist


async def test_the_service_editor_keeps_the_officials_words(
    settings: Settings, session: AsyncSession
) -> None:
    await load_demo(session)
    marriage = await _demo_service(session, "ondertrouw")
    base = f"/balie/diensten/{marriage.id}"
    question = f"{base}/vragen/partner_name"
    fields = {"label": "Naam van uw partner", "type": "text", "required": "yes"}
    async with served_balie(settings) as (_, admin):
        await sign_in_official(admin, "fatima")
        editor = await admin.get(base)
        assert 'value="Naam van de partner"' in editor.text  # the stored official label, ready to change

        only_english = await post_form(admin, base, question, {**fields, "official_label_en": "Partner"})
        assert (
            only_english.status_code == 422
            and "question-partner_name-official_label-error" in only_english.text
        )
        changed = await post_form(
            admin,
            base,
            question,
            {**fields, "official_label": "Naam partner", "official_label_en": "Partner's name"},
        )
        assert changed.status_code == 303, changed.text[:300]

        values = service_form.form_values(marriage, None)
        assert (
            values["documents_official"]
            == "Identiteitsbewijs van beide partners\nNamen en gegevens van de getuigen"
        )
        uneven = await post_form(admin, base, base, {**values, "documents_official_en": "Just one line"})
        assert uneven.status_code == 422 and "service-documents_official_en-error" in uneven.text
        saved = await post_form(
            admin,
            base,
            base,
            {**values, "documents_official": "Paspoorten", "documents_official_en": "Passports"},
        )
        assert saved.status_code == 303, saved.text[:300]
    marriage_id = marriage.id
    session.expire_all()
    stored = await session.get(Service, marriage_id)
    assert stored is not None
    await session.commit()
    partner = next(item for item in stored.intake if item["key"] == "partner_name")
    assert partner["official_label"] == {"nl": "Naam partner", "en": "Partner's name"}
    assert parse_questions(stored.intake)[1].text("nl") == "Naam van uw partner"  # the citizen's stays
    assert official_documents(stored, "nl") == ["Paspoorten"] and official_documents(stored, "en") == [
        "Passports"
    ]
    assert stored.documents == ["Identiteitsbewijs van u en uw partner", "Namen en gegevens van de getuigen"]


# -- one name for the appointment code --------------------------------------------------------------

TERMS = {"nl": ("Afspraakcode", ("Afspraaknummer", "Referentie")), "en": ("Appointment code", ("Reference",))}
KINDS: tuple[Kind, ...] = ("confirmation", "reminder", "rescheduled", "cancelled", "invitation")


def _email(kind: Kind, locale: str) -> EmailMessage:
    start = dt.datetime(2027, 3, 2, 9, 30, tzinfo=dt.UTC)
    municipality = Municipality(
        id=uuid.uuid4(), name="Voorbeeldstad", cbs_code="0599", slug="vb", phone="14 0599"
    )
    service = Service(id=uuid.uuid4(), name="Geboorteaangifte", documents=["Uw paspoort"])
    appointment = Appointment(
        id=uuid.uuid4(),
        reference="DB-7K3P-9Q",
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        locale=locale,
        service_id=service.id,
        municipality_id=municipality.id,
        citizen_name="Fatima de Vries",
        citizen_email="fatima@example.nl",
    )
    role = "partner" if kind == "invitation" else "citizen"
    participant = Participant(id=uuid.uuid4(), name="Fatima de Vries", email="fatima@example.nl", role=role)
    tokens = None if kind == "cancelled" else Tokens(join="j" * 43, manage="m" * 43)
    message = build_appointment_email(
        kind,
        appointment,
        participant,
        service,
        municipality,
        tokens=tokens,
        settings=Settings(env="test", public_url="https://balie.example.nl"),
    )
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _parts(message: EmailMessage) -> dict[str, str]:
    parts: dict[str, str] = {}
    for subtype in ("plain", "html"):
        body = message.get_body(preferencelist=(subtype,))
        assert isinstance(body, EmailMessage)
        parts[subtype] = str(body.get_content())
    (ics,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    payload = ics.get_payload(decode=True)
    assert isinstance(payload, bytes)
    (event,) = icalendar.Calendar.from_ical(payload).walk("VEVENT")
    parts["ics"] = str(event["DESCRIPTION"])
    return parts


def test_every_email_calls_the_code_by_the_pages_name() -> None:
    for locale, (term, others) in TERMS.items():
        for kind in KINDS:
            for part, text in _parts(_email(kind, locale)).items():
                read = " ".join((_visible(text) if part == "html" else text).split())
                assert f"{term}: DB-7K3P-9Q" in read, (locale, kind, part, read)
                assert not any(other.lower() in read.lower() for other in others), (locale, kind, part)


def test_every_english_text_about_the_code_says_appointment_code() -> None:
    english = json.loads((Path(__file__).parents[2] / "web" / "locales" / "en.json").read_text("utf-8"))
    about_the_code = {nl: en for nl, en in english.items() if "afspraakcode" in nl.lower()}
    assert about_the_code and not [nl for nl in english if "afspraaknummer" in nl.lower()]
    for nl, en in about_the_code.items():
        words = re.sub(r"\{\w+\}", "", en).lower()  # not the placeholders' names
        assert "appointment code" in words and "reference" not in words, (nl, en)
