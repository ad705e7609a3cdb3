"""Intake questions per service, as data, and the server-side check of the answers.

A service's ``intake`` is a list of questions like::

    {"key": "birth_date", "type": "date", "required": true, "not_future": true,
     "label": {"nl": "Geboortedatum van uw kind", "en": "Your child's date of birth"},
     "help": {"nl": "...", "en": "..."},
     "official_label": {"nl": "Geboortedatum van het kind", "en": "The child's date of birth"}}

Types: ``date`` (answer ``YYYY-MM-DD``; ``dd-mm-jjjj`` is read too), ``text`` (``max_length``,
default 200), ``email``, ``choice`` (``options``: ``[{"value": ..., "label": {...}}]``) and
``checkbox`` (answer true/false). Answers are stored as JSON (dates as ISO strings). Messages are
Dutch and ``N_``-marked; pages translate them.

``official_label`` (optional) is the question as the official reads it on the desk and when booking
for a caller, without the citizen's "uw"; without one the official reads the citizen's label.

Two keys have a meaning of their own: a service that asks ``partner_name`` and ``partner_email``
(ondertrouw) invites that partner with an own join link when the booking is made.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from backend.booking.validation import clean_text, email_error
from backend.i18n import N_

TYPES: Final = frozenset({"date", "text", "email", "choice", "checkbox"})
_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
_DUTCH_DATE: Final = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
TRUE_WORDS: Final = frozenset({"yes", "on", "true", "1", "ja"})

REQUIRED = N_("Vul dit in.")
REQUIRED_CHECKBOX = N_("Zet hier een vinkje om verder te gaan.")
BAD_DATE = N_("Dit is geen datum. Schrijf de datum zo: 14-03-2026.")
FUTURE_DATE = N_("Deze datum ligt in de toekomst. Kijk de datum na.")
TOO_LONG = N_("Dit antwoord is te lang. Maak het korter.")
BAD_CHOICE = N_("Kies een van de mogelijkheden.")
BAD_TYPE = N_("Dit antwoord heeft niet de goede vorm.")
UNKNOWN = N_("Deze vraag hoort niet bij deze dienst.")


class DefinitionError(ValueError):
    """A service's intake data is not a valid list of questions (an administrator's mistake)."""


@dataclass(frozen=True)
class Option:
    value: str
    label: Mapping[str, str]


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    label: Mapping[str, str]
    required: bool = False
    help: Mapping[str, str] | None = None
    max_length: int = 200
    not_future: bool = False
    options: tuple[Option, ...] = ()
    official_label: Mapping[str, str] | None = None

    def text(self, locale: str) -> str:
        return _in(self.label, locale)

    def official_text(self, locale: str) -> str:
        """The question in the official's words; the citizen's when the service has none."""
        return _in(self.official_label, locale) if self.official_label else self.text(locale)

    def help_text(self, locale: str) -> str:
        return _in(self.help, locale) if self.help else ""


def _in(texts: Mapping[str, str], locale: str) -> str:
    return texts.get(locale) or texts.get("nl") or next(iter(texts.values()), "")


def _texts(raw: object, where: str) -> Mapping[str, str]:
    if isinstance(raw, str):
        return {"nl": raw}
    if isinstance(raw, Mapping) and raw and all(isinstance(v, str) for v in raw.values()):
        return dict(raw)
    raise DefinitionError(f"{where} must be a text or a {{locale: text}} object")


def parse_questions(raw: Sequence[Mapping[str, Any]] | None) -> tuple[Question, ...]:
    """The questions of a service; raises :class:`DefinitionError` on bad data."""
    questions: list[Question] = []
    for index, item in enumerate(raw or []):
        if not isinstance(item, Mapping):
            raise DefinitionError(f"question {index} must be an object")
        key, kind = item.get("key"), item.get("type")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise DefinitionError(f"question {index}: 'key' must be lower-case letters, digits and _")
        if kind not in TYPES:
            raise DefinitionError(f"question {key}: 'type' must be one of {sorted(TYPES)}")
        options = tuple(
            Option(str(o["value"]), _texts(o.get("label", o["value"]), f"{key} option"))
            for o in item.get("options", [])
            if isinstance(o, Mapping) and "value" in o
        )
        if kind == "choice" and not options:
            raise DefinitionError(f"question {key}: a choice needs options")
        max_length = item.get("max_length", 200)
        if not isinstance(max_length, int) or not 1 <= max_length <= 2000:
            raise DefinitionError(f"question {key}: 'max_length' must be 1-2000")
        questions.append(
            Question(
                key=key,
                type=str(kind),
                label=_texts(item.get("label", key), f"{key} label"),
                required=bool(item.get("required", False)),
                help=_texts(item["help"], f"{key} help") if item.get("help") else None,
                max_length=max_length,
                not_future=bool(item.get("not_future", False)),
                options=options,
                official_label=(
                    _texts(item["official_label"], f"{key} official label")
                    if item.get("official_label")
                    else None
                ),
            )
        )
    if len({q.key for q in questions}) != len(questions):
        raise DefinitionError("two questions have the same key")
    return tuple(questions)


@dataclass(frozen=True)
class Checked:
    answers: dict[str, Any]
    """Clean answers, JSON-ready (dates as ISO strings); missing optional answers are left out."""
    errors: dict[str, str]
    """Question key -> Dutch message (N_-marked)."""

    @property
    def ok(self) -> bool:
        return not self.errors


PARTNER_NAME: Final = "partner_name"
PARTNER_EMAIL: Final = "partner_email"


def partner_in(answers: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (name, email) of a partner to invite with the booking, if the answers name one."""
    name, email = answers.get(PARTNER_NAME), answers.get(PARTNER_EMAIL)
    if isinstance(name, str) and isinstance(email, str) and name and email:
        return name, email
    return None


