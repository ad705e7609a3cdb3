"""Turn templates into an email: Jinja2 text and HTML parts, MIME assembly, the ``.ics`` invitation.

Email templates live in ``web/templates/email/`` as ``<name>.txt`` and ``<name>.html``. They get
``_`` (the translator for the message's locale) and ``locale`` besides their own context, and
undefined names raise, so a typo breaks a test instead of an email.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from typing import Any

import icalendar
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backend.clock import system_clock
from backend.i18n import translator
from backend.settings import WEB_DIR

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(WEB_DIR / "templates" / "email"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


def render(name: str, locale: str, context: dict[str, Any]) -> Rendered:
    """Render ``email/<name>.txt`` and ``email/<name>.html`` in ``locale``."""
    env = environment()
    values = {"_": translator(locale), "locale": locale, **context}
    return Rendered(
        text=env.get_template(f"{name}.txt").render(values),
        html=env.get_template(f"{name}.html").render(values),
    )


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()


def one_line(value: str) -> str:
    """Text safe for a header: user input never adds a line (and so never a header) of its own."""
    return _CONTROL.sub(" ", value).strip()


def build_message(
    *,
    sender: str,
    to_name: str,
    to_address: str,
    subject: str,
    body: Rendered,
    attachments: tuple[Attachment, ...] = (),
    now: dt.datetime | None = None,
    reply_to: str = "",
) -> EmailMessage:
    """``multipart/mixed`` of ``multipart/alternative`` (text, HTML) plus the attachments."""
    message = EmailMessage()
    message["From"] = sender
    if reply_to:
        message["Reply-To"] = reply_to
    message["To"] = Address(display_name=one_line(to_name), addr_spec=to_address)
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(now or system_clock())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body.text, subtype="plain", charset="utf-8")
    message.add_alternative(body.html, subtype="html", charset="utf-8")
    for item in attachments:
        message.add_attachment(
            item.content,
            maintype=item.maintype,
            subtype=item.subtype,
            filename=item.filename,
            params=dict(item.params),
        )
    return message


@dataclass(frozen=True)
class Invitation:
    """One calendar event, sent as ``METHOD:REQUEST`` so calendars offer to add (or update) it."""

    uid: str
    sequence: int
    start: dt.datetime
    end: dt.datetime
    summary: str
    description: str
    location: str
    url: str
    organizer_name: str
    organizer_email: str
    attendee_name: str
    attendee_email: str
    stamp: dt.datetime
    cancelled: bool = False
    """Send as ``METHOD:CANCEL`` / ``STATUS:CANCELLED``: calendars remove the event."""


def calendar_invitation(invite: Invitation) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Digitale Balie//NL")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if invite.cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", invite.stamp.astimezone(dt.UTC))
    event.add("dtstart", invite.start.astimezone(dt.UTC))
    event.add("dtend", invite.end.astimezone(dt.UTC))
    event.add("summary", invite.summary)
    event.add("description", invite.description)
    event.add("location", invite.location)
    event.add("url", invite.url)
    event.add("status", "CANCELLED" if invite.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = icalendar.vCalAddress(f"mailto:{invite.organizer_email}")
    organizer.params["cn"] = icalendar.vText(one_line(invite.organizer_name))
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{invite.attendee_email}")
    attendee.params["cn"] = icalendar.vText(one_line(invite.attendee_name))
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = icalendar.vText("ACCEPTED")
    attendee.params["rsvp"] = icalendar.vText("FALSE")
    event.add("attendee", attendee)
    if not invite.cancelled:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", invite.summary)
        alarm.add("trigger", dt.timedelta(minutes=-15))
        event.add_component(alarm)
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics


def sender_as(sender: str, name: str) -> str:
    """The deployment's sending address under a municipality's name: ``Gemeente Schiedam <...>``
    (the address stays the deployment's own, which its SPF and DKIM cover)."""
    return str(Address(display_name=one_line(name), addr_spec=sender_address(sender)))


def sender_address(sender: str) -> str:
    """The bare address of ``Name <address>``."""
    return parseaddr(sender)[1]
