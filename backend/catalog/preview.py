"""The real email of a service, written for a made-up appointment, so a team admin sees their
words where a citizen will: the same builder, layout and subject as the outbox uses."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Final, cast

from backend.db.models import Appointment, AppointmentStatus, Participant, Service
from backend.email.messages import Kind, Tokens, build_appointment_email
from backend.i18n import translator
from backend.settings import Settings
from backend.timefmt import AMSTERDAM

SAMPLE_TOKEN: Final = "voorbeeld"  # noqa: S105 - a made-up link in a preview, not a secret


@dataclass(frozen=True)
class Preview:
    subject: str
    text: str
    html: str
    locale: str


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return str(cast(EmailMessage, body).get_content()) if body is not None else ""


def preview_email(
    kind: str, service: Service, settings: Settings, *, now: dt.datetime, locale: str
) -> Preview:
    """``kind`` of :data:`backend.catalog.service_form.EMAIL_KINDS`; nothing is stored or sent."""
    locale = locale if locale in ("nl", "en") else "nl"
    _ = translator(locale)
    local_day = (now + dt.timedelta(days=7)).astimezone(AMSTERDAM).date()
    start = dt.datetime.combine(local_day, dt.time(10, 0), AMSTERDAM).astimezone(dt.UTC)  # 10:00 next week
    team = service.team
    appointment = Appointment(
        id=uuid.UUID(int=0),
        reference="VOORBEELD",
        service_id=service.id,
        team_id=team.id,
        municipality_id=team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=service.duration_minutes),
        status=AppointmentStatus.BOOKED,
        citizen_name=_("Voorbeeld Inwoner"),
        citizen_email="inwoner@example.org",
        locale=locale,
        sequence=0,
        cancel_reason="",
    )
    role = "partner" if kind == "invitation" else "citizen"
    participant = Participant(
        id=uuid.UUID(int=1), name=appointment.citizen_name, email="inwoner@example.org", role=role
    )
    message = build_appointment_email(
        cast(Kind, kind),
        appointment,
        participant,
        service,
        team.municipality,
        tokens=Tokens(join=SAMPLE_TOKEN, manage=SAMPLE_TOKEN if kind != "invitation" else None),
        settings=settings,
        now=now,
        locale=locale,
    )
    return Preview(str(message["Subject"]), _part(message, "plain"), _part(message, "html"), locale)
