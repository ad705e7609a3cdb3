"""What a team admin types in the service editor, checked and turned into a service's data.

One form holds what a citizen reads (name, description and the documents checklist, in Dutch and
English), the checklist as the official reads it (backend/catalog/official_words.py), what the
service asks of them (DigiD level, representation, people in the call, a legal term) and the slot
rules the agenda already knows (:func:`backend.booking.agenda_form.service_rules`).
Every message is plain Dutch (``N_``); nothing is stored unless the whole form is right.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from backend.booking import agenda_form
from backend.booking.agenda_form import Checker, FormErrors, Message
from backend.booking.deadlines import RULES
from backend.booking.intake import parse_questions
from backend.catalog.official_words import OFFICIAL_DOCUMENTS, stored_official_documents
from backend.db.models import Service
from backend.i18n import N_
from backend.participants import HARD_LIMIT
from backend.settings import LEVELS

MAX_DOCUMENTS: Final = 20
LEVEL_NAMES: Final = {
    "none": N_("Geen DigiD nodig"),
    "basis": N_("DigiD basis"),
    "midden": N_("DigiD midden (met de app of sms)"),
    "substantieel": N_("DigiD substantieel"),
    "hoog": N_("DigiD hoog"),
}
DEADLINE_NAMES: Final = {"birth_registration": N_("Aangifte van geboorte: binnen 3 dagen na de geboorte")}
"""A name for each legal term in backend.booking.deadlines (the keys are the same)."""


@dataclass
class ServiceTexts:
    name: str
    description: str
    documents: list[str]
    english: dict[str, Any]
    """``{"name", "description", "documents", "official_documents"}`` in English, only what was
    filled in."""
    official_documents: list[str]
    """The checklist in the official's words (Dutch); empty: the official reads ``documents``."""


@dataclass
class ServiceDraft:
    texts: ServiceTexts
    required_loa: str
    allows_representation: bool
    max_participants: int
    deadline_rule: str | None
    keep_days: int | None
    """Days a marked document is kept; None: the deployment's default."""
    rules: agenda_form.ServiceRules


def _line(check: Checker, name: str, limit: int, *, required: bool = False) -> str:
    text = " ".join(check.text(name).split())
    if required and not text:
        check.fail(name, N_("Vul dit in."))
    elif len(text) > limit:
        check.fail(name, N_("Dit is te lang (hoogstens {limit} tekens)."), limit=limit)
    return text


def _paragraphs(check: Checker, name: str, limit: int) -> str:
    text = "\n".join(line.rstrip() for line in check.text(name).replace("\r\n", "\n").strip().split("\n"))
    if len(text) > limit:
        check.fail(name, N_("Dit is te lang (hoogstens {limit} tekens)."), limit=limit)
    return text


def _lines(check: Checker, name: str) -> list[str]:
    lines = [" ".join(line.split()) for line in check.text(name).splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > MAX_DOCUMENTS:
        check.fail(name, N_("Zet hoogstens {limit} dingen op de lijst."), limit=MAX_DOCUMENTS)
    elif any(len(line) > 200 for line in lines):
        check.fail(name, N_("Een regel is te lang (hoogstens {limit} tekens)."), limit=200)
    return lines


def service_draft(data: Mapping[str, str], *, max_keep_days: int) -> ServiceDraft:
    """The whole editor form; :class:`FormErrors` with every field that is not right."""
    check = Checker(data)
    name = _line(check, "name", 120, required=True)
    name_en = _line(check, "name_en", 120)
    description = _paragraphs(check, "description", 2000)
    description_en = _paragraphs(check, "description_en", 2000)
    documents = _lines(check, "documents")
    documents_en = _lines(check, "documents_en")
    if documents_en and len(documents_en) != len(documents):
        check.fail(
            "documents_en",
            N_("Zet evenveel regels als in het Nederlands ({count}), in dezelfde volgorde."),
            count=len(documents),
        )
    official = _lines(check, "documents_official")
    official_en = _lines(check, "documents_official_en")
    if official_en and len(official_en) != len(official):
        check.fail(
            "documents_official_en",
            N_("Zet evenveel regels als in het Nederlands ({count}), in dezelfde volgorde."),
            count=len(official),
        )
    level = check.text("required_loa") or "none"
    if level not in LEVELS:
        check.fail("required_loa", N_("Kies een van de mogelijkheden."))
    participants = check.number("max_participants", 1, HARD_LIMIT)
    rule = check.text("deadline_rule") or None
    if rule is not None and rule not in RULES:
        check.fail("deadline_rule", N_("Kies een van de mogelijkheden."))
    keep_days = check.number("keep_days", 0, max_keep_days, optional=True)
    rules: agenda_form.ServiceRules | None = None
    try:
        rules = agenda_form.service_rules(data)
    except FormErrors as exc:
        for field, (message, values) in exc.errors.items():
            check.fail(field, message, **values)
    check.done()
    if participants is None or rules is None:
        raise RuntimeError("done() lets no form through with a required number missing")
    english: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", name_en),
            ("description", description_en),
            ("documents", documents_en),
            (OFFICIAL_DOCUMENTS, official_en),
        )
        if value
    }
    return ServiceDraft(
        texts=ServiceTexts(name, description, documents, english, official),
        required_loa=level,
        allows_representation=check.text("allows_representation") == "yes",
        max_participants=participants,
        deadline_rule=rule,
        keep_days=keep_days,
        rules=rules,
    )


