"""Payments and refunds as Mollie's API shows them: camelCase fields, ISO times, HAL ``_links``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from backend.payments.dev_psp.errors import HAL_JSON
from backend.payments.dev_psp.records import TEST_CONSUMER, Payment, Refund

DOCUMENTATION: Final = "https://docs.mollie.com/reference"
_SETTLED_FIELD: Final = {
    "paid": "paidAt",
    "failed": "failedAt",
    "canceled": "canceledAt",
    "expired": "expiredAt",
}


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")  # 2026-03-03T09:13:37+00:00


def _link(href: str, media_type: str = HAL_JSON) -> dict[str, str]:
    return {"href": href, "type": media_type}


class Addresses:
    """Where this provider's resources live, absolute from the app's public address."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def payment(self, payment_id: str) -> str:
        return f"{self.base_url}/v2/payments/{payment_id}"

    def refunds(self, payment_id: str) -> str:
        return f"{self.payment(payment_id)}/refunds"

    def refund(self, payment_id: str, refund_id: str) -> str:
        return f"{self.refunds(payment_id)}/{refund_id}"

    def checkout(self, payment_id: str) -> str:
        return f"{self.base_url}/checkout/{payment_id}"


def payment_json(payment: Payment, addresses: Addresses) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resource": "payment",
        "id": payment.id,
        "mode": "test",
        "createdAt": _time(payment.created_at),
        "amount": payment.amount.dump(),
        "description": payment.description,
        "method": payment.method or ("ideal" if payment.status == "paid" else None),
        "metadata": payment.metadata,
        "status": payment.status,
        "isCancelable": payment.is_open,
        "profileId": payment.profile_id,
        "sequenceType": "oneoff",
        "redirectUrl": payment.redirect_url,
        "webhookUrl": payment.webhook_url,
        "details": TEST_CONSUMER if payment.status == "paid" else None,
    }
    if payment.locale is not None:
        body["locale"] = payment.locale
    if payment.is_open:
        body["expiresAt"] = _time(payment.expires_at)
    elif payment.settled_at is not None:
        body[_SETTLED_FIELD[payment.status]] = _time(payment.settled_at)
    if payment.status == "paid":
        body["amountRefunded"] = payment.amount_refunded.dump()
        body["amountRemaining"] = payment.amount_remaining.dump()
    links: dict[str, Any] = {"self": _link(addresses.payment(payment.id))}
    if payment.is_open:
        links["checkout"] = _link(addresses.checkout(payment.id), "text/html")
    links["dashboard"] = _link(addresses.checkout(payment.id), "text/html")
    if payment.refunds:
        links["refunds"] = _link(addresses.refunds(payment.id))
    links["documentation"] = _link(f"{DOCUMENTATION}/get-payment", "text/html")
    body["_links"] = links
    return body


def refund_json(payment: Payment, refund: Refund, addresses: Addresses) -> dict[str, Any]:
    return {
        "resource": "refund",
        "id": refund.id,
        "mode": "test",
        "amount": refund.amount.dump(),
        "status": refund.status,
        "createdAt": _time(refund.created_at),
        "description": refund.description,
        "metadata": refund.metadata,
        "paymentId": payment.id,
        "_links": {
            "self": _link(addresses.refund(payment.id, refund.id)),
            "payment": _link(addresses.payment(payment.id)),
            "documentation": _link(f"{DOCUMENTATION}/get-refund", "text/html"),
        },
    }


def refund_list_json(payment: Payment, addresses: Addresses) -> dict[str, Any]:
    """All of a payment's refunds on one page (a payment here has a handful at most)."""
    return {
        "count": len(payment.refunds),
        "_embedded": {"refunds": [refund_json(payment, refund, addresses) for refund in payment.refunds]},
        "_links": {
            "self": _link(addresses.refunds(payment.id)),
            "previous": None,
            "next": None,
            "documentation": _link(f"{DOCUMENTATION}/list-refunds", "text/html"),
        },
    }
