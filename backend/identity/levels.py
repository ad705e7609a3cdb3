"""DigiD levels of assurance, and how a provider's ``acr`` (or another claim) maps onto them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from backend.i18n import N_
from backend.settings import LEVELS

NONE: Final = "none"
BASIS: Final = "basis"
MIDDEN: Final = "midden"

LABELS: Final[Mapping[str, str]] = {
    "none": N_("geen"),
    "basis": N_("DigiD Basis"),
    "midden": N_("DigiD Midden"),
    "substantieel": N_("DigiD Substantieel"),
    "hoog": N_("DigiD Hoog"),
}


def rank(level: str) -> int:
    """0 for ``none`` (and anything unknown) up to 4 for ``hoog``."""
    return LEVELS.index(level) if level in LEVELS else 0


def satisfies(have: str | None, need: str) -> bool:
    """Whether a verified level ``have`` is enough for a service that requires ``need``."""
    if rank(need) == 0:
        return True
    return have is not None and rank(have) >= rank(need)


def level_of(value: object, table: Mapping[str, str]) -> str:
    """The DigiD level a claim value stands for; ``none`` when the table does not know it.

    The level names themselves (``midden``...) are always understood, so a broker that already
    speaks in DigiD levels needs no table.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a numeric level sent as a number
    if not isinstance(value, str):
        return NONE
    if value in table:
        return table[value]
    return value if value in LEVELS else NONE


def acr_for(level: str, table: Mapping[str, str]) -> str:
    """The claim value to ask a provider for ``level`` with (``acr_values``)."""
    for value, mapped in table.items():
        if mapped == level:
            return value
    return level


def stricter(*levels: str) -> str:
    return max(levels, key=rank)
