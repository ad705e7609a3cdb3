"""The email for a partner or interpreter invited to a call: their own join link, nothing to manage."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment, Municipality, Participant, Service
from backend.email.outbox import enqueue, outbox_keyring
from backend.email.render import (
    Attachment,
    Invitation,
    build_message,
    calendar_invitation,
    render,
    sender_address,
)
from backend.i18n import N_, translator
from backend.settings import Settings
from backend.timefmt import clock, long_datetime

ICS_UID_DOMAIN = "digitale-balie"
ROLE_TEXTS = {
    "partner": N_("U doet mee als partner."),
    "interpreter": N_("U doet mee als tolk."),
}


def build_invitation(
    appointment: Appointment,
    participant: Participant,
    service: Service,
    municipality: Municipality,
    *,
    join_token: str,
    locale: str,
    settings: Settings,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """The invitation for ``participant`` in ``locale`` (pure: no I/O).

    The links carry only the token. There is no manage link: changing or cancelling the appointment
    is for the citizen who booked it.
    """
    if not join_token:
        raise ValueError("an invitation needs the join token")
    locale = locale if locale in ("nl", "en") else "nl"
    _ = translator(locale)
    base = settings.public_url.rstrip("/")
    join_url, device_test_url = f"{base}/j/{join_token}", f"{base}/apparaattest"
    when = long_datetime(appointment.start_at, locale)
    service_name = _(service.name)
    context: dict[str, Any] = {
        "join_url": join_url,
        "device_test_url": device_test_url,
        "name": participant.name,
        "role_text": _(ROLE_TEXTS.get(participant.role, ROLE_TEXTS["partner"])),
        "when": when,
        "ends": clock(appointment.end_at, locale),
        "opens_minutes": settings.join.opens_minutes_before,
        "service": service_name,
        "municipality": municipality.name,
        "phone": municipality.phone,
        "reference": appointment.reference,
    }
    subject = _(
        "Uitnodiging voor een video-afspraak op {when} ({reference})",
        when=when,
        reference=appointment.reference,
    )
    summary = _("Video-afspraak: {service}", service=service_name)
    ics = Attachment(
        filename=_("afspraak.ics"),
        content=calendar_invitation(
            Invitation(
                uid=f"{participant.id}@{ICS_UID_DOMAIN}",
                sequence=0,
                start=appointment.start_at,
                end=appointment.end_at,
                summary=f"{summary} ({municipality.name})",
                description=_("Naar de wachtkamer: {join_url}", join_url=join_url),
                location=join_url,
                url=join_url,
                organizer_name=municipality.name,
                organizer_email=sender_address(settings.email.sender),
                attendee_name=participant.name,
                attendee_email=participant.email,
                stamp=now or dt.datetime.now(dt.UTC),
            )
        ),
        maintype="text",
        subtype="calendar",
        params=(("method", "REQUEST"), ("charset", "utf-8")),
    )
    return build_message(
        sender=settings.email.sender,
        to_name=participant.name,
        to_address=participant.email,
        subject=subject,
        body=render("invitation", locale, context),
        attachments=(ics,),
        now=now,
    )


async def queue_invitation(
    session: AsyncSession,
    appointment: Appointment,
    participant: Participant,
    *,
    join_token: str,
    locale: str,
    settings: Settings,
) -> None:
    """Put the invitation in the outbox, in the caller's transaction (once per participant)."""
    service = await session.get(Service, appointment.service_id)
    municipality = await session.get(Municipality, appointment.municipality_id)
    if service is None or municipality is None:
        raise LookupError("appointment refers to a service or municipality that does not exist")
    message = build_invitation(
        appointment,
        participant,
        service,
        municipality,
        join_token=join_token,
        locale=locale,
        settings=settings,
    )
    await enqueue(
        session,
        key=f"invitation:{participant.id}",
        recipient=participant.email,
        message=message,
        keyring=outbox_keyring(settings),
        meta={
            "kind": "invitation",
            "appointment_id": str(appointment.id),
            "participant_id": str(participant.id),
        },
    )
