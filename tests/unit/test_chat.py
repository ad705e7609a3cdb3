"""Who reads which chat line, and the per-socket flood limit (signalling/chat.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from backend import rooms
from signalling import chat


def test_the_budget_allows_a_burst_then_one_per_second() -> None:
    now = [100.0]
    budget = chat.ChatBudget(burst=3, per_second=1.0, clock=lambda: now[0])
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5
    assert not budget.take()
    now[0] += 0.5
    assert budget.take() and not budget.take()
    now[0] += 60  # a quiet minute refills the burst, never more
    assert [budget.take() for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize(
    ("scope", "state", "reads"),
    [
        ("call", rooms.IN_CALL, True),
        ("call", rooms.WAITING, False),
        ("call", rooms.ADMITTED, False),
        ("desk", rooms.WAITING, True),
        ("desk", rooms.INVITED, True),
        ("desk", rooms.ADMITTED, True),
        ("desk", rooms.IN_CALL, False),
        ("desk", rooms.LEFT, False),
        ("desk", rooms.ENDED, False),
        ("other", rooms.IN_CALL, False),
    ],
)
def test_who_reads_a_line(scope: str, state: str, reads: bool) -> None:
    assert chat.citizen_reads({"type": "chat", "scope": scope}, state) is reads


def test_a_line_carries_sender_text_scope_and_a_local_time() -> None:
    sent = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    line = chat.line({"id": "p1", "role": "citizen", "name": "Jan"}, "Hoi", "call", sent_at=sent)
    assert line["from"]["id"] == "p1" and line["text"] == "Hoi" and line["scope"] == "call"
    assert line["sent_at"] == "2026-12-03T10:30:00+01:00"
