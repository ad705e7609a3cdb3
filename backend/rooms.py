"""The participant and appointment state machines (docs/signalling.md), pure and socket-free.

::

    invited --enter--> waiting --admit--> admitted --join-call--> in_call
                          |                   |                      |
                          +------ leave ------+-------- leave -------+--> left --enter--> waiting
    any state --end--> ended

``enter`` on ``waiting``, ``join-call`` on ``in_call``, ``leave`` on ``left`` and ``end`` on
``ended`` are idempotent (the same state comes back), so a page that repeats itself after a
reconnect is not an error. Whether the appointment still runs is the caller's question: see
:func:`appointment_status_after`.
"""

from __future__ import annotations

from typing import Final

INVITED: Final = "invited"
WAITING: Final = "waiting"
ADMITTED: Final = "admitted"
IN_CALL: Final = "in_call"
LEFT: Final = "left"
ENDED: Final = "ended"
STATES: Final = (INVITED, WAITING, ADMITTED, IN_CALL, LEFT, ENDED)
EVENTS: Final = ("enter", "admit", "join-call", "leave", "end")

_TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (INVITED, "enter"): WAITING,
    (WAITING, "enter"): WAITING,
    (LEFT, "enter"): WAITING,
    (WAITING, "admit"): ADMITTED,
    (ADMITTED, "join-call"): IN_CALL,
    (IN_CALL, "join-call"): IN_CALL,
    (WAITING, "leave"): LEFT,
    (ADMITTED, "leave"): LEFT,
    (IN_CALL, "leave"): LEFT,
    (LEFT, "leave"): LEFT,
    **{(state, "end"): ENDED for state in STATES},
}

# Appointment statuses (backend.db.models.AppointmentStatus values), kept as strings so this module
# stays free of the database layer.
ACTIVE_STATUSES: Final = frozenset({"booked", "waiting", "in_call"})
OUTCOMES: Final = frozenset({"completed", "no_show"})
"""How an official can end a call: the appointment's final status."""


class NotAllowed(Exception):
    """The event is not allowed in the current state."""

    def __init__(self, state: str, event: str, message: str | None = None) -> None:
        super().__init__(message or f"{event!r} is not allowed in state {state!r}")
        self.state = state
        self.event = event


def transition(state: str, event: str) -> str:
    """The participant state after ``event``; raises :class:`NotAllowed` when it cannot happen."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise NotAllowed(state, event) from None


def allows(state: str, event: str) -> bool:
    return (state, event) in _TRANSITIONS


def is_active(status: str) -> bool:
    """Whether an appointment in ``status`` still runs (booked, waiting or in a call)."""
    return status in ACTIVE_STATUSES


def appointment_status_after(status: str, event: str, outcome: str | None = None) -> str:
    """The appointment status after a participant or official event.

    ``booked -> waiting`` on the first ``enter``, ``-> in_call`` on the first ``admit``,
    ``-> completed | no_show`` on ``end`` (with ``outcome``) and ``-> cancelled`` on ``cancel``.
    Nothing happens to an appointment that no longer runs.
    """
    if status not in ACTIVE_STATUSES:
        raise NotAllowed(status, event, f"the appointment is {status}")
    if event == "enter":
        return "waiting" if status == "booked" else status
    if event == "admit":
        return "in_call"
    if event in ("join-call", "leave"):
        return status
    if event == "end":
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be completed or no_show, not {outcome!r}")
        return outcome
    if event == "cancel":
        return "cancelled"
    raise NotAllowed(status, event)
