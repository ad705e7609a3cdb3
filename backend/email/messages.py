"""The emails about an appointment, built from the domain objects and put in the outbox.

Four kinds share one layout (web/templates/email/_layout.*): the confirmation, a reminder, a notice
that the appointment moved (with new links: the old join links stop working) and a cancellation.
Each has an ``.ics`` with the appointment's UID and its current SEQUENCE, so calendars update the
one event; a cancellation sends ``METHOD:CANCEL``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import system_clock
from backend.db.models import Appointment, Municipality, OutboxMessage, OutboxStatus, Participant, Service
from backend.email.outbox import enqueue, enqueue_request, freeze, message_context, outbox_keyring
from backend.email.render import (
    Attachment,
    Invitation,
    build_message,
    calendar_invitation,
    render,
    sender_address,
    sender_as,
)
from backend.i18n import N_, translator
from backend.localized import localized, localized_list
from backend.settings import Settings
from backend.tenancy import branding
from backend.timefmt import long_datetime, time_of_day

ICS_UID_DOMAIN = "digitale-balie"
Kind = Literal["confirmation", "reminder", "rescheduled", "cancelled", "invitation"]
ROLE_TEXTS = {
    "partner": N_("U doet mee als partner."),
    "interpreter": N_("U doet mee als tolk."),
}


@dataclass(frozen=True)
class Tokens:
    """The tokens of one participant, known only when they are handed out (stored as hashes)."""

    join: str
    manage: str | None = None
    """Only for the person who booked: partners and interpreters cannot move the appointment."""


def links(settings: Settings, tokens: Tokens | None, municipality_slug: str = "") -> dict[str, str]:
    """The links in the email: tokens only, never a name, email address or reference code. The
    device test names the municipality (public: its page is ``/{slug}``), so it can say whom to call."""
    base = settings.public_url.rstrip("/")
    device_test = f"{base}/apparaattest" + (f"?gemeente={municipality_slug}" if municipality_slug else "")
    return {
        "join_url": f"{base}/j/{tokens.join}" if tokens else "",
        "device_test_url": device_test,
        "manage_url": f"{base}/afspraak/{tokens.manage}" if tokens and tokens.manage else "",
        "book_url": f"{base}/",
    }


def team_text(service: Service, kind: str, locale: str) -> list[str]:
    """The team's own words for this kind of email (service editor), as paragraphs; Dutch when
    there is no text in ``locale``."""
    texts = (service.email_texts or {}).get(kind) or {}
    text = texts.get(locale) or texts.get("nl") or ""
    return [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]


def _subject(kind: Kind, locale: str, when: str, reference: str) -> str:
    _ = translator(locale)
    # Short enough for one header line and a phone's inbox: the date and the reference matter most.
    if kind == "reminder":
        return _("Herinnering: {when} ({reference})", when=when, reference=reference)
    if kind == "rescheduled":
        return _("Verzet naar {when} ({reference})", when=when, reference=reference)
    if kind == "cancelled":
        return _("Geannuleerd: {when} ({reference})", when=when, reference=reference)
    if kind == "invitation":
        return _("Uitnodiging: video-afspraak op {when} ({reference})", when=when, reference=reference)
    return _("Uw video-afspraak op {when} ({reference})", when=when, reference=reference)


def build_appointment_email(
    kind: Kind,
    appointment: Appointment,
    participant: Participant,
    service: Service,
    municipality: Municipality,
    *,
    tokens: Tokens | None,
    settings: Settings,
    now: dt.datetime | None = None,
    locale: str | None = None,
) -> EmailMessage:
    """One email about ``appointment`` for ``participant``, in ``locale`` (default: the appointment's)
    (pure: no I/O). Everyone's calendar event has the appointment's UID and sequence, so a later
    move or cancellation updates the same event for the booker and for invited people alike."""
    if kind != "cancelled" and tokens is None:
        raise ValueError(f"a {kind} email needs the participant's join token")
    locale = locale or appointment.locale
    locale = locale if locale in ("nl", "en") else "nl"
    _ = translator(locale)
    when = long_datetime(appointment.start_at, locale)
    urls = links(settings, tokens, municipality.slug)
    service_name = localized(service, "name", locale)
    municipality_name = localized(municipality, "name", locale)
    context: dict[str, Any] = {
        **urls,
        "name": participant.name,
        "when": when,
        "ends": time_of_day(appointment.end_at, locale),
        "opens_minutes": settings.join.opens_minutes_before,
        "service": service_name,
        "municipality": municipality_name,
        "phone": municipality.phone,
        "website": municipality.website,
        "privacy_url": municipality.privacy_url,
        "reply_to": municipality.reply_to,
        "brand": branding.email_style(municipality.brand_tokens or {}),
        "book_url": f"{settings.public_url.rstrip('/')}/{municipality.slug}",
        "reference": appointment.reference,
        "documents": localized_list(service, "documents", locale),
        "reason": appointment.cancel_reason,
        "role_text": _(ROLE_TEXTS.get(participant.role, "")) if participant.role in ROLE_TEXTS else "",
        "team_text": team_text(service, kind, locale),
    }
    summary = _("Video-afspraak: {service}", service=service_name)
    description = (
        _("Afspraakcode: {reference}", reference=appointment.reference)
        if kind == "cancelled"
        else _(
            "Naar de wachtkamer: {join_url}\nAfspraakcode: {reference}",
            join_url=urls["join_url"],
            reference=appointment.reference,
        )
    )
    invitation = Invitation(
        uid=f"{appointment.id}@{ICS_UID_DOMAIN}",
        sequence=appointment.sequence or 0,
        start=appointment.start_at,
        end=appointment.end_at,
        summary=f"{summary} ({municipality_name})",
        description=description,
        location=urls["join_url"] or municipality_name,
        url=urls["join_url"],
        organizer_name=municipality_name,
        organizer_email=sender_address(settings.email.sender),
        attendee_name=participant.name,
        attendee_email=participant.email,
        stamp=now or system_clock(),
        cancelled=kind == "cancelled",
    )
    ics = Attachment(
        filename=_("afspraak.ics"),
        content=calendar_invitation(invitation),
        maintype="text",
        subtype="calendar",
        params=(("method", "CANCEL" if kind == "cancelled" else "REQUEST"), ("charset", "utf-8")),
    )
    return build_message(
        sender=sender_as(settings.email.sender, municipality.sender_name),
        to_name=participant.name,
        to_address=participant.email,
        subject=_subject(kind, locale, when, appointment.reference),
        body=render(kind, locale, context),
        attachments=(ics,),
        now=now,
        reply_to=municipality.reply_to,
    )


async def queue_appointment_email(
    session: AsyncSession,
    kind: Kind,
    appointment: Appointment,
    participant: Participant,
    *,
    tokens: Tokens | None,
    settings: Settings,
    key: str,
    now: dt.datetime,
    send_at: dt.datetime | None = None,
    locale: str | None = None,
) -> None:
    """Put one email in the outbox, in the caller's transaction; ``key`` makes it happen once."""
    await _flushed(session, appointment, participant)
    service = await session.get(Service, appointment.service_id)
    municipality = await session.get(Municipality, appointment.municipality_id)
    if service is None or municipality is None:
        raise LookupError("appointment refers to a service or municipality that does not exist")
    message = build_appointment_email(
        kind,
        appointment,
        participant,
        service,
        municipality,
        tokens=tokens,
        settings=settings,
        now=now,
        locale=locale,
    )
    await enqueue(
        session,
        key=key,
        recipient=participant.email,
        message=message,
        keyring=outbox_keyring(settings),
        kind=kind,
        appointment_id=appointment.id,
        send_at=send_at,
        now=now,
        meta={"participant_id": str(participant.id)},
    )


DEFERRED_KINDS: tuple[Kind, ...] = ("confirmation", "invitation", "reminder")
"""Emails written when they are sent, from the appointment as it is then (see :func:`render_request`)."""


async def queue_deferred(
    session: AsyncSession,
    kind: Kind,
    appointment: Appointment,
    participant: Participant,
    *,
    tokens: Tokens,
    settings: Settings,
    key: str,
    send_at: dt.datetime,
    locale: str | None = None,
) -> None:
    """Queue an email that the worker writes when it sends it: only a sealed request (who, which
    links, which version of the appointment) waits in the outbox. The booking's transaction stays
    short, and a reminder days ahead shows the appointment as it is by then."""
    await _flushed(session, appointment, participant)
    shown_locale = locale or appointment.locale
    when = long_datetime(appointment.start_at, shown_locale if shown_locale in ("nl", "en") else "nl")
    await enqueue_request(
        session,
        key=key,
        recipient=participant.email,
        subject=_subject(kind, shown_locale, when, appointment.reference),
        request={
            "kind": kind,
            "participant_id": str(participant.id),
            "join": tokens.join,
            "manage": tokens.manage or "",
            "locale": locale or "",
            "sequence": str(appointment.sequence),
        },
        keyring=outbox_keyring(settings),
        kind=kind,
        appointment_id=appointment.id,
        send_at=send_at,
    )


async def queue_booking_confirmation(
    session: AsyncSession,
    appointment: Appointment,
    participant: Participant,
    *,
    tokens: Tokens,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """The confirmation and the reminders for ``participant``, with the tokens just handed out."""
    await _flushed(session, appointment, participant)
    await queue_deferred(
        session,
        "confirmation",
        appointment,
        participant,
        tokens=tokens,
        settings=settings,
        key=f"confirmation:{participant.id}:{appointment.sequence}",
        send_at=now,
    )
    await queue_reminders(session, appointment, participant, tokens=tokens, settings=settings, now=now)


async def queue_invitation(
    session: AsyncSession,
    appointment: Appointment,
    participant: Participant,
    *,
    join_token: str,
    locale: str,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """The invitation for a partner or interpreter (their own link, no manage link) and their
    reminders, in ``locale``, in the caller's transaction."""
    tokens = Tokens(join=join_token)
    await queue_deferred(
        session,
        "invitation",
        appointment,
        participant,
        tokens=tokens,
        settings=settings,
        key=f"invitation:{participant.id}",
        send_at=now,
        locale=locale,
    )
    await queue_reminders(
        session, appointment, participant, tokens=tokens, settings=settings, now=now, locale=locale
    )


async def queue_reminders(
    session: AsyncSession,
    appointment: Appointment,
    participant: Participant,
    *,
    tokens: Tokens,
    settings: Settings,
    now: dt.datetime,
    locale: str | None = None,
) -> None:
    """One reminder per ``Service.reminder_minutes`` still in the future, each due at its moment.

    The key holds the appointment's sequence, so after a move the new reminders are new rows, and
    :func:`cancel_reminders` stops the old ones.
    """
    await _flushed(session, appointment, participant)
    service = await session.get(Service, appointment.service_id)
    minutes_before = sorted(set(service.reminder_minutes if service else []), reverse=True)
    for minutes in minutes_before:
        due = appointment.start_at - dt.timedelta(minutes=minutes)
        if due <= now:
            continue  # booked later than this reminder would have gone out
        await queue_deferred(
            session,
            "reminder",
            appointment,
            participant,
            tokens=tokens,
            settings=settings,
            key=f"reminder:{participant.id}:{minutes}:{appointment.sequence}",
            send_at=due,
            locale=locale,
        )


async def render_request(
    session: AsyncSession, request: dict[str, str], settings: Settings, *, now: dt.datetime
) -> EmailMessage | None:
    """The email a queued request stands for, or None when it should no longer go out: the
    appointment stopped running or changed since (a moved appointment has its own email with new
    links), or the participant's link was withdrawn."""
    participant = await session.get(Participant, UUID(request["participant_id"]))
    if participant is None or participant.revoked_at is not None:
        return None
    appointment = await session.get(Appointment, participant.appointment_id, populate_existing=True)
    if appointment is None or not appointment.is_active:
        return None
    if request.get("sequence", str(appointment.sequence)) != str(appointment.sequence):
        return None
    service = await session.get(Service, appointment.service_id)
    municipality = await session.get(Municipality, appointment.municipality_id)
    kind = request.get("kind")
    if service is None or municipality is None or kind not in DEFERRED_KINDS:
        return None
    return build_appointment_email(
        kind,
        appointment,
        participant,
        service,
        municipality,
        tokens=Tokens(join=request["join"], manage=request.get("manage") or None),
        settings=settings,
        now=now,
        locale=request.get("locale") or None,
    )


async def outgoing_bytes(
    session: AsyncSession, *, key: str, sealed: bytes, deferred: bool, settings: Settings, now: dt.datetime
) -> bytes | None:
    """The bytes to send for one outbox row (written now when it was queued as a request), or None
    when a request should no longer go out. Raises :class:`backend.crypto.SealError` when the row
    cannot be opened (the secret key changed)."""
    opened = outbox_keyring(settings).open(sealed, context=message_context(key))
    if not deferred:
        return opened
    message = await render_request(session, json.loads(opened), settings, now=now)
    return None if message is None else freeze(message, key, now)


async def _flushed(session: AsyncSession, appointment: Appointment, participant: Participant) -> None:
    """New rows get their ids and defaults (the sequence) on flush; keys and the UID need them."""
    if appointment.id is None or appointment.sequence is None or participant.id is None:
        await session.flush()


async def cancel_reminders(session: AsyncSession, appointment: Appointment) -> None:
    """Reminders not sent yet will not be: the appointment was cancelled or moved."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.appointment_id == appointment.id,
            OutboxMessage.kind == "reminder",
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.CANCELLED, mime=b"")
    )
