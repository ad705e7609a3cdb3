"""The fee form of a team admin: what a fee is called, its amount or bounds, and its article."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from litestar.enums import RequestEncodingType
from litestar.params import Body

from backend.booking.agenda_form import FormErrors, Message
from backend.db.models import Fee, FeeDue
from backend.i18n import N_
from backend.payments.money import AmountError, euro_input, parse_euro

AMOUNT_MESSAGES: Final[dict[str, str]] = {
    "format": N_("Vul een bedrag in euro in, bijvoorbeeld 37,60."),
    "negative": N_("Het bedrag kan niet negatief zijn."),
    "zero": N_("Het bedrag moet meer dan € 0,00 zijn."),
    "too_high": N_("Het bedrag is te hoog: hoogstens € 100.000,00."),
}
DUE_NAMES: Final = {FeeDue.CALL.value: N_("In het gesprek (de medewerker vraagt de betaling)")}


@dataclass(frozen=True)
class FeeValues:
    description: str
    description_en: str
    article: str
    amount_cents: int
    min_cents: int | None
    max_cents: int | None
    due: str


def form_values(fee: Fee) -> dict[str, str]:
    return {
        "description": fee.description,
        "description_en": str((fee.translations or {}).get("en", {}).get("description", "")),
        "article": fee.ordinance_article,
        "amount": euro_input(fee.amount_cents),
        "open": "yes" if fee.is_open else "",
        "min": euro_input(fee.min_cents) if fee.min_cents else "",
        "max": euro_input(fee.max_cents) if fee.max_cents else "",
        "due": fee.due,
    }


def _amount(errors: dict[str, Message], data: Mapping[str, str], name: str, *, required: bool) -> int | None:
    raw = str(data.get(name, "")).strip()
    if not raw:
        if required:
            errors[name] = (N_("Vul het bedrag in."), {})
        return None
    try:
        return parse_euro(raw)
    except AmountError as exc:
        errors[name] = (AMOUNT_MESSAGES[exc.reason], {})
        return None


def _line(
    errors: dict[str, Message], data: Mapping[str, str], name: str, limit: int, *, required: bool
) -> str:
    value = " ".join(str(data.get(name, "")).split())
    if required and not value:
        errors[name] = (N_("Vul dit in."), {})
    elif len(value) > limit:
        errors[name] = (N_("Hoogstens {count} tekens."), {"count": limit})
    return value


def parse_fee(data: Mapping[str, Any]) -> FeeValues:
    """The form's values, or :class:`FormErrors` naming every field that is not right."""
    errors: dict[str, Message] = {}
    description = _line(errors, data, "description", 160, required=True)
    description_en = _line(errors, data, "description_en", 160, required=False)
    article = _line(errors, data, "article", 60, required=False)
    amount = _amount(errors, data, "amount", required=True)
    is_open = data.get("open") == "yes"
    low = _amount(errors, data, "min", required=False) if is_open else None
    high = _amount(errors, data, "max", required=True) if is_open else None
    if is_open and amount is not None and high is not None:
        low_bound = low or 1
        if high < low_bound:
            errors["max"] = (N_("Het hoogste bedrag moet minstens het laagste zijn."), {})
        elif not low_bound <= amount <= high:
            errors["amount"] = (
                N_("Het voorgestelde bedrag moet tussen het laagste en het hoogste liggen."),
                {},
            )
    due = str(data.get("due", FeeDue.CALL))
    if due not in DUE_NAMES:
        errors["due"] = (N_("Kies een van de mogelijkheden."), {})
    if errors:
        raise FormErrors(errors)
    assert amount is not None  # noqa: S101 - required above
    return FeeValues(description, description_en, article, amount, low, high, due)


def apply(fee: Fee, values: FeeValues) -> None:
    fee.description = values.description
    fee.translations = {"en": {"description": values.description_en}} if values.description_en else {}
    fee.ordinance_article = values.article
    fee.amount_cents = values.amount_cents
    fee.min_cents = values.min_cents
    fee.max_cents = values.max_cents
    fee.due = values.due


FORM_BODY: Final = Body(media_type=RequestEncodingType.URL_ENCODED)
