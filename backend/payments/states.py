"""The payment's state machine: Mollie's statuses, in the only order they can come.

``new`` is ours: the row exists, the provider does not know it yet. From ``open`` a payment may go
to ``pending`` or ``authorized`` on its way, and ends ``paid``, ``failed``, ``canceled`` or
``expired``; nothing leaves an end. So a late or repeated answer from the provider (a webhook ten
times, a reconciliation after the webhook) never moves a payment back.
"""

from __future__ import annotations

from typing import Final

from backend.db.models.payment import PaymentStatus as S

FINAL: Final = frozenset({S.PAID, S.FAILED, S.CANCELED, S.EXPIRED})
UNSETTLED: Final = frozenset({S.NEW, S.OPEN, S.PENDING, S.AUTHORIZED})
RETRYABLE: Final = frozenset({S.FAILED, S.CANCELED, S.EXPIRED})
_ORDER: Final = {S.NEW: 0, S.OPEN: 1, S.PENDING: 2, S.AUTHORIZED: 3}
KNOWN: Final = frozenset(s.value for s in S)


def can_move(current: str, new: str) -> bool:
    """Whether a payment in ``current`` may take the status ``new`` (a different one)."""
    if new == current or new not in KNOWN or current in FINAL:
        return False
    if new in FINAL:
        return True
    return _ORDER[S(new)] > _ORDER[S(current)]
