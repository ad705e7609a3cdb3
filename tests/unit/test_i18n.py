"""Every Dutch text the app shows has its English text, and the catalog holds nothing stale.

Babel's extractor reads ``_()`` in the templates and ``_()`` / ``N_()`` in the Python code, the
same way a gettext toolchain would; the catalog is ``web/locales/en.json``.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from backend.i18n import pick_locale, translator
from backend.settings import ROOT, WEB_DIR

KEYWORDS = {"_": None, "N_": None}


def _extract(root: Path, method_map: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(root), method_map, keywords=KEYWORDS
    ):
        text = message[0] if isinstance(message, tuple) else message
        if text:
            found.setdefault(text, f"{filename}:{line}")
    return found


def marked_texts() -> dict[str, str]:
    texts = _extract(WEB_DIR, [("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")])
    for package in ("backend", "signalling"):
        texts.update(_extract(ROOT / package, [("**.py", "python")]))
    return texts


def catalog() -> dict[str, str]:
    data: dict[str, str] = json.loads((WEB_DIR / "locales" / "en.json").read_text(encoding="utf-8"))
    return data


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_marked_text_has_an_english_text() -> None:
    english = catalog()
    missing = [f"{where}: {text!r}" for text, where in marked_texts().items() if text not in english]
    assert missing == [], "add these to web/locales/en.json:\n" + "\n".join(missing)


def test_the_catalog_holds_no_text_the_app_no_longer_shows() -> None:
    unused = sorted(set(catalog()) - set(marked_texts()))
    assert unused == [], f"remove from web/locales/en.json: {unused}"


def test_english_texts_keep_the_placeholders_of_the_dutch() -> None:
    wrong = {nl: en for nl, en in catalog().items() if placeholders(nl) != placeholders(en) or not en.strip()}
    assert wrong == {}


def test_translator_fills_placeholders_and_falls_back_to_dutch() -> None:
    assert translator("en")("Hallo {name},", name="Sanne") == "Hello Sanne,"
    assert translator("nl")("Hallo {name},", name="Sanne") == "Hallo Sanne,"
    assert translator("xx")("Uw afspraak") == "Uw afspraak"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        ("en", "nl", "nl", "en"),
        (None, "en", "nl-NL", "en"),
        (None, None, "en-GB,en;q=0.9", "en"),
        (None, None, "de-DE,en;q=0.5", "en"),
        (None, None, "fr", "nl"),
        ("xx", None, None, "nl"),
    ],
)
def test_locale_choice(query: str | None, cookie: str | None, header: str | None, expected: str) -> None:
    assert pick_locale(query, cookie, header) == expected


@pytest.mark.parametrize(
    ("query", "cookie", "header", "default", "expected"),
    [
        (None, None, "nl-NL", "en", "en"),  # booked in English, opened in a Dutch browser
        (None, None, "en-GB", "nl", "nl"),  # booked in Dutch: Dutch, whatever the browser says
        ("nl", None, "en-GB", "en", "nl"),  # the language switch wins
        (None, "nl", "en-GB", "en", "nl"),  # and so does the choice the cookie remembers
        (None, None, "en-GB", "xx", "en"),  # no usable default: the browser
    ],
)
def test_the_language_of_what_a_page_is_about_comes_before_the_browser(
    query: str | None, cookie: str | None, header: str | None, default: str | None, expected: str
) -> None:
    assert pick_locale(query, cookie, header, default) == expected
