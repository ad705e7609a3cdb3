"""What a create request asks for, read and checked as Mollie checks it: a refusal names the field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from backend.payments.dev_psp.errors import MollieError, unprocessable
from backend.payments.dev_psp.money import Amount, parse_amount

METHODS: Final = frozenset({"ideal"})
"""The methods enabled on every test profile here; without a method the checkout offers them all."""
DESCRIPTION_MAX: Final = 255
REFUND_DESCRIPTION_MAX: Final = 140
"""A refund's description goes on the bank statement, hence Mollie's shorter limit."""
METADATA_MAX_BYTES: Final = 1024


@dataclass(frozen=True)
class PaymentRequest:
    amount: Amount
    description: str
    redirect_url: str
    webhook_url: str | None
    method: str | None
    metadata: Any
    locale: str | None


@dataclass(frozen=True)
class RefundRequest:
    amount: Amount
    description: str
    metadata: Any


def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as an object (an empty body is an empty object); 400 as Mollie answers
    anything else."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MollieError(400, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MollieError(400, "The request body must be a JSON object")
    return body


def _is_web_address(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _text(body: dict[str, Any], field: str, maximum: int, *, required: bool) -> str:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise unprocessable(f"The {field} is required", field)
        return ""
    if not isinstance(value, str):
        raise unprocessable(f"The {field} is invalid", field)
    if len(value) > maximum:
        raise unprocessable(f"The {field} is too long (at most {maximum} characters)", field)
    return value


def _metadata(body: dict[str, Any]) -> Any:
    metadata = body.get("metadata")
    if len(json.dumps(metadata).encode()) > METADATA_MAX_BYTES:
        raise unprocessable(f"The metadata is too large (at most {METADATA_MAX_BYTES} bytes)", "metadata")
    return metadata


def payment_request(body: dict[str, Any]) -> PaymentRequest:
    amount = parse_amount(body.get("amount"))
    description = _text(body, "description", DESCRIPTION_MAX, required=True)
    redirect_url = body.get("redirectUrl")
    if not redirect_url:
        raise unprocessable("The redirect URL is required", "redirectUrl")
    if not isinstance(redirect_url, str) or not _is_web_address(redirect_url):
        raise unprocessable("The redirect URL is invalid", "redirectUrl")
    webhook_url = body.get("webhookUrl") or None
    if webhook_url is not None and not (isinstance(webhook_url, str) and _is_web_address(webhook_url)):
        raise unprocessable("The webhook URL is invalid", "webhookUrl")
    method = body.get("method")
    if method is not None and not (isinstance(method, str) and method in METHODS):
        raise unprocessable("The payment method is invalid or not enabled on this profile", "method")
    locale = body.get("locale")
    if locale is not None and not isinstance(locale, str):
        raise unprocessable("The locale is invalid", "locale")
    return PaymentRequest(
        amount=amount,
        description=description,
        redirect_url=redirect_url,
        webhook_url=webhook_url,
        method=method,
        metadata=_metadata(body),
        locale=locale,
    )


def refund_request(body: dict[str, Any]) -> RefundRequest:
    return RefundRequest(
        amount=parse_amount(body.get("amount")),
        description=_text(body, "description", REFUND_DESCRIPTION_MAX, required=False),
        metadata=_metadata(body),
    )
