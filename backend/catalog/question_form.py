"""One intake question as a team admin types it, checked and turned into the data
:mod:`backend.booking.intake` reads.

A question has a Dutch label (English optional), an optional label in the official's words (for the
desk and for booking by phone: "Geboortedatum van het kind", not "van uw kind"), an optional help
text, a type (text, date, e-mail, choice, checkbox) and whether it must be answered. A choice lists
its options one per line, Dutch first and English after a ``|``: ``Ja, ik ben getrouwd | Yes, I am
married``. The key that names the answer is made from the Dutch label unless the admin gives one;
``partner_name``, ``partner_email`` and ``birth_date`` mean something to the booking (an invitation,
the legal term).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

from backend.booking.agenda_form import Checker
from backend.booking.intake import TYPES, DefinitionError, parse_questions
from backend.i18n import N_

MAX_QUESTIONS: Final = 30
MAX_OPTIONS: Final = 20
TYPE_NAMES: Final = {
    "text": N_("Tekst"),
    "date": N_("Datum"),
    "email": N_("E-mailadres"),
    "choice": N_("Keuze uit een lijst"),
    "checkbox": N_("Vinkje (ja of nee)"),
}
_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")


def key_from(label: str) -> str:
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_label).strip("_")[:40].rstrip("_")
    if not key or not key[0].isalpha():
        key = f"vraag_{key}".rstrip("_")[:40]
    return key


def _texts(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, **({"en": en} if en else {})}


def question(data: Mapping[str, str], *, others: Iterable[str], key: str | None = None) -> dict[str, Any]:
    """One question's data; ``others`` are the keys of the service's other questions, ``key`` the
    key of the question being changed (it keeps it). :class:`FormErrors` when something is wrong."""
    check = Checker(data)
    label = " ".join(check.text("label").split())
    label_en = " ".join(check.text("label_en").split())
    help_nl = " ".join(check.text("help").split())
    help_en = " ".join(check.text("help_en").split())
    official = " ".join(check.text("official_label").split())
    official_en = " ".join(check.text("official_label_en").split())
    for name, value, limit in (
        ("label", label, 200),
        ("label_en", label_en, 200),
        ("official_label", official, 200),
        ("official_label_en", official_en, 200),
        ("help", help_nl, 500),
        ("help_en", help_en, 500),
    ):
        if len(value) > limit:
            check.fail(name, N_("Dit is te lang (hoogstens {limit} tekens)."), limit=limit)
    if not label:
        check.fail("label", N_("Vul de vraag in."))
    if official_en and not official:
        check.fail("official_label", N_("Schrijf de vraag voor de medewerker ook in het Nederlands."))
    kind = check.text("type")
    if kind not in TYPES:
        check.fail("type", N_("Kies een van de mogelijkheden."))
    if key is None:
        typed = check.text("key").strip().lower()
        key = typed or key_from(label)
        if not _KEY.fullmatch(key):
            check.fail(
                "key", N_("Gebruik kleine letters, cijfers en _ (hoogstens 40), en begin met een letter.")
            )
        elif key in set(others):
            check.fail("key", N_("Deze dienst heeft al een vraag met de naam {key}."), key=key)
    item: dict[str, Any] = {
        "key": key,
        "type": kind,
        "required": check.text("required") == "yes",
        "label": _texts(label, label_en),
    }
    if official:
        item["official_label"] = _texts(official, official_en)
    if help_nl:
        item["help"] = _texts(help_nl, help_en)
    if kind == "text":
        length = check.number("max_length", 1, 2000, optional=True)
        item["max_length"] = length or 200
    if kind == "date" and check.text("not_future") == "yes":
        item["not_future"] = True
    if kind == "choice":
        item["options"] = _options(check)
    check.done()
    try:  # the booking reads it with the same parser: what is stored can always be asked
        parse_questions([item])
    except DefinitionError as exc:  # pragma: no cover - the checks above refuse all of these first
        raise RuntimeError(f"question form let through bad data: {exc}") from exc
    return item


def _options(check: Checker) -> list[dict[str, Any]]:
    lines = [line.strip() for line in check.text("options").splitlines() if line.strip()]
    if not lines:
        check.fail("options", N_("Zet minstens één keuze op een regel."))
    if len(lines) > MAX_OPTIONS:
        check.fail("options", N_("Zet hoogstens {limit} keuzes op de lijst."), limit=MAX_OPTIONS)
    options: list[dict[str, Any]] = []
    for line in lines:
        nl, _, en = (" ".join(part.split()) for part in line.partition("|"))
        if not nl or len(nl) > 200 or len(en) > 200:
            check.fail("options", N_("Een keuze is leeg of te lang (hoogstens 200 tekens)."))
            break
        options.append({"value": nl, "label": _texts(nl, en)})
    if len({o["value"] for o in options}) != len(options):
        check.fail("options", N_("Twee keuzes zijn hetzelfde."))
    return options


def form_values(item: Mapping[str, Any]) -> dict[str, str]:
    """A stored question as the form's fields."""
    label, help_texts = _as_texts(item.get("label")), _as_texts(item.get("help"))
    official = _as_texts(item.get("official_label"))
    options = []
    for option in item.get("options", []):
        texts = option.get("label") or {"nl": option.get("value", "")}
        if isinstance(texts, str):
            texts = {"nl": texts}
        options.append(texts.get("nl", "") + (f" | {texts['en']}" if texts.get("en") else ""))
    return {
        "key": str(item.get("key", "")),
        "type": str(item.get("type", "")),
        "required": "yes" if item.get("required") else "",
        "label": str(label.get("nl", "")),
        "label_en": str(label.get("en", "")),
        "official_label": str(official.get("nl", "")),
        "official_label_en": str(official.get("en", "")),
        "help": str(help_texts.get("nl", "")),
        "help_en": str(help_texts.get("en", "")),
        "max_length": str(item.get("max_length", "")) if item.get("type") == "text" else "",
        "not_future": "yes" if item.get("not_future") else "",
        "options": "\n".join(options),
    }


def _as_texts(raw: object) -> Mapping[str, str]:
    """Stored texts as ``{locale: text}`` (a plain string is Dutch)."""
    if isinstance(raw, str):
        return {"nl": raw}
    return raw if isinstance(raw, Mapping) else {}
