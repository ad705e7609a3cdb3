"""Amounts as Mollie writes them: a currency and a string with exactly two decimals ("37.60")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from babel.numbers import format_currency

from backend.payments.dev_psp.errors import unprocessable

CURRENCIES: Final = frozenset({"EUR"})
"""iDEAL pays in euros only; so does this stand-in."""
MAXIMUM: Final = Decimal("50000.00")
"""iDEAL's upper limit per payment."""
_VALUE = re.compile(r"\d{1,10}\.\d{2}")
_BABEL_LOCALES: Final = {"nl": "nl_NL", "en": "en_GB"}


@dataclass(frozen=True)
class Amount:
    currency: str
    value: Decimal

    def dump(self) -> dict[str, str]:
        return {"value": f"{self.value:.2f}", "currency": self.currency}

    @classmethod
    def load(cls, data: dict[str, str]) -> Amount:
        return cls(data["currency"], Decimal(data["value"]))

    def __sub__(self, other: Amount) -> Amount:
        return Amount(self.currency, self.value - other.value)

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.currency, self.value + other.value)


def zero(currency: str) -> Amount:
    return Amount(currency, Decimal("0.00"))


def parse_amount(raw: Any, field: str = "amount") -> Amount:
    """The amount of a request, refused (422 naming the field) as Mollie refuses it: an object with a
    supported ``currency`` and a ``value`` string of exactly two decimals, more than zero."""
    if raw is None:
        raise unprocessable("The amount is required", field)
    if not isinstance(raw, dict):
        raise unprocessable("The amount is invalid", field)
    currency, value = raw.get("currency"), raw.get("value")
    if not isinstance(currency, str) or not currency:
        raise unprocessable("The currency is required", f"{field}.currency")
    if currency not in CURRENCIES:
        raise unprocessable(f"The currency '{currency}' is not supported", f"{field}.currency")
    if not isinstance(value, str) or not _VALUE.fullmatch(value):
        raise unprocessable(
            'The amount value must be a string with exactly two decimals, such as "10.00"', f"{field}.value"
        )
    amount = Amount(currency, Decimal(value))
    if amount.value <= 0:
        raise unprocessable("The amount is lower than the minimum", f"{field}.value")
    if amount.value > MAXIMUM:
        raise unprocessable("The amount is higher than the maximum", f"{field}.value")
    return amount


def shown(amount: Amount, locale: str) -> str:
    """``€ 37,60`` (Dutch) or ``€37.60`` (English)."""
    return format_currency(amount.value, amount.currency, locale=_BABEL_LOCALES.get(locale, "nl_NL"))
