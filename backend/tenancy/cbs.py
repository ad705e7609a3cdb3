"""The official list of Dutch municipalities and their CBS codes (gemeentecodes).

``data/cbs_municipalities.csv`` holds, sorted by code, every municipality in the CBS classification
"Gemeentelijke indeling op 1 januari 2026" (the workbook *Gemeenten alfabetisch 2026*,
https://www.cbs.nl/nl-nl/onze-diensten/methoden/classificaties/overig/gemeentelijke-indelingen-per-jaar/indeling-per-jaar/gemeentelijke-indeling-op-1-januari-2026):
342 municipalities, the code as its four digits without the ``GM`` prefix and the name as CBS spells
it, qualifier included where two share a name or CBS adds one (``Bergen (L.)``, ``Bergen (NH.)``,
``Hengelo (O.)``, ``Rijswijk (ZH.)``). The Caribbean public bodies (9001-9003) are not municipalities
in this classification and are not listed. After a herindeling, replace the file with the next
year's classification and move :data:`REFERENCE_DATE` along.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Final

REFERENCE_DATE: Final[dt.date] = dt.date(2026, 1, 1)
"""The day the list describes."""

_CODE: Final = re.compile(r"\d{4}", re.ASCII)
_TYPED: Final = re.compile(r"(?:gm\s*)?(\d{1,4})", re.ASCII | re.IGNORECASE)


def _load() -> Mapping[str, str]:
    text = (resources.files("backend.tenancy") / "data" / "cbs_municipalities.csv").read_text(
        encoding="utf-8"
    )
    municipalities: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code, name = row["code"], row["name"]
        if not _CODE.fullmatch(code) or not name or code in municipalities:
            raise ValueError(f"cbs_municipalities.csv: bad or repeated row {code!r},{name!r}")
        municipalities[code] = name
    return MappingProxyType(municipalities)


MUNICIPALITIES: Final[Mapping[str, str]] = _load()
"""CBS code (four digits) -> the municipality's name, as on :data:`REFERENCE_DATE`."""


def normalise(raw: str) -> str | None:
    """The four-digit code in what an admin typed (``" GM 599 "`` -> ``"0599"``), or None if it is none."""
    typed = _TYPED.fullmatch(raw.strip())
    return typed.group(1).zfill(4) if typed else None


def name_of(code: str) -> str | None:
    """The CBS name of the municipality with this normalised code, or None when there is none."""
    return MUNICIPALITIES.get(code)
