"""One named function per auditable event, so every event carries the same fields.

The writer (``_writer._record``) is private to this package, as Open Forms keeps
``logevent._create_log``: code elsewhere calls ``audit.call_taken_over(...)`` and never writes an
``AuditEvent`` row itself. Events get one door, so what every event must carry is decided in one
place: its fields, and the hash that chains each event to the one before it in its municipality's
chain (``chain.py``: written when the session flushes the event, checked by ``verify_chains``, which
``balie audit verify`` and the audit page call). tests/unit/test_audit_door.py fails when code
outside this package calls the writer or builds an ``AuditEvent``.

Audit events are appended in the caller's transaction (they commit or roll back with the change
they describe); access refusals commit on their own, because the refused request changes nothing.
Never put a BSN, a token or free text from a citizen in ``details``.

Call sites read ``from backend import audit`` and ``audit.signed_in(...)``; the modules of this
package group the events by what they are about. A new event is a new function here.
"""

from backend.audit._writer import official_actor, official_municipality, origin_of, participant_actor
from backend.audit.access import (
    access_denied,
    appointment_access_denied,
    sign_in_failed,
    signed_in,
    signed_out,
    signed_out_by_provider,
)
from backend.audit.agenda import (
    agenda_changed,
    invitation_accepted,
    service_changed,
    staff_changed,
    team_created,
)
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
from backend.audit.chain import verify_chains
from backend.audit.documents import (
    document_deleted,
    document_downloaded,
    document_kept,
    document_refused,
    document_shared,
)
from backend.audit.identity import identity_failed, identity_requested, identity_verified
from backend.audit.mandates import acting_started, mandate_changed, mandate_values
from backend.audit.municipalities import manager_invited, municipality_changed
from backend.audit.payments import (
    fee_changed,
    payment_key_changed,
    payment_refunded,
    payment_requested,
    payment_status_changed,
)

__all__ = [
    "access_denied",
    "acting_started",
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
    "fee_changed",
    "forgotten_call_closed",
    "identity_failed",
    "identity_requested",
    "identity_verified",
    "invitation_accepted",
    "manager_invited",
    "mandate_changed",
    "mandate_values",
    "municipality_changed",
    "no_show_marked",
    "official_actor",
    "official_municipality",
    "origin_of",
    "participant_actor",
    "participant_invited",
    "participant_revoked",
    "participants_admitted",
    "payment_key_changed",
    "payment_refunded",
    "payment_requested",
    "payment_status_changed",
    "service_changed",
    "sign_in_failed",
    "signed_in",
    "signed_out",
    "signed_out_by_provider",
    "staff_changed",
    "team_created",
    "verify_chains",
    "waiting_room_entered",
]
