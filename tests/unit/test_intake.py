"""Intake questions as data and the server-side check of the answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.booking import intake
from backend.booking.intake import DefinitionError, check_answers, parse_questions

TODAY = dt.date(2026, 3, 10)
QUESTIONS = parse_questions(
    [
        {
            "key": "birth_date",
            "type": "date",
            "required": True,
            "not_future": True,
            "label": {"nl": "Geboortedatum"},
        },
        {"key": "partner_name", "type": "text", "required": True, "max_length": 20, "label": "Naam partner"},
        {"key": "partner_email", "type": "email", "label": "E-mail partner"},
        {
            "key": "kind",
            "type": "choice",
            "required": True,
            "label": "Soort",
            "options": [
                {"value": "huwelijk", "label": {"nl": "Huwelijk", "en": "Marriage"}},
                {"value": "partnerschap"},
            ],
        },
        {"key": "witnesses", "type": "checkbox", "required": True, "label": "Getuigen geregeld"},
    ]
)
GOOD: dict[str, Any] = {
    "birth_date": "2026-03-08",
    "partner_name": "  Kim  de   Wit ",
    "partner_email": "kim@example.nl",
    "kind": "huwelijk",
    "witnesses": "yes",
}


def test_good_answers_come_back_clean() -> None:
    checked = check_answers(QUESTIONS, GOOD, TODAY)
    assert checked.ok
    assert checked.answers == {
        "birth_date": "2026-03-08",
        "partner_name": "Kim de Wit",
        "partner_email": "kim@example.nl",
        "kind": "huwelijk",
        "witnesses": True,
    }
    assert check_answers(
        QUESTIONS, {**GOOD, "birth_date": "8-3-2026", "witnesses": True}, TODAY
    ).ok  # typed by hand, JSON


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"birth_date": ""}, "birth_date", intake.REQUIRED),
        ({"birth_date": "2026-02-31"}, "birth_date", intake.BAD_DATE),
        ({"birth_date": "31-02-2026"}, "birth_date", intake.BAD_DATE),
        ({"birth_date": "gisteren"}, "birth_date", intake.BAD_DATE),
        ({"birth_date": "2026-03-11"}, "birth_date", intake.FUTURE_DATE),
        ({"birth_date": "0001-01-01"}, "birth_date", intake.BAD_DATE),
        ({"birth_date": 20260308}, "birth_date", intake.BAD_TYPE),
        ({"partner_name": "x" * 21}, "partner_name", intake.TOO_LONG),
        ({"partner_name": "\u202e\u0000 "}, "partner_name", intake.REQUIRED),
        (
            {"partner_email": "kim@"},
            "partner_email",
            "Dit e-mailadres klopt niet. Een e-mailadres ziet eruit als naam@voorbeeld.nl.",
        ),
        ({"kind": "samenwonen"}, "kind", intake.BAD_CHOICE),
        ({"witnesses": ""}, "witnesses", intake.REQUIRED_CHECKBOX),
        ({"witnesses": 1}, "witnesses", intake.BAD_TYPE),
        ({"extra": "x"}, "extra", intake.UNKNOWN),
    ],
)
def test_each_wrong_answer_gets_its_own_message(change: dict[str, Any], key: str, message: str) -> None:
    checked = check_answers(QUESTIONS, {**GOOD, **change}, TODAY)
    assert checked.errors == {key: message}
    assert key not in checked.answers


def test_optional_questions_may_stay_empty() -> None:
    checked = check_answers(QUESTIONS, {k: v for k, v in GOOD.items() if k != "partner_email"}, TODAY)
    assert checked.ok and "partner_email" not in checked.answers


@given(
    st.dictionaries(
        st.text(max_size=30), st.one_of(st.text(max_size=300), st.integers(), st.booleans(), st.none())
    )
)
def test_any_input_gives_answers_or_messages_never_an_exception(raw: dict[str, Any]) -> None:
    checked = check_answers(QUESTIONS, raw, TODAY)
    assert set(checked.answers).isdisjoint(checked.errors)
    assert set(checked.answers) <= {q.key for q in QUESTIONS}


@pytest.mark.parametrize(
    "bad",
    [
        [{"key": "Bad Key", "type": "text"}],
        [{"key": "a", "type": "file"}],
        [{"key": "a", "type": "choice", "options": []}],
        [{"key": "a", "type": "text", "max_length": 0}],
        [{"key": "a", "type": "text"}, {"key": "a", "type": "date"}],
        ["not an object"],
    ],
)
def test_bad_definitions_are_refused(bad: list[Any]) -> None:
    with pytest.raises(DefinitionError):
        parse_questions(bad)


def test_labels_in_the_visitors_language_fall_back_to_dutch() -> None:
    kind = QUESTIONS[3]
    assert kind.options[0].label["en"] == "Marriage"
    assert QUESTIONS[0].text("en") == "Geboortedatum"
