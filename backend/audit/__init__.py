"""One named function per auditable event, so every event carries the same fields.

Audit events are appended in the caller's transaction (they commit or roll back with the change
they describe); access refusals commit on their own, because the refused request changes nothing.
Never put a BSN, a token or free text from a citizen in ``details``.

Call sites read ``from backend import audit`` and ``audit.signed_in(...)``; the modules of this
package group the events by what they are about.
"""

from backend.audit._writer import (
    _record as record,  # until every call site has a named event (issue 15)
)
from backend.audit._writer import official_actor, official_municipality, origin_of, participant_actor
from backend.audit.access import (
    access_denied,
    appointment_access_denied,
    sign_in_failed,
    signed_in,
    signed_out,
)
from backend.audit.agenda import agenda_changed
from backend.audit.appointments import (
    appointment_booked,
    appointment_cancelled,
    appointment_rescheduled,
    no_show_marked,
    participant_invited,
    participant_revoked,
)
from backend.audit.calls import (
    admission_refused,
    call_ended,
    call_joined,
    call_left,
    call_taken_over,
    forgotten_call_closed,
    participants_admitted,
    waiting_room_entered,
)
from backend.audit.documents import (
    document_deleted,
    document_downloaded,
    document_kept,
    document_refused,
    document_shared,
)
from backend.audit.identity import identity_failed, identity_requested, identity_verified

__all__ = [
    "access_denied",
    "admission_refused",
    "agenda_changed",
    "appointment_access_denied",
    "appointment_booked",
    "appointment_cancelled",
    "appointment_rescheduled",
    "call_ended",
    "call_joined",
    "call_left",
    "call_taken_over",
    "document_deleted",
    "document_downloaded",
    "document_kept",
    "document_refused",
    "document_shared",
    "forgotten_call_closed",
    "identity_failed",
    "identity_requested",
    "identity_verified",
    "no_show_marked",
    "official_actor",
    "official_municipality",
    "origin_of",
    "participant_actor",
    "participant_invited",
    "participant_revoked",
    "participants_admitted",
    "record",
    "sign_in_failed",
    "signed_in",
    "signed_out",
    "waiting_room_entered",
]