def check_answers(questions: Sequence[Question], raw: Mapping[str, Any], today: dt.date) -> Checked:
    """Check ``raw`` answers (form strings or JSON values) against ``questions``."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {key: UNKNOWN for key in raw if key not in {q.key for q in questions}}
    for question in questions:
        value, error = _check(question, raw.get(question.key), today)
        if error:
            errors[question.key] = error
        elif value is not None:
            answers[question.key] = value
    return Checked(answers, errors)


def _check(question: Question, raw: object, today: dt.date) -> tuple[Any, str | None]:
    if question.type == "checkbox":
        checked = raw is True or (isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS)
        if raw is not None and not isinstance(raw, bool | str):
            return None, BAD_TYPE
        if question.required and not checked:
            return None, REQUIRED_CHECKBOX
        return checked, None
    if raw is not None and not isinstance(raw, str):
        return None, BAD_TYPE
    text = clean_text(raw or "")
    if not text:
        return None, REQUIRED if question.required else None
    if question.type == "date":
        return _check_date(question, text, today)
    if question.type == "email":
        return (None, error) if (error := email_error(text)) else (text, None)
    if question.type == "choice":
        return (text, None) if text in {o.value for o in question.options} else (None, BAD_CHOICE)
    if len(text) > question.max_length:
        return None, TOO_LONG
    return text, None


def _check_date(question: Question, text: str, today: dt.date) -> tuple[str | None, str | None]:
    day = parse_date(text)
    if day is None:
        return None, BAD_DATE
    if question.not_future and day > today:
        return None, FUTURE_DATE
    return day.isoformat(), None


def parse_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` (a date field) or ``dd-mm-jjjj`` (typed by hand), within 1900-2199."""
    dutch = _DUTCH_DATE.fullmatch(text)
    try:
        day = dt.date(int(dutch[3]), int(dutch[2]), int(dutch[1])) if dutch else dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if 1900 <= day.year < 2200 else None
