"""Euro amounts as exact cents: read from what an official or admin types, shown the Dutch way,
and written the way the provider's API wants them (``"37.60"``). Never a float."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from babel.numbers import format_currency

MAX_CENTS: Final = 100_000_00
"""EUR 100,000: no fee at a counter is higher, and iDEAL's limits are lower still."""
_AMOUNT = re.compile(r"^(?:€|eur|euro)?\s*(\d{1,3}(?:\.\d{3})+|\d+)(?:[,.](\d{1,2}))?\s*$", re.IGNORECASE)


class AmountError(ValueError):
    """Not an amount in euro (``reason``: ``format``, ``zero``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_euro(text: str) -> int:
    """Cents from ``37,60``, ``37.60``, ``€ 37,60``, ``1.234,50`` or ``37``. A dot before three
    digits is a thousands separator (the Dutch way); before one or two it is the decimal point."""
    cleaned = text.strip().replace("\u00a0", " ")
    if cleaned.startswith("-"):
        raise AmountError("negative")
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise AmountError("format")
    whole, fraction = match.group(1).replace(".", ""), (match.group(2) or "").ljust(2, "0")
    cents = int(whole) * 100 + int(fraction or "0")
    if cents <= 0:
        raise AmountError("zero")
    if cents > MAX_CENTS:
        raise AmountError("too_high")
    return cents


def provider_value(cents: int) -> str:
    """``3760`` -> ``"37.60"`` (Mollie's ``amount.value``: a string with two decimals)."""
    return f"{cents // 100}.{cents % 100:02d}"


def cents_from_provider(value: str) -> int:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise AmountError("format") from None
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise AmountError("format")
    return int(cents)


def euro(cents: int, locale: str = "nl") -> str:
    """``€ 37,60`` in Dutch, ``€37.60`` in English."""
    return format_currency(Decimal(cents) / 100, "EUR", locale=locale)


def euro_input(cents: int) -> str:
    """How an amount stands in a form field: ``37,60``."""
    return f"{cents // 100},{cents % 100:02d}"
