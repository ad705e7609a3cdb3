"""What a service asks of the citizen, in the official's words.

Citizens read "Uw identiteitsbewijs" and "Geboortedatum van uw kind"; the official on the call page
and when booking for a caller reads "Identiteitsbewijs van de ouder" and "Geboortedatum van het
kind". Nobody can rewrite the one into the other reliably, so the team admin writes it (service
editor); where they did not, the official reads the citizen's words.

Intake questions carry their ``official_label`` themselves (:mod:`backend.booking.intake`). The
documents checklist in the official's words lives beside the service's other texts, per language:
``translations["nl"]["official_documents"]`` and ``translations["en"]["official_documents"]``.
"""

from __future__ import annotations

from typing import Any, Final

from backend.db.models import Service
from backend.localized import localized_list

OFFICIAL_DOCUMENTS: Final = "official_documents"


def _lines(texts: dict[str, Any], locale: str) -> list[str]:
    value = (texts.get(locale) or {}).get(OFFICIAL_DOCUMENTS)
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return list(value)
    return []


def official_documents(service: Service, locale: str) -> list[str]:
    """The documents checklist as the official reads it, in ``locale`` (Dutch when that language has
    no such list of the same length); the citizen's checklist when the service has none."""
    texts = service.translations or {}
    dutch = _lines(texts, "nl")
    if not dutch:
        return localized_list(service, "documents", locale)
    other = _lines(texts, locale)
    return other if len(other) == len(dutch) else dutch


def stored_official_documents(service: Service) -> tuple[list[str], list[str]]:
    """(Dutch, English) as stored, for the editor's fields."""
    texts = service.translations or {}
    return _lines(texts, "nl"), _lines(texts, "en")
