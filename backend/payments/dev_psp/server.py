"""The provider's state: payments in a Litestar store, read and changed as Mollie would.

Payments live in a store namespace of the app's session store, so two app processes on one
database show the same payments. Time comes from the app's clock: a test moves it to see a payment
expire. Each call says whether the payment's status (or its refunds) changed, because every change
is told to the payment's webhook; the routes do that after their answer.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from typing import Final

from litestar.stores.base import Store

from backend.clock import Clock
from backend.payments.dev_psp.errors import MollieError, not_found, unauthorized, unprocessable
from backend.payments.dev_psp.payment_requests import json_object, payment_request, refund_request
from backend.payments.dev_psp.records import NotOpen, Payment, Refund, Status
from backend.payments.dev_psp.webhooks import Webhooks

ID_ALPHABET: Final = string.ascii_letters + string.digits
IDEMPOTENCY_SECONDS: Final = 3600
"""Mollie remembers an idempotency key for an hour."""
_API_KEY_PREFIX: Final = "Bearer test_"


@dataclass(frozen=True)
class Outcome:
    payment: Payment
    changed: bool
    """Its status or its refunds changed: the webhook is to be called."""
    refund: Refund | None = None
    replayed: bool = False
    """An earlier request with the same idempotency key made it; this one changed nothing."""
    refusal: MollieError | None = None
    """The request was refused after the payment expired on being looked at (that change stands)."""


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(10))


def owner_of(authorization: str | None) -> str:
    """Who a request comes from: a digest of its test API key (``Authorization: Bearer test_...``);
    401 without one. Live keys and OAuth tokens are refused: this provider moves no real money."""
    key = (authorization or "").strip()
    rest = key.removeprefix(_API_KEY_PREFIX)
    if rest == key or not rest or not all(c.isalnum() or c == "_" for c in rest):
        raise unauthorized()
    return hashlib.sha256(key.encode()).hexdigest()


def profile_of(owner: str) -> str:
    """The profile a key belongs to: one per key, the same every time."""
    digest = int(owner, 16)
    return "pfl_" + "".join(ID_ALPHABET[(digest >> (6 * i)) % len(ID_ALPHABET)] for i in range(10))


def _fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class DevPaymentProvider:
    def __init__(self, store: Store, clock: Clock, base_url: str, webhooks: Webhooks | None = None) -> None:
        self.store = store
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        """``<public url>/dev/psp``: the address the app's Mollie client is set to."""
        self.webhooks = webhooks or Webhooks()

    async def create(self, owner: str, body: bytes, idempotency_key: str | None = None) -> Outcome:
        replay = await self._replay(owner, "payments", body, idempotency_key)
        if replay is not None:
            return Outcome(await self._find(owner, replay), changed=False, replayed=True)
        asked = payment_request(json_object(body))
        payment = Payment(
            id=new_id("tr_"),
            owner=owner,
            profile_id=profile_of(owner),
            created_at=self.clock(),
            amount=asked.amount,
            description=asked.description,
            redirect_url=asked.redirect_url,
            webhook_url=asked.webhook_url,
            method=asked.method,
            metadata=asked.metadata,
            locale=asked.locale,
        )
        await self._save(payment)
        await self._remember(owner, "payments", body, idempotency_key, payment.id)
        return Outcome(payment, changed=False)

    async def payment(self, owner: str, payment_id: str) -> Outcome:
        """A payment as its key sees it now; one still open past its ``expiresAt`` expires."""
        return await self._noticed(await self._find(owner, payment_id))

    async def cancel(self, owner: str, payment_id: str) -> Outcome:
        payment = await self._find(owner, payment_id)
        noticed = await self._noticed(payment)
        if not payment.is_open:
            refusal = MollieError(422, f"The payment cannot be canceled: its status is {payment.status}")
            return Outcome(payment, changed=noticed.changed, refusal=refusal)
        payment.settle("canceled", self.clock())
        await self._save(payment)
        return Outcome(payment, changed=True)

    async def refund(
        self, owner: str, payment_id: str, body: bytes, idempotency_key: str | None = None
    ) -> Outcome:
        payment = await self._find(owner, payment_id)
        replay = await self._replay(owner, f"refunds:{payment_id}", body, idempotency_key)
        if replay is not None:
            return Outcome(payment, changed=False, refund=_refund_in(payment, replay), replayed=True)
        asked = refund_request(json_object(body))
        noticed = await self._noticed(payment)
        if payment.status != "paid":
            refusal = MollieError(422, f"The payment cannot be refunded: its status is {payment.status}")
            return Outcome(payment, changed=noticed.changed, refusal=refusal)
        if asked.amount.currency != payment.amount.currency:
            raise unprocessable("The currency differs from the payment's", "amount.currency")
        remaining = payment.amount_remaining
        if asked.amount.value > remaining.value:
            detail = f"The amount is higher than the remaining amount of {remaining.dump()['value']}"
            raise unprocessable(detail, "amount.value")
        refund = Refund(new_id("re_"), asked.amount, asked.description, asked.metadata, self.clock())
        payment.refund(refund)
        await self._save(payment)
        await self._remember(owner, f"refunds:{payment_id}", body, idempotency_key, refund.id)
        return Outcome(payment, changed=True, refund=refund)

    async def refunds(self, owner: str, payment_id: str) -> Outcome:
        """The payment with its refunds as a later reading sees them (pending ones done)."""
        payment = await self._find(owner, payment_id)
        noticed = await self._noticed(payment)
        if payment.read_refunds():
            await self._save(payment)
        return noticed

    async def refund_of(self, owner: str, payment_id: str, refund_id: str) -> tuple[Outcome, Refund]:
        outcome = await self.refunds(owner, payment_id)
        return outcome, _refund_in(outcome.payment, refund_id)

    async def at_checkout(self, payment_id: str) -> Outcome | None:
        """The payment behind a checkout link (no key: the link is the secret, as at Mollie)."""
        payment = await self._load(payment_id)
        return None if payment is None else await self._noticed(payment)

    async def choose(self, payment_id: str, status: Status) -> Outcome | None:
        """How the developer at the checkout says the payment ended; only an open one changes."""
        outcome = await self.at_checkout(payment_id)
        if outcome is None or not outcome.payment.is_open:
            return outcome
        outcome.payment.settle(status, self.clock())
        await self._save(outcome.payment)
        return Outcome(outcome.payment, changed=True)

    async def _noticed(self, payment: Payment) -> Outcome:
        if payment.expire_if_due(self.clock()):
            await self._save(payment)
            return Outcome(payment, changed=True)
        return Outcome(payment, changed=False)

    async def _find(self, owner: str, payment_id: str) -> Payment:
        payment = await self._load(payment_id)
        if payment is None or not secrets.compare_digest(payment.owner, owner):
            raise not_found("payment", payment_id)
        return payment

    async def _load(self, payment_id: str) -> Payment | None:
        if not payment_id.startswith("tr_") or len(payment_id) > 40:
            return None
        raw = await self.store.get(f"payment:{payment_id}")
        return None if raw is None else Payment.load(raw)

    async def _save(self, payment: Payment) -> None:
        await self.store.set(f"payment:{payment.id}", payment.dump())

    async def _replay(self, owner: str, what: str, body: bytes, key: str | None) -> str | None:
        """The id an earlier request with this idempotency key made, if any; 422 if that request
        asked for something else (Mollie refuses a key used for another request)."""
        if not key:
            return None
        raw = await self.store.get(_idempotency_key(owner, what, key))
        if raw is None:
            return None
        fingerprint, _, made = raw.decode().partition(" ")
        if fingerprint != _fingerprint(body):
            raise MollieError(422, "The Idempotency-Key was used before for a different request")
        return made

    async def _remember(self, owner: str, what: str, body: bytes, key: str | None, made: str) -> None:
        if key:
            value = f"{_fingerprint(body)} {made}"
            await self.store.set(_idempotency_key(owner, what, key), value, expires_in=IDEMPOTENCY_SECONDS)


def _refund_in(payment: Payment, refund_id: str) -> Refund:
    refund = next((r for r in payment.refunds if r.id == refund_id), None)
    if refund is None:
        raise not_found("refund", refund_id)
    return refund


def _idempotency_key(owner: str, what: str, key: str) -> str:
    return f"idempotency:{owner}:{what}:{hashlib.sha256(key.encode()).hexdigest()}"


__all__ = ["DevPaymentProvider", "NotOpen", "Outcome", "owner_of"]
