"""A payment and its refunds as this provider keeps them, with the moves Mollie allows.

A payment starts ``open`` and ends once: ``paid``, ``failed``, ``canceled`` or ``expired``; nothing
leaves a final status. A refund starts ``pending`` and reads ``refunded`` from its next reading on
(Mollie takes about a day; here the next look is soon enough).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from backend.payments.dev_psp.money import Amount, zero

Status = Literal["open", "paid", "failed", "canceled", "expired"]
FINAL_STATUSES: Final[tuple[Status, ...]] = ("paid", "failed", "canceled", "expired")
EXPIRES_AFTER: Final = dt.timedelta(minutes=15)
"""How long an iDEAL payment stays open at Mollie."""
TEST_CONSUMER: Final = {
    "consumerName": "T. TEST",
    "consumerAccount": "NL77ABNA0574908765",
    "consumerBic": "ABNANL2A",
}
"""The account Mollie's test mode shows as the payer of a paid iDEAL payment."""


class NotOpen(Exception):
    """The payment has a final status already; it stays as it is."""


@dataclass
class Refund:
    id: str
    amount: Amount
    description: str
    metadata: Any
    created_at: dt.datetime
    status: Literal["pending", "refunded"] = "pending"


@dataclass
class Payment:
    id: str
    owner: str
    """Whose API key made it (a digest): only that key sees it, as a key belongs to one profile."""
    profile_id: str
    created_at: dt.datetime
    amount: Amount
    description: str
    redirect_url: str
    webhook_url: str | None
    method: str | None
    metadata: Any
    locale: str | None
    status: Status = "open"
    settled_at: dt.datetime | None = None
    """When it reached its final status (``paidAt``, ``failedAt``, ... by the status)."""
    refunds: list[Refund] = field(default_factory=list)

    @property
    def expires_at(self) -> dt.datetime:
        return self.created_at + EXPIRES_AFTER

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def amount_refunded(self) -> Amount:
        """Refunds count from the moment they are made, pending or not (so none is made twice)."""
        total = zero(self.amount.currency)
        for refund in self.refunds:
            total += refund.amount
        return total

    @property
    def amount_remaining(self) -> Amount:
        return self.amount - self.amount_refunded

    def settle(self, status: Status, now: dt.datetime) -> None:
        if not self.is_open:
            raise NotOpen(self.status)
        if status == "open":
            raise ValueError("a payment cannot be settled as open")
        self.status = status
        self.settled_at = now

    def expire_if_due(self, now: dt.datetime) -> bool:
        """Expired at its ``expiresAt`` if it is still open after it; True if it changed now."""
        if self.is_open and now >= self.expires_at:
            self.settle("expired", self.expires_at)
            return True
        return False

    def read_refunds(self) -> bool:
        """The refunds as a later reading sees them: pending ones done. True if any changed."""
        pending = [refund for refund in self.refunds if refund.status == "pending"]
        for refund in pending:
            refund.status = "refunded"
        return bool(pending)

    def refund(self, refund: Refund) -> None:
        self.refunds.append(refund)

    def dump(self) -> str:
        return json.dumps(asdict(self), default=_encode)

    @classmethod
    def load(cls, raw: str | bytes) -> Payment:
        data = json.loads(raw)
        data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
        data["amount"] = Amount.load(data["amount"])
        if data["settled_at"] is not None:
            data["settled_at"] = dt.datetime.fromisoformat(data["settled_at"])
        data["refunds"] = [
            Refund(
                **{
                    **item,
                    "amount": Amount.load(item["amount"]),
                    "created_at": dt.datetime.fromisoformat(item["created_at"]),
                }
            )
            for item in data["refunds"]
        ]
        return cls(**data)


def _encode(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)  # Decimal: exact, as a string
