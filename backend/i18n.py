"""Dutch first, English available.

Templates and code write the Dutch text and wrap it in ``_()``; Python code that only names a text
for a page to show later marks it with :func:`N_`. ``web/locales/en.json`` maps each Dutch text to
its English text; a missing entry falls back to Dutch, and ``tests/unit/test_i18n.py`` (Babel's
extractor over templates and code) fails on every gap.

Which language a page is in, one rule for every page (:func:`pick_locale`):

1. an explicit choice: ``?lang=`` on this request (the language switch), then the ``lang`` cookie
   that remembers the last such choice on this browser;
2. the language of what the page is about, if it has one: the join, waiting-room and call pages of
   an appointment (and its documents) use the language the appointment was booked in
   (``appointment.locale``, as its emails do), set per request with
   :func:`backend.web.default_locale_for`;
3. the browser's ``Accept-Language``;
4. Dutch.

So a citizen who booked in English gets English from the link in their email on any device,
whatever the browser says, and can still switch to Dutch (which the cookie then remembers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache

from backend.settings import WEB_DIR

LOCALES = ("nl", "en")
DEFAULT_LOCALE = "nl"
Translate = Callable[..., str]


@cache
def catalog(locale: str) -> Mapping[str, str]:
    if locale == DEFAULT_LOCALE:
        return {}
    path = WEB_DIR / "locales" / f"{locale}.json"
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is shown (templates call ``_()`` on it)."""
    return text


def translator(locale: str) -> Translate:
    messages = catalog(locale if locale in LOCALES else DEFAULT_LOCALE)

    def _(text: str, **values: object) -> str:
        result = messages.get(text, text)
        return result.format(**values) if values else result

    return _


def pick_locale(
    query: str | None, cookie: str | None, accept_language: str | None, default: str | None = None
) -> str:
    """An explicit choice (``?lang=``), then the cookie, then the page's own ``default`` (the
    booking's language), then the browser; Dutch when in doubt (the rule in this module's text)."""
    for choice in (query, cookie, default):
        if choice in LOCALES:
            return choice
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().lower()[:2]
            if tag == "nl":
                return "nl"
            if tag == "en":
                return "en"
    return DEFAULT_LOCALE