def form_values(service: Service, keep_days: int | None) -> dict[str, str]:
    """The editor's fields as they are stored (what the form shows before it is changed)."""
    english = (service.translations or {}).get("en", {})
    official, official_en = stored_official_documents(service)
    rules = {
        "duration_minutes": str(service.duration_minutes),
        "step_minutes": _text(service.step_minutes),
        "buffer_minutes": str(service.buffer_minutes),
        "lead_minutes": _text(service.lead_minutes),
        "horizon_days": _text(service.horizon_days),
        "capacity": _text(service.capacity),
        "max_active_per_email": str(service.max_active_per_email),
        "reminder_hours": ", ".join(str(m // 60) for m in service.reminder_minutes),
    }
    return {
        "name": service.name,
        "name_en": str(english.get("name", "")),
        "description": service.description,
        "description_en": str(english.get("description", "")),
        "documents": "\n".join(service.documents or []),
        "documents_en": "\n".join(english.get("documents", [])),
        "documents_official": "\n".join(official),
        "documents_official_en": "\n".join(official_en),
        "required_loa": service.required_loa,
        "allows_representation": "yes" if service.allows_representation else "",
        "max_participants": str(service.max_participants),
        "deadline_rule": service.deadline_rule or "",
        "keep_days": _text(keep_days),
        **rules,
    }


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def apply(service: Service, draft: ServiceDraft) -> None:
    """Write a checked draft into ``service`` (its intake questions and email texts stay)."""
    service.name, service.description = draft.texts.name, draft.texts.description
    service.documents = draft.texts.documents
    translations = dict(service.translations or {})
    translations["en"] = draft.texts.english
    dutch = {k: v for k, v in (translations.get("nl") or {}).items() if k != OFFICIAL_DOCUMENTS}
    if draft.texts.official_documents:
        dutch[OFFICIAL_DOCUMENTS] = draft.texts.official_documents
    translations["nl"] = dutch
    service.translations = {lang: texts for lang, texts in translations.items() if texts or lang == "en"}
    service.required_loa, service.allows_representation = draft.required_loa, draft.allows_representation
    service.max_participants, service.deadline_rule = draft.max_participants, draft.deadline_rule
    rules = draft.rules
    service.duration_minutes, service.step_minutes = rules.duration_minutes, rules.step_minutes
    service.buffer_minutes, service.lead_minutes = rules.buffer_minutes, rules.lead_minutes
    service.horizon_days, service.capacity = rules.horizon_days, rules.capacity
    service.max_active_per_email, service.reminder_minutes = (
        rules.max_active_per_email,
        rules.reminder_minutes,
    )


def slug_for(name: str, taken: Iterable[str]) -> str:
    """A URL-safe name from the Dutch name (``Geboorteaangifte`` -> ``geboorteaangifte``), not yet
    used in the team: ``-2``, ``-3`` ... when it is."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50] or "dienst"
    used = set(taken)
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    return slug


def publish_problems(service: Service) -> list[Message]:
    """What stands in the way of publishing ``service``; empty: it can be published."""
    problems: list[Message] = []
    try:
        questions = parse_questions(service.intake)
    except ValueError:
        problems.append((N_("De vragen van deze dienst kloppen niet. Sla ze opnieuw op."), {}))
        questions = ()
    rule = RULES.get(service.deadline_rule) if service.deadline_rule else None
    needed = getattr(rule, "question", None)
    if needed is not None and not any(q.key == needed and q.type == "date" for q in questions):
        problems.append(
            (
                N_("De termijn van deze dienst rekent vanaf een datumvraag met de naam {key}. Voeg die toe."),
                {"key": needed},
            )
        )
    if not service.team.opening_hours and not service.team.exceptions:
        problems.append((N_("Het team heeft nog geen openingstijden. Vul die in bij Agenda."), {}))
    return problems


EMAIL_KINDS: Final = {
    "confirmation": N_("Bevestiging van de afspraak"),
    "reminder": N_("Herinnering"),
    "rescheduled": N_("Afspraak verzet"),
    "cancelled": N_("Afspraak geannuleerd"),
    "invitation": N_("Uitnodiging voor een partner of tolk"),
}
EMAIL_TEXT_LIMIT: Final = 1500


def email_texts(data: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The team's own words per email (fields ``<kind>_nl`` and ``<kind>_en``; empty: none).
    A blank line starts a new paragraph; the text is shown as it is typed, never as HTML."""
    check = Checker(data)
    texts: dict[str, dict[str, str]] = {}
    for kind in EMAIL_KINDS:
        for locale in ("nl", "en"):
            name = f"{kind}_{locale}"
            text = _paragraphs(check, name, EMAIL_TEXT_LIMIT)
            if text:
                texts.setdefault(kind, {})[locale] = text
        if "en" in texts.get(kind, {}) and "nl" not in texts[kind]:
            check.fail(f"{kind}_nl", N_("Schrijf de tekst ook in het Nederlands."))
    check.done()
    return texts


def email_values(service: Service) -> dict[str, str]:
    stored = service.email_texts or {}
    return {
        f"{kind}_{locale}": stored.get(kind, {}).get(locale, "")
        for kind in EMAIL_KINDS
        for locale in ("nl", "en")
    }
