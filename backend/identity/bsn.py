"""The burgerservicenummer: its check (the elfproef) and how it may be shown (masked)."""

from __future__ import annotations

import re
from typing import Final

_NINE_DIGITS: Final = re.compile(r"[0-9]{9}")


def is_valid(value: object) -> bool:
    """Nine digits whose weighted sum (9..2, and -1 for the last digit) is a multiple of 11.

    All zeros passes the arithmetic but is not a number anybody has, so it is refused.
    """
    if value == "000000000":
        return False
    if not isinstance(value, str) or not _NINE_DIGITS.fullmatch(value):
        return False
    digits = [int(d) for d in value]
    total = sum(weight * digit for weight, digit in zip(range(9, 1, -1), digits[:8], strict=True))
    total -= digits[8]
    return total % 11 == 0


def masked(value: str) -> str:
    """``*****1234``: enough for an official to compare with an ID card, not enough to misuse."""
    return "*****" + value[-4:]
