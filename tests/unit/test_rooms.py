"""The participant state machine, checked by recording every transition (as aiortc's track_states)."""

from __future__ import annotations

import pytest

from backend import rooms
from backend.rooms import NotAllowed, appointment_status_after, transition


def run(events: list[str], state: str = rooms.INVITED) -> list[tuple[str, str, str]]:
    """Apply ``events`` and record (before, event, after) for each; a refused event records 'refused'."""
    record = []
    for event in events:
        try:
            after = transition(state, event)
        except NotAllowed:
            record.append((state, event, "refused"))
            continue
        record.append((state, event, after))
        state = after
    return record


def test_the_happy_path() -> None:
    assert run(["enter", "admit", "join-call", "leave"]) == [
        ("invited", "enter", "waiting"),
        ("waiting", "admit", "admitted"),
        ("admitted", "join-call", "in_call"),
        ("in_call", "leave", "left"),
    ]


def test_a_page_that_repeats_itself_after_a_reconnect() -> None:
    assert run(["enter", "enter", "admit", "join-call", "join-call", "leave", "leave"]) == [
        ("invited", "enter", "waiting"),
        ("waiting", "enter", "waiting"),
        ("waiting", "admit", "admitted"),
        ("admitted", "join-call", "in_call"),
        ("in_call", "join-call", "in_call"),
        ("in_call", "leave", "left"),
        ("left", "leave", "left"),
    ]


def test_left_may_enter_again_and_must_be_admitted_again() -> None:
    assert run(["enter", "leave", "join-call", "enter", "join-call", "admit", "join-call"]) == [
        ("invited", "enter", "waiting"),
        ("waiting", "leave", "left"),
        ("left", "join-call", "refused"),
        ("left", "enter", "waiting"),
        ("waiting", "join-call", "refused"),
        ("waiting", "admit", "admitted"),
        ("admitted", "join-call", "in_call"),
    ]


def test_out_of_order_events_are_refused() -> None:
    assert run(["admit", "join-call", "leave", "enter", "enter", "admit", "admit", "enter"]) == [
        ("invited", "admit", "refused"),
        ("invited", "join-call", "refused"),
        ("invited", "leave", "refused"),
        ("invited", "enter", "waiting"),
        ("waiting", "enter", "waiting"),
        ("waiting", "admit", "admitted"),
        ("admitted", "admit", "refused"),
        ("admitted", "enter", "refused"),
    ]


@pytest.mark.parametrize("state", rooms.STATES)
def test_end_reaches_ended_from_every_state_and_nothing_follows(state: str) -> None:
    assert run(["end", *rooms.EVENTS], state) == [
        (state, "end", "ended"),
        ("ended", "enter", "refused"),
        ("ended", "admit", "refused"),
        ("ended", "join-call", "refused"),
        ("ended", "leave", "refused"),
        ("ended", "end", "ended"),
    ]


def test_the_whole_table() -> None:
    allowed = {(s, e): transition(s, e) for s in rooms.STATES for e in rooms.EVENTS if rooms.allows(s, e)}
    assert allowed == {
        ("invited", "enter"): "waiting",
        ("waiting", "enter"): "waiting",
        ("left", "enter"): "waiting",
        ("waiting", "admit"): "admitted",
        ("admitted", "join-call"): "in_call",
        ("in_call", "join-call"): "in_call",
        ("waiting", "leave"): "left",
        ("admitted", "leave"): "left",
        ("in_call", "leave"): "left",
        ("left", "leave"): "left",
        **{(s, "end"): "ended" for s in rooms.STATES},
    }


def test_unknown_event_is_refused_with_a_message() -> None:
    with pytest.raises(NotAllowed, match="'dance' is not allowed in state 'waiting'"):
        transition("waiting", "dance")


def test_appointment_follows_the_participants() -> None:
    status, record = "booked", []
    for event in ["enter", "enter", "admit", "join-call", "admit", "leave"]:
        after = appointment_status_after(status, event)
        record.append((status, event, after))
        status = after
    assert record == [
        ("booked", "enter", "waiting"),
        ("waiting", "enter", "waiting"),
        ("waiting", "admit", "in_call"),
        ("in_call", "join-call", "in_call"),
        ("in_call", "admit", "in_call"),
        ("in_call", "leave", "in_call"),
    ]
    assert appointment_status_after("in_call", "end", "completed") == "completed"
    assert appointment_status_after("booked", "end", "no_show") == "no_show"
    assert appointment_status_after("waiting", "cancel") == "cancelled"


@pytest.mark.parametrize("status", ["completed", "no_show", "cancelled"])
def test_a_finished_appointment_refuses_everything(status: str) -> None:
    for event in ["enter", "admit", "join-call", "leave", "end", "cancel"]:
        with pytest.raises(NotAllowed, match=f"the appointment is {status}"):
            appointment_status_after(status, event, "completed")


def test_end_needs_a_known_outcome() -> None:
    with pytest.raises(ValueError, match="outcome"):
        appointment_status_after("in_call", "end", "follow_up")
    with pytest.raises(ValueError, match="outcome"):
        appointment_status_after("in_call", "end")
