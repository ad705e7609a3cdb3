"""The birth-registration deadline: three days, with at least two working days counting."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.booking.deadlines import (
    BirthRegistration,
    DayRange,
    birth_registration_deadline,
    is_legal_holiday,
    is_legal_working_day,
    rule_for,
)


@pytest.mark.parametrize(
    ("born", "last"),
    [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 5)),  # Monday -> Thursday: three working days
        (dt.date(2026, 3, 5), dt.date(2026, 3, 9)),  # Thursday -> Monday: Friday and Monday count
        (dt.date(2026, 3, 6), dt.date(2026, 3, 10)),  # Friday -> Tuesday
        (dt.date(2026, 3, 7), dt.date(2026, 3, 10)),  # Saturday -> Tuesday
        (dt.date(2026, 3, 8), dt.date(2026, 3, 11)),  # Sunday -> Wednesday: plain three days
        (dt.date(2026, 4, 2), dt.date(2026, 4, 7)),  # Good Friday counts, Easter Monday does not
        (dt.date(2026, 5, 4), dt.date(2026, 5, 7)),  # 5 May never counts (Algemene termijnenwet)
        (dt.date(2026, 12, 24), dt.date(2026, 12, 29)),  # 25, 26 and 27 December off: Mon 28 + Tue 29
    ],
)
def test_known_days(born: dt.date, last: dt.date) -> None:
    assert birth_registration_deadline(born) == last


def test_the_legal_holidays_are_those_of_the_algemene_termijnenwet() -> None:
    assert is_legal_holiday(dt.date(2026, 5, 5)) and is_legal_holiday(dt.date(2027, 5, 5))
    assert not is_legal_holiday(dt.date(2026, 4, 3))  # Good Friday
    assert is_legal_holiday(dt.date(2026, 4, 6)) and is_legal_holiday(
        dt.date(2026, 4, 27)
    )  # Easter Mon, Koningsdag
    assert is_legal_holiday(dt.date(2026, 5, 14)) and is_legal_holiday(
        dt.date(2026, 5, 25)
    )  # Ascension, Whit Mon


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_three_days_and_two_working_days_always_count(born: dt.date) -> None:
    last = birth_registration_deadline(born)
    days = [born + dt.timedelta(days=n) for n in range(1, (last - born).days + 1)]
    assert len(days) >= 3
    assert sum(map(is_legal_working_day, days)) >= 2
    # ... and not one day more than needed: without the last day one of the two rules would fail.
    assert len(days) == 3 or sum(map(is_legal_working_day, days[:-1])) < 2


def test_the_rule_reads_the_intake_answer() -> None:
    rule = rule_for("birth_registration")
    assert isinstance(rule, BirthRegistration)
    assert rule.days({"birth_date": "2026-03-06"}) == DayRange(dt.date(2026, 3, 6), dt.date(2026, 3, 10))
    assert rule.days({}) is None and rule.days({"birth_date": "31-02-2026"}) is None
    assert rule_for(None) is None and rule_for("unknown") is None
