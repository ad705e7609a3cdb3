"""What a team admin types on the agenda page, checked and turned into agenda rules.

Opening hours are typed the way a team writes them on its door: ``09:00-12:30, 13:30-17:00``
(an empty field: closed); a block that has another number of desks than the team says so in
brackets: ``13:30-17:00 (2)``. Every message is plain Dutch (marked with ``N_``); nothing is stored
unless the whole form is right.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from backend.booking.slots import UNIT
from backend.i18n import N_

WEEKDAYS: Final = (
    N_("maandag"),
    N_("dinsdag"),
    N_("woensdag"),
    N_("donderdag"),
    N_("vrijdag"),
    N_("zaterdag"),
    N_("zondag"),
)
_BLOCK: Final = re.compile(
    r"(\d{1,2})[:.](\d{2})\s*(?:-|–|tot)\s*(\d{1,2})[:.](\d{2})(?:\s*\(\s*(\d{1,2})\s*(?:balies?)?\s*\))?"
)
_SEPARATORS: Final = re.compile(r"\s*[,;]\s*|\s+en\s+")
_MAX_BLOCKS: Final = 6

Block = tuple[dt.time, dt.time, int | None]
"""Opens, closes, and the desks in that block (None: the team's number)."""


Message = tuple[str, dict[str, object]]
"""A Dutch text marked with ``N_`` and the values of its placeholders (filled in after translating)."""


class FormErrors(Exception):
    """Field name -> message for every field that is not right."""

    def __init__(self, errors: dict[str, Message]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def blocks_text(blocks: list[Block]) -> str:
    """``09:00-12:30, 13:30-17:00 (2)``: how the page shows the blocks it stored."""
    return ", ".join(
        f"{opens:%H:%M}-{closes:%H:%M}" + (f" ({desks})" if desks is not None else "")
        for opens, closes, desks in blocks
    )


def parse_blocks(text: str) -> tuple[list[Block] | None, str | None]:
    """The blocks of one day in order, or a message. An empty text is a closed day."""
    text = text.strip()
    if not text:
        return [], None
    parts = [part for part in _SEPARATORS.split(text) if part]
    if len(parts) > _MAX_BLOCKS:
        return None, N_("Vul hoogstens 6 blokken per dag in.")
    blocks: list[Block] = []
    for part in parts:
        found = _BLOCK.fullmatch(part.strip())
        if found is None:
            return None, N_(
                "Schrijf de tijden zo: 09:00-12:30, 13:30-17:00. Laat het veld leeg als u dicht bent."
            )
        h1, m1, h2, m2 = (int(n) for n in found.groups()[:4])
        desks = int(found.group(5)) if found.group(5) else None
        if desks is not None and not 1 <= desks <= 50:
            return None, N_("Het aantal balies tussen haakjes is 1 tot en met 50.")
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            return None, N_("Een tijd loopt van 00:00 tot 23:55.")
        opens, closes = dt.time(h1, m1), dt.time(h2, m2)
        if m1 % (UNIT.seconds // 60) or m2 % (UNIT.seconds // 60):
            return None, N_("Gebruik tijden in stappen van 5 minuten, zoals 09:00 of 12:35.")
        if closes <= opens:
            return None, N_("Een blok moet later sluiten dan het opengaat.")
        blocks.append((opens, closes, desks))
    blocks.sort(key=lambda block: block[0])
    for (_, closes, _), (opens, _, _) in itertools.pairwise(blocks):
        if opens < closes:
            return None, N_("De blokken overlappen elkaar.")
    return blocks, None


def parse_number(text: str, low: int, high: int, *, optional: bool = False) -> tuple[int | None, str | None]:
    """A whole number from ``low`` to ``high``; empty is None when ``optional``."""
    text = text.strip()
    if not text:
        return (None, None) if optional else (None, N_("Vul een getal in."))
    if not re.fullmatch(r"\d{1,6}", text):
        return None, N_("Vul een heel getal in, zonder letters.")
    value = int(text)
    if not low <= value <= high:
        return None, N_("Vul een getal in van {low} tot en met {high}.")
    return value, None


@dataclass
class TeamRules:
    desks: int
    lead_minutes: int
    horizon_days: int
    closed_on_public_holidays: bool
    week: dict[int, list[Block]] = field(default_factory=dict)


@dataclass
class ServiceRules:
    duration_minutes: int
    step_minutes: int | None
    buffer_minutes: int
    lead_minutes: int | None
    horizon_days: int | None
    capacity: int | None
    max_active_per_email: int
    reminder_minutes: list[int]


@dataclass
class Exception_:
    day: dt.date
    blocks: list[Block]
    note: str


class Checker:
    """Collects one message per field; :meth:`done` raises them all at once."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self.data = data
        self.errors: dict[str, Message] = {}

    def fail(self, name: str, message: str, **values: object) -> None:
        self.errors.setdefault(name, (message, values))

    def text(self, name: str) -> str:
        return str(self.data.get(name, ""))

    def number(self, name: str, low: int, high: int, *, optional: bool = False) -> int | None:
        value, error = parse_number(self.text(name), low, high, optional=optional)
        if error:
            self.fail(name, error, low=low, high=high)
        return value

    def blocks(self, name: str) -> list[Block]:
        blocks, error = parse_blocks(self.text(name))
        if error:
            self.fail(name, error)
        return blocks or []

    def done(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)


def team_rules(data: Mapping[str, str]) -> TeamRules:
    """The team form: desks, notice, horizon, holidays and the week's opening hours."""
    check = Checker(data)
    desks = check.number("desks", 1, 50)
    lead = check.number("lead_minutes", 0, 60 * 24 * 14)
    horizon = check.number("horizon_days", 1, 366)
    week = {day: check.blocks(f"day_{day}") for day in range(7)}
    check.done()
    if desks is None or lead is None or horizon is None:
        raise RuntimeError("done() lets no form through with a required number missing")
    return TeamRules(desks, lead, horizon, check.text("closed_on_public_holidays") == "yes", week)


def service_rules(data: Mapping[str, str]) -> ServiceRules:
    """The slot rules of one service; empty optional fields follow the team."""
    check = Checker(data)
    duration = check.number("duration_minutes", 5, 240)
    step = check.number("step_minutes", 5, 240, optional=True)
    buffer = check.number("buffer_minutes", 0, 120)
    lead = check.number("lead_minutes", 0, 60 * 24 * 14, optional=True)
    horizon = check.number("horizon_days", 1, 366, optional=True)
    capacity = check.number("capacity", 1, 50, optional=True)
    per_email = check.number("max_active_per_email", 1, 20)
    reminders: list[int] = []
    for part in filter(None, (p.strip() for p in check.text("reminder_hours").split(","))):
        hours, error = parse_number(part, 1, 24 * 14)
        if error or hours is None:
            check.fail("reminder_hours", N_("Vul uren in, gescheiden door komma's, zoals 24, 1."))
            break
        reminders.append(hours * 60)
    for name, value in (("duration_minutes", duration), ("step_minutes", step), ("buffer_minutes", buffer)):
        if value is not None and value % 5:
            check.fail(name, N_("Gebruik stappen van 5 minuten."))
    check.done()
    if duration is None or buffer is None or per_email is None:
        raise RuntimeError("done() lets no form through with a required number missing")
    return ServiceRules(
        duration, step, buffer, lead, horizon, capacity, per_email, sorted(set(reminders), reverse=True)
    )


def schedule_exception(data: Mapping[str, str], today: dt.date) -> Exception_:
    """One date with other hours (empty: closed that day), today or later."""
    check = Checker(data)
    raw = check.text("day").strip()
    day: dt.date | None = None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        check.fail("day", N_("Kies een bestaande datum."))
    if day is not None and not today <= day <= today + dt.timedelta(days=3 * 366):
        check.fail("day", N_("Kies een datum vanaf vandaag, binnen drie jaar."))
    blocks = check.blocks("hours")
    note = " ".join(check.text("note").split())
    if len(note) > 200:
        check.fail("note", N_("De toelichting is te lang (hoogstens 200 tekens)."))
    check.done()
    if day is None:
        raise RuntimeError("done() lets no form through without a day")
    return Exception_(day, blocks, note)
