"""What the booking pages show, shared by the citizen's pages and the desk's "book for a caller".

The journey is: intake questions (if the service has any) -> a list of free times -> contact details
-> confirmation. The intake answers are kept in the visitor's session between those pages (they can
hold personal data, so never in a URL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from uuid import UUID

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking import service as booking
from backend.booking.deadlines import rule_for
from backend.booking.intake import Question, check_answers, parse_questions
from backend.db.models import Service
from backend.i18n import N_, translator
from backend.timefmt import AMSTERDAM, local, long_date, time_of_day

DAYS_PER_PAGE = 14
SESSION_KEY = "intake"
STATUS_LABELS = {
    "booked": N_("Gepland"),
    "waiting": N_("In de wachtkamer"),
    "in_call": N_("In gesprek"),
    "completed": N_("Afgerond"),
    "no_show": N_("Niet verschenen"),
    "cancelled": N_("Geannuleerd"),
}
NO_TIMES = N_("Er zijn in deze periode geen tijden vrij. Kijk bij een latere periode of bel {phone}.")
EXPIRED = N_("De termijn is al voorbij. Bel {phone}. U kunt dan toch een afspraak maken.")


# -- intake answers in the session ------------------------------------------------------------------


def remember_answers(request: Request[Any, Any, Any], service_id: UUID, answers: dict[str, Any]) -> None:
    data = dict(request.session or {})
    data[SESSION_KEY] = {"service": str(service_id), "answers": answers}
    request.set_session(data)


def remembered_answers(
    request: Request[Any, Any, Any], service: Service, today: dt.date
) -> dict[str, Any] | None:
    """The answers given for ``service`` in this session, checked again (as of ``today``); None if
    there are none."""
    stored = (request.session or {}).get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("service") != str(service.id):
        return None
    answers = stored.get("answers")
    if not isinstance(answers, dict):
        return None
    checked = check_answers(parse_questions(service.intake), answers, today)
    return checked.answers if checked.ok else None


def forget_answers(request: Request[Any, Any, Any]) -> None:
    """After the booking: the intake answers and the contact details go."""
    data = dict(request.session or {})
    had = data.pop(SESSION_KEY, None) is not None
    if data.pop(CONTACT_KEY, None) is not None or had:
        request.set_session(data)


# -- contact details while another time is chosen ------------------------------------------------------

CONTACT_KEY = "contact"
CONTACT_FIELDS = ("name", "email", "consent")


def remember_contact(request: Request[Any, Any, Any], service_id: UUID, values: dict[str, str]) -> None:
    """Name, e-mail and consent as typed, when the time was taken meanwhile: the form for the next
    time the visitor picks shows them again instead of an empty form."""
    data = dict(request.session or {})
    data[CONTACT_KEY] = {
        "service": str(service_id),
        **{k: values[k] for k in ("name", "email", "consent") if k in values},
    }
    request.set_session(data)


def remembered_contact(request: Request[Any, Any, Any], service: Service) -> dict[str, str]:
    stored = (request.session or {}).get(CONTACT_KEY)
    if not isinstance(stored, dict) or stored.get("service") != str(service.id):
        return {}
    return {k: v for k, v in stored.items() if k in CONTACT_FIELDS and isinstance(v, str)}


def needs_intake(service: Service) -> bool:
    return bool(service.intake)


# -- the intake form -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    label: str
    help: str
    required: bool
    value: Any
    error: str
    options: list[tuple[str, str]]


def intake_fields(
    service: Service,
    locale: str,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    for_official: bool = False,
) -> list[Field]:
    """The questions as form fields; ``for_official``: in the official's words (booking by phone)."""
    _ = translator(locale)
    fields = []
    for question in parse_questions(service.intake):
        fields.append(
            Field(
                key=question.key,
                type=question.type,
                label=question.official_text(locale) if for_official else question.text(locale),
                help=question.help_text(locale),
                required=question.required,
                value=values.get(question.key, ""),
                error=_(errors[question.key]) if question.key in errors else "",
                options=[
                    (o.value, o.label.get(locale) or o.label.get("nl", o.value)) for o in question.options
                ],
            )
        )
    return fields


def answer_summary(
    service: Service, answers: dict[str, Any], locale: str, *, for_official: bool = False
) -> list[tuple[str, str]]:
    """(question, answer) pairs to show back to the visitor before they confirm; ``for_official``:
    the questions in the official's words (the desk's pages)."""
    _ = translator(locale)
    rows = []
    for question in parse_questions(service.intake):
        if question.key in answers:
            label = question.official_text(locale) if for_official else question.text(locale)
            rows.append((label, _show(question, answers[question.key], locale, _)))
    return rows


def _show(question: Question, value: Any, locale: str, _: Any) -> str:
    if question.type == "date":
        return long_date(dt.date.fromisoformat(value), locale)
    if question.type == "checkbox":
        return str(_("ja") if value else _("nee"))
    if question.type == "choice":
        option = next((o for o in question.options if o.value == value), None)
        return (option.label.get(locale) or option.label.get("nl", value)) if option else str(value)
    return str(value)


# -- the list of free times ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotListing:
    days: list[dict[str, Any]]
    """``{"label": "dinsdag 3 maart 2026", "slots": [{"iso": ..., "time": "10:30"}]}`` per day."""
    first_day: dt.date
    previous_day: dt.date | None
    next_day: dt.date | None
    notice: str
    """Why some days are not offered (a legal deadline), translated; empty if nothing to say."""
    empty: str
    """What to do when no time is shown, translated."""


async def slot_listing(
    session: AsyncSession,
    service: Service,
    locale: str,
    *,
    first_day: dt.date | None,
    answers: dict[str, Any],
    now: dt.datetime,
    by_official: bool = False,
) -> SlotListing:
    _ = translator(locale)
    phone = service.team.municipality.phone
    today = now.astimezone(AMSTERDAM).date()
    start_day = max(first_day or today, today)
    rules = await booking.load_rules(session, service)
    window = rules.window(now, by_official=by_official)
    last_possible = window.latest.astimezone(AMSTERDAM).date()
    rule = rule_for(service.deadline_rule)
    days = booking.deadline_days(service, answers)
    notice, empty = "", _(NO_TIMES, phone=phone)
    if rule is not None and days is not None:
        last_possible = min(last_possible, days.last)
        notice = _(rule.explanation, last=long_date(days.last, locale))
        empty = _(rule.none_left, phone=phone)
        if days.last < today:
            notice, empty = "", _(EXPIRED, phone=phone)
    last_day = min(start_day + dt.timedelta(days=DAYS_PER_PAGE - 1), last_possible)
    starts = await booking.free_slots(
        session, service, start_day, last_day, now, days=days, by_official=by_official, rules=rules
    )
    grouped = [
        {
            "label": long_date(day, locale),
            "slots": [{"iso": s.isoformat(), "time": time_of_day(s, locale)} for s in group],
        }
        for day, group in groupby(starts, key=lambda s: local(s).date())
    ]
    following = start_day + dt.timedelta(days=DAYS_PER_PAGE)
    return SlotListing(
        days=grouped,
        first_day=start_day,
        previous_day=max(start_day - dt.timedelta(days=DAYS_PER_PAGE), today) if start_day > today else None,
        next_day=following if following <= last_possible else None,
        notice=notice,
        empty=empty,
    )


def status_label(status: str, locale: str) -> str:
    return translator(locale)(STATUS_LABELS.get(status, status))
