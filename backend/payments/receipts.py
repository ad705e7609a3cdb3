"""The receipt e-mail after a payment is paid: amount, what for, when, and the municipality's
details, in the appointment's language, through the outbox (sent once, whatever repeats)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment, Municipality, Participant, ParticipantRole, Payment, Service
from backend.email.outbox import enqueue, outbox_keyring
from backend.email.render import build_message, render, sender_as
from backend.i18n import translator
from backend.localized import localized
from backend.payments.money import euro
from backend.settings import Settings
from backend.tenancy import branding
from backend.timefmt import long_datetime, time_of_day


def receipt_key(payment: Payment) -> str:
    return f"payment-receipt:{payment.id}"


async def queue_receipt(
    session: AsyncSession, payment: Payment, settings: Settings, *, now: dt.datetime
) -> None:
    """Add the receipt to the outbox in the caller's transaction (the caller commits)."""
    appointment = await session.get(Appointment, payment.appointment_id)
    municipality = await session.get(Municipality, payment.municipality_id)
    if appointment is None or municipality is None:
        return
    service: Service = appointment.service
    citizen = await session.scalar(
        select(Participant).where(
            Participant.appointment_id == appointment.id, Participant.role == ParticipantRole.CITIZEN
        )
    )
    locale = appointment.locale if appointment.locale in ("nl", "en") else "nl"
    _ = translator(locale)
    municipality_name = localized(municipality, "name", locale)
    context: dict[str, Any] = {
        "name": citizen.name if citizen else appointment.citizen_name,
        "when": long_datetime(appointment.start_at, locale),
        "ends": time_of_day(appointment.end_at, locale),
        "service": localized(service, "name", locale),
        "municipality": municipality_name,
        "phone": municipality.phone,
        "website": municipality.website,
        "privacy_url": municipality.privacy_url,
        "reply_to": municipality.reply_to,
        "brand": branding.email_style(municipality.brand_tokens or {}),
        "team_text": [],
        "reference": appointment.reference,
        "description": payment.description,
        "amount": euro(payment.amount_cents, locale),
        "paid_on": long_datetime(payment.paid_at or now, locale),
        "payment_reference": payment.provider_payment_id or "",
        "article": payment.ordinance_article,
    }
    message = build_message(
        sender=sender_as(settings.email.sender, municipality.sender_name),
        to_name=context["name"],
        to_address=appointment.citizen_email,
        subject=_("Betalingsbewijs: {description}", description=payment.description),
        body=render("receipt", locale, context),
        now=now,
        reply_to=municipality.reply_to,
    )
    await enqueue(
        session,
        key=receipt_key(payment),
        recipient=appointment.citizen_email,
        message=message,
        keyring=outbox_keyring(settings),
        kind="payment_receipt",
        appointment_id=appointment.id,
        now=now,
    )
