"""The small interface a payment service provider sits behind (Mollie today; Worldline or another
PSP is a second implementation of :class:`PaymentProvider`, nothing else changes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with an error of its own (5xx, a timeout):
    nothing changed at our side; try again later."""


class ProviderRefused(Exception):
    """The provider refused the request (4xx): e.g. a wrong API key, an amount it does not take."""

    def __init__(self, detail: str, *, status: int = 422) -> None:
        super().__init__(detail)
        self.detail, self.status = detail, status


class UnknownAtProvider(Exception):
    """The provider does not know this payment (404 with this key)."""


@dataclass(frozen=True)
class NewPayment:
    amount_cents: int
    description: str
    redirect_url: str
    webhook_url: str
    idempotency_key: str
    """Our payment's id: asking twice (a retry after a timeout) makes one payment, not two."""
    locale: str = "nl_NL"
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class ProviderPayment:
    id: str
    status: str
    amount_cents: int
    checkout_url: str = ""
    paid_at: dt.datetime | None = None
    refunded_cents: int = 0


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    status: str
    amount_cents: int


class PaymentProvider(Protocol):
    """One municipality's account at a provider (its API key inside)."""

    name: str

    async def create(self, payment: NewPayment) -> ProviderPayment: ...

    async def get(self, payment_id: str) -> ProviderPayment: ...

    async def cancel(self, payment_id: str) -> ProviderPayment: ...

    async def refund(self, payment_id: str, amount_cents: int, description: str) -> ProviderRefund: ...
