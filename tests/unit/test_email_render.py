"""The emails about an appointment as the citizen receives them: both languages, both parts, the .ics."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage

import icalendar
import pytest

from backend.db.models import Appointment, Municipality, Participant, Service
from backend.email.messages import Kind, Tokens, build_appointment_email
from backend.email.outbox import message_id_for
from backend.settings import EmailSettings, Settings

JOIN = "j" * 20 + "JoinToken-abcdefghij_0123"
MANAGE = "m" * 20 + "ManageToken-abcdefgh_4567"
START = dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC)  # 10:30 in Amsterdam (winter time)
Objects = tuple[Appointment, Participant, Service, Municipality]
SETTINGS = Settings(
    env="test",
    public_url="https://balie.example.nl",
    email=EmailSettings(sender="Gemeente Voorbeeldstad <noreply@balie.example.nl>"),
)


def _objects(locale: str = "nl", start: dt.datetime = START, name: str = "Fatima de Vries") -> Objects:
    municipality = Municipality(
        id=uuid.uuid4(), name="Voorbeeldstad", cbs_code="0599", slug="vb", phone="14 0599"
    )
    service = Service(
        id=uuid.uuid4(),
        name="Geboorteaangifte",
        documents=["Uw paspoort of ID-kaart", "De verklaring van het ziekenhuis"],
    )
    appointment = Appointment(
        id=uuid.uuid4(),
        reference="DB-7K3P-9Q",
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        locale=locale,
        service_id=service.id,
        municipality_id=municipality.id,
        citizen_name=name,
        citizen_email="fatima@example.nl",
    )
    participant = Participant(id=uuid.uuid4(), name=name, email="fatima@example.nl")
    return appointment, participant, service, municipality


def _confirm(objects: Objects, join_token: str = JOIN, kind: Kind = "confirmation") -> EmailMessage:
    appointment, participant, service, municipality = objects
    tokens = None if kind == "cancelled" else Tokens(join=join_token, manage=MANAGE)
    return build_appointment_email(
        kind, appointment, participant, service, municipality, tokens=tokens, settings=SETTINGS
    )


def _build(
    locale: str = "nl",
    start: dt.datetime = START,
    name: str = "Fatima de Vries",
    kind: Kind = "confirmation",
    sequence: int = 0,
) -> tuple[EmailMessage, Appointment]:
    objects = _objects(locale, start, name)
    objects[0].sequence = sequence
    message = _confirm(objects, kind=kind)
    appointment = objects[0]
    # Round-trip through bytes, as the outbox stores and sends it.
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed, appointment


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage), f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def _calendar(message: EmailMessage, method: str = "REQUEST") -> icalendar.Calendar:
    (attachment,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert attachment.get_filename()
    assert attachment.get_param("method") == method
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return icalendar.Calendar.from_ical(payload)


def test_dutch_subject_has_the_date_written_out_and_the_reference() -> None:
    message, _ = _build("nl")
    assert message["Subject"] == "Uw video-afspraak op dinsdag 3 maart 2026, 10:30 (DB-7K3P-9Q)"
    assert message["To"].addresses[0].addr_spec == "fatima@example.nl"


def test_dutch_text_and_html_parts() -> None:
    message, _ = _build("nl")
    text, html = _part(message, "plain"), _part(message, "html")
    for body in (text, html):
        assert "dinsdag 3 maart 2026, 10:30" in body
        assert "Geboorteaangifte" in body
        assert "Voorbeeldstad" in body
        assert "DB-7K3P-9Q" in body
        assert "Afspraakcode" in body and "Afspraaknummer" not in body  # the pages' word
        assert "Naar de wachtkamer" in body
        assert "Test uw camera en microfoon" in body or "camera en microfoon" in body
        assert "Afspraak verzetten of annuleren" in body
        assert "Uw paspoort of ID-kaart" in body
        assert "De verklaring van het ziekenhuis" in body
        assert "Er wordt niets van het gesprek opgenomen" in body


def test_english_follows_the_appointment_locale() -> None:
    message, _ = _build("en")
    assert message["Subject"] == "Your video appointment on Tuesday 3 March 2026, 10:30 (DB-7K3P-9Q)"
    text, html = _part(message, "plain"), _part(message, "html")
    for body in (text, html):
        assert "Tuesday 3 March 2026, 10:30" in body
        assert "Go to the waiting room" in body
        assert "Appointment code" in body
        assert "Change or cancel the appointment" in body
        assert "Nothing of the conversation is recorded" in body
        assert "Naar de wachtkamer" not in body
        assert "Beste" not in body


def test_summer_time_is_written_in_amsterdam_time() -> None:
    message, _ = _build("nl", start=dt.datetime(2026, 7, 7, 8, 0, tzinfo=dt.UTC))
    assert "dinsdag 7 juli 2026, 10:00" in message["Subject"]


def test_every_link_carries_a_token_and_no_personal_data() -> None:
    message, _ = _build("nl")
    text, html = _part(message, "plain"), _part(message, "html")
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert hrefs == {
        f"https://balie.example.nl/j/{JOIN}",
        "https://balie.example.nl/apparaattest?gemeente=vb",  # whom to call if the test fails
        f"https://balie.example.nl/afspraak/{MANAGE}",
    }
    assert set(re.findall(r"https?://\S+", text)) == hrefs
    for url in hrefs:
        assert "fatima" not in url.lower() and "DB-7K3P" not in url and "@" not in url
        if "/j/" in url or "/afspraak/" in url:
            assert url.rsplit("/", 1)[1] in (JOIN, MANAGE)


def test_missing_token_is_refused() -> None:
    appointment, participant, service, municipality = _objects()
    for kind in ("confirmation", "reminder", "rescheduled"):
        with pytest.raises(ValueError):
            build_appointment_email(
                kind, appointment, participant, service, municipality, tokens=None, settings=SETTINGS
            )


def test_html_is_mail_client_friendly() -> None:
    html = _part(_build("nl")[0], "html").lower()
    assert "<table" in html and 'style="' in html
    forbidden = ("<script", "javascript:", "<img", "<link", "<iframe", "<form", " src=", "@import", "url(")
    assert [item for item in forbidden if item in html] == []


def test_names_are_escaped_in_html_and_cannot_add_headers() -> None:
    message, _ = _build("nl", name="<b>Jan</b>\r\nBcc: evil@example.org")
    html = _part(message, "html")
    assert "<b>Jan</b>" not in html and "&lt;b&gt;Jan&lt;/b&gt;" in html
    assert message["Bcc"] is None
    assert "\n" not in str(message["To"])


def test_ics_invitation_fields() -> None:
    message, appointment = _build("nl")
    calendar = _calendar(message)
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{appointment.id}@digitale-balie"
    assert event.decoded("SEQUENCE") == 0
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == START + dt.timedelta(minutes=20)
    assert "Geboorteaangifte" in str(event["SUMMARY"])
    assert f"https://balie.example.nl/j/{JOIN}" in str(event["DESCRIPTION"])
    assert str(event["ORGANIZER"]) == "mailto:noreply@balie.example.nl"


def test_ics_uid_is_stable_per_appointment() -> None:
    objects = _objects()
    uids = set()
    for _ in range(2):
        (event,) = _calendar(_confirm(objects)).walk("VEVENT")
        uids.add(str(event["UID"]))
    assert uids == {f"{objects[0].id}@digitale-balie"}


def test_message_id_is_derived_from_the_key() -> None:
    first = message_id_for("confirmation:1", "Balie <noreply@balie.example.nl>")
    assert first == message_id_for("confirmation:1", "Balie <noreply@balie.example.nl>")
    assert first != message_id_for("confirmation:2", "Balie <noreply@balie.example.nl>")
    assert re.fullmatch(r"<[0-9a-f]{40}@balie\.example\.nl>", first)


def test_reminder_and_move_carry_the_join_button_and_a_higher_sequence() -> None:
    reminder, _ = _build("nl", kind="reminder")
    assert reminder["Subject"] == "Herinnering: dinsdag 3 maart 2026, 10:30 (DB-7K3P-9Q)"
    assert "Dit is een herinnering" in _part(reminder, "plain") and f"/j/{JOIN}" in _part(reminder, "html")
    moved, appointment = _build("en", kind="rescheduled", sequence=2)
    assert moved["Subject"] == "Moved to Tuesday 3 March 2026, 10:30 (DB-7K3P-9Q)"
    for body in (_part(moved, "plain"), _part(moved, "html")):
        assert "The button in earlier emails no longer works" in body and f"/j/{JOIN}" in body
    (event,) = _calendar(moved).walk("VEVENT")
    assert str(event["UID"]) == f"{appointment.id}@digitale-balie" and event.decoded("SEQUENCE") == 2


def test_cancellation_removes_the_event_and_has_no_join_link() -> None:
    objects = _objects("nl")
    objects[0].sequence, objects[0].cancel_reason = 1, "We zijn verhuisd"
    message = _confirm(objects, kind="cancelled")
    assert message["Subject"] == "Geannuleerd: dinsdag 3 maart 2026, 10:30 (DB-7K3P-9Q)"
    text, html = _part(message, "plain"), _part(message, "html")
    for body in (text, html):
        assert "is geannuleerd" in body and "We zijn verhuisd" in body
        assert "/j/" not in body and "/afspraak/" not in body
        assert "https://balie.example.nl/" in body  # to book again
    calendar = _calendar(message, method="CANCEL")
    assert str(calendar["METHOD"]) == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and event.decoded("SEQUENCE") == 1
    assert str(event["UID"]) == f"{objects[0].id}@digitale-balie"
    assert not event.walk("VALARM")


@pytest.mark.parametrize(
    ("locale", "shown", "hidden"), [("nl", "Neem uw", "Bring your"), ("en", "Bring your", "Neem uw")]
)
def test_the_teams_own_words_stand_under_the_greeting_as_typed(locale: str, shown: str, hidden: str) -> None:
    """The service editor's text for this kind, in the email's language: plain text, never HTML."""
    objects = _objects(locale)
    objects[2].email_texts = {
        "confirmation": {"nl": "Neem uw loonstroken mee.\n\n<b>Tot dan</b>", "en": "Bring your payslips."},
        "reminder": {"nl": "Alleen in de herinnering."},
    }
    message = _confirm(objects)
    text, html = _part(message, "plain"), _part(message, "html")
    assert shown in text and shown in html and hidden not in text
    assert "Alleen in de herinnering." not in text
    if locale == "nl":
        assert "<b>Tot dan</b>" not in html and "&lt;b&gt;Tot dan&lt;/b&gt;" in html
        assert text.index("Neem uw") < text.index("Wat:")
        assert "Neem uw loonstroken mee.\n\n<b>Tot dan</b>\n\n" in text  # paragraphs kept


def test_an_email_without_own_words_keeps_its_layout() -> None:
    text = _part(_confirm(_objects()), "plain")
    assert "staat vast.\n\nWat: Geboorteaangifte" in text
