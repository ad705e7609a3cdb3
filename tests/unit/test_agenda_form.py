"""What a team admin types for the agenda: opening hours as on the door, numbers in range."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.booking import agenda_form


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


@pytest.mark.parametrize(
    ("typed", "blocks"),
    [
        ("", []),
        ("09:00-12:30", [(t("09:00"), t("12:30"), None)]),
        ("13:30 - 17:00, 9.00-12.30", [(t("09:00"), t("12:30"), None), (t("13:30"), t("17:00"), None)]),
        ("9:00 tot 12:00 en 13:00–14:00 (2)", [(t("09:00"), t("12:00"), None), (t("13:00"), t("14:00"), 2)]),
        ("13:00-14:00 (3 balies)", [(t("13:00"), t("14:00"), 3)]),
    ],
)
def test_opening_hours_are_read_as_written_on_the_door(typed: str, blocks: list[agenda_form.Block]) -> None:
    assert agenda_form.parse_blocks(typed) == (blocks, None)


@pytest.mark.parametrize(
    "typed",
    ["9 tot 5", "25:00-26:00", "12:00-09:00", "09:00-12:00,11:00-13:00", "09:02-10:00", "09:00-10:00 (0)"],
)
def test_wrong_opening_hours_get_a_message(typed: str) -> None:
    blocks, message = agenda_form.parse_blocks(typed)
    assert blocks is None and message


@given(
    st.lists(
        st.tuples(st.integers(0, 23 * 12), st.integers(1, 12), st.none() | st.integers(1, 50)), max_size=6
    )
)
def test_what_the_page_shows_reads_back_the_same(raw: list[tuple[int, int, int | None]]) -> None:
    blocks: list[agenda_form.Block] = []
    position = 0
    for gap, length, desks in raw:  # non-overlapping blocks in 5-minute units within one day
        opens, closes = position + gap % 12, position + gap % 12 + length
        if closes > 287:
            break
        blocks.append(
            (dt.time(opens * 5 // 60, opens * 5 % 60), dt.time(closes * 5 // 60, closes * 5 % 60), desks)
        )
        position = closes
    assert agenda_form.parse_blocks(agenda_form.blocks_text(blocks)) == (blocks, None)


def test_service_rules_take_hours_for_reminders_and_leave_empty_fields_to_the_team() -> None:
    rules = agenda_form.service_rules(
        {
            "duration_minutes": "30",
            "buffer_minutes": "5",
            "max_active_per_email": "2",
            "reminder_hours": "1, 24,24",
        }
    )
    assert rules.reminder_minutes == [1440, 60] and rules.step_minutes is None and rules.lead_minutes is None
    with pytest.raises(agenda_form.FormErrors) as wrong:
        agenda_form.service_rules({"duration_minutes": "7", "buffer_minutes": "", "reminder_hours": "morgen"})
    assert set(wrong.value.errors) == {
        "duration_minutes",
        "buffer_minutes",
        "max_active_per_email",
        "reminder_hours",
    }


def test_a_date_with_other_hours_lies_ahead() -> None:
    today = dt.date(2026, 11, 23)
    closed = agenda_form.schedule_exception({"day": "2026-12-24", "hours": "", "note": " Kerst  "}, today)
    assert (closed.day, closed.blocks, closed.note) == (dt.date(2026, 12, 24), [], "Kerst")
    for day in ("2026-11-22", "2026-02-31", "", "2031-01-01"):
        with pytest.raises(agenda_form.FormErrors) as wrong:
            agenda_form.schedule_exception({"day": day}, today)
        assert "day" in wrong.value.errors
