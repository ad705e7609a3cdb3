"""Legal deadlines that limit which days a service offers (pure, no database).

A service names its rule in ``Service.deadline_rule``; the rule reads an intake answer and gives the
range of local days inside the legal window. Outside the window no slot is offered, and the booking
is refused if someone asks for one anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dateutil.easter import easter

from backend.booking.slots import is_public_holiday
from backend.i18n import N_


@dataclass(frozen=True)
class DayRange:
    first: dt.date
    last: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.first <= day <= self.last


class DeadlineRule(Protocol):
    @property
    def question(self) -> str:
        """The intake question (its key) the rule reads."""

    @property
    def explanation(self) -> str:
        """Why only these days are offered (Dutch, N_-marked; ``{last}``: the last day, written out)."""

    @property
    def none_left(self) -> str:
        """What to do when no slot is left in the window (``{phone}``: the municipality's number)."""

    def days(self, answers: Mapping[str, Any]) -> DayRange | None:
        """The days inside the window, or None when the answer the rule needs is missing."""
        ...


def is_legal_holiday(day: dt.date) -> bool:
    """An "algemeen erkende feestdag" of the Algemene termijnenwet (art. 3).

    Its list differs from the public holidays a municipality closes on: 5 May counts every year, and
    Good Friday does not count at all. (Easter and Whit Sunday fall on Sundays anyway.)
    """
    if (day.month, day.day) == (5, 5):
        return True
    if day == easter(day.year) - dt.timedelta(days=2):
        return False
    return is_public_holiday(day)


def is_legal_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and not is_legal_holiday(day)


def birth_registration_deadline(birth: dt.date) -> dt.date:
    """The last day to register a birth (Burgerlijk Wetboek 1:19e, Algemene termijnenwet).

    Within three days after the birth; when fewer than two of those days are working days (weekends
    and the holidays of the Algemene termijnenwet do not count), the term runs on until two working
    days have counted.
    """
    day, days, working = birth, 0, 0
    while days < 3 or working < 2:
        day += dt.timedelta(days=1)
        days += 1
        working += is_legal_working_day(day)
    return day


@dataclass(frozen=True)
class BirthRegistration:
    question: str = "birth_date"
    explanation: str = N_(
        "U doet aangifte binnen 3 dagen na de geboorte. Valt er een weekend of feestdag in die dagen, "
        "dan heeft u wat langer: er tellen altijd minstens 2 werkdagen mee. Daarom kunt u alleen een "
        "tijd kiezen tot en met {last}."
    )
    none_left: str = N_(
        "Er is voor de aangifte geen tijd meer vrij binnen de termijn. Bel {phone}. Dan zoeken we samen "
        "een oplossing."
    )

    def days(self, answers: Mapping[str, Any]) -> DayRange | None:
        birth = answers.get(self.question)
        if isinstance(birth, str):
            try:
                birth = dt.date.fromisoformat(birth)
            except ValueError:
                return None
        if not isinstance(birth, dt.date):
            return None
        return DayRange(birth, birth_registration_deadline(birth))


RULES: Mapping[str, DeadlineRule] = {"birth_registration": BirthRegistration()}


def rule_for(name: str | None) -> DeadlineRule | None:
    return RULES.get(name) if name else None
