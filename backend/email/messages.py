"""The emails a citizen receives, built from the domain objects and put in the outbox."""

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
from backend.i18n import translator
from backend.settings import Settings
from backend.timefmt import clock, long_datetime

ICS_UID_DOMAIN = "digitale-balie"


def links(settings: Settings, *, join_token: str, manage_token: str) -> dict[str, str]:
    """The links in the email: tokens only, never a name, email address or reference code."""
    base = settings.public_url.rstrip("/")
    return {
        "join_url": f"{base}/j/{join_token}",
        "device_test_url": f"{base}/apparaattest",
        "manage_url": f"{base}/afspraak/{manage_token}",
    }


def build_booking_confirmation(
    appointment: Appointment,
    participant: Participant,
    service: Service,
    municipality: Municipality,
    *,
    join_token: str,
    manage_token: str,
    settings: Settings,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """The confirmation for one participant, in the appointment's locale (pure: no I/O)."""
    if not join_token or not manage_token:
        raise ValueError("a confirmation needs the join and the manage token")
    locale = appointment.locale if appointment.locale in ("nl", "en") else "nl"
    _ = translator(locale)
    when = long_datetime(appointment.start_at, locale)
    urls = links(settings, join_token=join_token, manage_token=manage_token)
    service_name = _(service.name)
    context: dict[str, Any] = {
        **urls,
        "name": participant.name,
        "when": when,
        "ends": clock(appointment.end_at, locale),
        "minutes": max(1, round((appointment.end_at - appointment.start_at).total_seconds() / 60)),
        "opens_minutes": settings.join.opens_minutes_before,
        "service": service_name,
        "municipality": municipality.name,
        "phone": municipality.phone,
        "reference": appointment.reference,
        "documents": [_(item) for item in service.documents or []],
    }
    subject = _("Uw video-afspraak op {when} ({reference})", when=when, reference=appointment.reference)
    summary = _("Video-afspraak: {service}", service=service_name)
    invitation = Invitation(
        uid=f"{appointment.id}@{ICS_UID_DOMAIN}",
        sequence=0,
        start=appointment.start_at,
        end=appointment.end_at,
        summary=f"{summary} ({municipality.name})",
        description=_(
            "Naar de wachtkamer: {join_url}\nAfspraaknummer: {reference}\n"
            "Wijzigen of annuleren: {manage_url}",
            join_url=urls["join_url"],
            reference=appointment.reference,
            manage_url=urls["manage_url"],
        ),
        location=urls["join_url"],
        url=urls["join_url"],
        organizer_name=municipality.name,
        organizer_email=sender_address(settings.email.sender),
        attendee_name=participant.name,
        attendee_email=participant.email,
        stamp=now or dt.datetime.now(dt.UTC),
    )
    ics = Attachment(
        filename=_("afspraak.ics"),
        content=calendar_invitation(invitation),
        maintype="text",
        subtype="calendar",
        params=(("method", "REQUEST"), ("charset", "utf-8")),
    )
    return build_message(
        sender=settings.email.sender,
        to_name=participant.name,
        to_address=participant.email,
        subject=subject,
        body=render("confirmation", locale, context),
        attachments=(ics,),
        now=now,
    )


async def queue_booking_confirmation(
    session: AsyncSession,
    appointment: Appointment,
    participant: Participant,
    *,
    join_token: str,
    manage_token: str,
    settings: Settings,
) -> None:
    """Put the confirmation for ``participant`` in the outbox, in the caller's transaction.

    Call it once per participant, with the tokens just handed out (only their hashes are stored).
    Calling it again for the same participant queues nothing new.
    """
    if appointment.id is None or participant.id is None:
        await session.flush()  # primary keys are assigned on flush; the UID and the key need them
    service = await session.get(Service, appointment.service_id)
    municipality = await session.get(Municipality, appointment.municipality_id)
    if service is None or municipality is None:
        raise LookupError("appointment refers to a service or municipality that does not exist")
    message = build_booking_confirmation(
        appointment,
        participant,
        service,
        municipality,
        join_token=join_token,
        manage_token=manage_token,
        settings=settings,
    )
    await enqueue(
        session,
        key=f"confirmation:{participant.id}",
        recipient=participant.email,
        message=message,
        keyring=outbox_keyring(settings),
        meta={
            "kind": "confirmation",
            "appointment_id": str(appointment.id),
            "participant_id": str(participant.id),
        },
    )
