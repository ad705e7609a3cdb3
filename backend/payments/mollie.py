"""Mollie's Payments API through its maintained client, ``mollie-api-python``.

The client is synchronous (``requests``): each call runs in a thread, so the event loop never waits
on the provider. Its errors become the three of :mod:`backend.payments.provider`: unreachable (try
again), refused (a 4xx: say why), unknown payment (404). The API key is one municipality's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from mollie.api.client import Client
from mollie.api.error import (
    NotFoundError,
    RequestError,
    RequestSetupError,
    ResponseError,
    ResponseHandlingError,
)
from mollie.api.objects.payment import Payment as MolliePayment
from mollie.api.resources.refunds import PaymentRefunds

from backend.payments.money import cents_from_provider, provider_value
from backend.payments.provider import (
    NewPayment,
    ProviderPayment,
    ProviderRefund,
    ProviderRefused,
    ProviderUnavailable,
    UnknownAtProvider,
)

T = TypeVar("T")
TIMEOUT = (2, 10)
"""Connect, read: an official waits for the answer with the citizen on screen."""


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _cents(amount: object) -> int:
    if isinstance(amount, dict) and isinstance(amount.get("value"), str):
        return cents_from_provider(amount["value"])
    return 0


def _payment(found: MolliePayment) -> ProviderPayment:
    return ProviderPayment(
        id=str(found.id),
        status=str(found.status),
        amount_cents=_cents(found.amount),
        checkout_url=str(found.checkout_url or ""),
        paid_at=_when(found.paid_at),
        refunded_cents=_cents(found.amount_refunded),
    )


class MollieProvider:
    name = "mollie"

    def __init__(self, endpoint: str, api_key: str) -> None:
        self._client = Client(api_endpoint=endpoint, timeout=TIMEOUT, retry=1)
        try:
            self._client.set_api_key(api_key)
        except RequestSetupError as exc:
            raise ProviderRefused("the API key is not a Mollie key", status=401) from exc
        self._client.set_user_agent_component("DigitaleBalie", "1")

    async def _call(self, action: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(action)
        except NotFoundError as exc:
            raise UnknownAtProvider(str(exc)) from exc
        except ResponseError as exc:
            status = int(exc.status or 0)
            if status >= 500 or status in (0, 429):
                raise ProviderUnavailable(f"{status}: {exc}") from exc
            raise ProviderRefused(str(exc), status=status) from exc
        except (RequestError, ResponseHandlingError) as exc:
            raise ProviderUnavailable(str(exc)) from exc

    async def create(self, payment: NewPayment) -> ProviderPayment:
        data: dict[str, Any] = {
            "amount": {"currency": "EUR", "value": provider_value(payment.amount_cents)},
            "description": payment.description,
            "redirectUrl": payment.redirect_url,
            "webhookUrl": payment.webhook_url,
            "method": "ideal",
            "locale": payment.locale,
            "metadata": dict(payment.metadata or {}),
        }
        created = await self._call(
            lambda: self._client.payments.create(data, idempotency_key=payment.idempotency_key)
        )
        return _payment(created)

    async def get(self, payment_id: str) -> ProviderPayment:
        return _payment(await self._call(lambda: self._client.payments.get(payment_id)))

    async def cancel(self, payment_id: str) -> ProviderPayment:
        # ``delete`` is annotated as a dict, but it hands back the cancelled payment.
        cancelled: Any = await self._call(lambda: self._client.payments.delete(payment_id))
        return _payment(cancelled)

    async def refund(self, payment_id: str, amount_cents: int, description: str) -> ProviderRefund:
        def _refund() -> Any:
            payment = self._client.payments.get(payment_id)
            data = {
                "amount": {"currency": "EUR", "value": provider_value(amount_cents)},
                "description": description,
            }
            return PaymentRefunds(self._client, payment).create(data, idempotency_key=f"refund:{payment_id}")

        refund = await self._call(_refund)
        return ProviderRefund(
            id=str(refund.id), status=str(refund.status), amount_cents=_cents(refund.amount)
        )
