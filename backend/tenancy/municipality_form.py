"""What a platform admin types to make a municipality, and a municipality admin to keep its profile.

A new municipality has a CBS code from the official list (:mod:`backend.tenancy.cbs`), a name, the
slug of its public page ``/{slug}``, a time zone, a phone number and the e-mail address of its first
admin. Its profile holds what citizens see on its pages and in its e-mails: name, phone number,
website, privacy statement, the sender name and the reply-to address of its e-mails, and optionally
its name in English (for pages and e-mails in English). Each form is
checked whole; every message is plain Dutch (``N_``) and nothing is stored unless all is right.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final
from urllib.parse import urlsplit

from backend.booking.agenda_form import Checker
from backend.booking.validation import email_error
from backend.db.models import Municipality
from backend.i18n import N_
from backend.tenancy import cbs
from backend.timefmt import LOCAL_TIMEZONE

RESERVED_SLUGS: Final = frozenset(
    {
        "afspraak",
        "afspraken",
        "api",
        "apparaattest",
        "balie",
        "betaling",
        "dev",
        "digid",
        "diensten",
        "docs",
        "favicon.ico",
        "g",
        "gesprek",
        "health",
        "healthz",
        "j",
        "livez",
        "metrics",
        "oidc",
        "ready",
        "readyz",
        "robots.txt",
        "schema",
        "static",
        "wachtkamer",
        "ws",
    }
)
"""First path segments the app's own routes use (tests/integration/test_municipalities.py checks
this against the route table): a municipality's page ``/{slug}`` may not shadow them."""
TIMEZONES: Final = (LOCAL_TIMEZONE,)
"""The zones offered: every Dutch municipality lies in Europe/Amsterdam (docs/adr/0008)."""
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
PHONE = re.compile(r"140\d{2,3}|0\d{9}|\+31\d{9}")
"""A municipality's 14-number (14 + its area code, ``14 010``), or a Dutch number of ten digits."""


@dataclass(frozen=True)
class Profile:
    name: str
    phone: str
    website: str
    privacy_url: str
    email_sender_name: str
    reply_to: str
    name_en: str = ""
    """The name in English; empty: the Dutch name (stored in ``translations``, not a column)."""

    def changes(self, municipality: Municipality) -> dict[str, tuple[str, str]]:
        """Field -> (stored, typed) for every field that differs."""
        return {
            f.name: (stored_value(municipality, f.name), getattr(self, f.name))
            for f in fields(self)
            if stored_value(municipality, f.name) != getattr(self, f.name)
        }

    def apply(self, municipality: Municipality) -> None:
        for f in fields(self):
            if f.name != "name_en":
                setattr(municipality, f.name, getattr(self, f.name))
        translations = {lang: dict(texts) for lang, texts in (municipality.translations or {}).items()}
        english = translations.setdefault("en", {})
        if self.name_en:
            english["name"] = self.name_en
        else:
            english.pop("name", None)
        municipality.translations = {lang: texts for lang, texts in translations.items() if texts}


def stored_value(municipality: Municipality, field: str) -> str:
    """What the municipality holds for a profile field: a column, or ``name_en`` in ``translations``."""
    if field == "name_en":
        value = (municipality.translations or {}).get("en", {}).get("name", "")
        return value if isinstance(value, str) else ""
    return str(getattr(municipality, field))


@dataclass(frozen=True)
class NewMunicipality:
    cbs_code: str
    slug: str
    timezone: str
    profile: Profile
    admin_email: str


def slug_of(name: str) -> str:
    """``Súdwest-Fryslân`` -> ``sudwest-fryslan``; ``'s-Hertogenbosch`` -> ``s-hertogenbosch``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60]


def _line(check: Checker, name: str, limit: int) -> str:
    text = " ".join(check.text(name).split())
    if len(text) > limit:
        check.fail(name, N_("Dit is te lang (hoogstens {limit} tekens)."), limit=limit)
    return text


def _address(check: Checker, name: str) -> str:
    """An https address of a web page, or empty."""
    raw = check.text(name).strip()
    if not raw:
        return ""
    if "://" not in raw:
        raw = f"https://{raw}"
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if (
        len(raw) > 300
        or parts.scheme != "https"
        or "." not in host
        or parts.username
        or parts.password
        or any(c.isspace() for c in raw)
    ):
        check.fail(name, N_("Vul een webadres in dat begint met https://, zoals https://www.gemeente.nl."))
    return raw


def _phone(check: Checker) -> str:
    raw = " ".join(check.text("phone").split())
    if not raw:
        check.fail("phone", N_("Vul het telefoonnummer van de gemeente in, zoals 14 010."))
    elif not PHONE.fullmatch(re.sub(r"[ -]", "", raw)):
        check.fail(
            "phone",
            N_("Dit telefoonnummer klopt niet. Vul het 14-nummer in (zoals 14 010) of 10 cijfers."),
        )
    return raw


def _profile(check: Checker) -> Profile:
    name = _line(check, "name", 120)
    if not name:
        check.fail("name", N_("Vul de naam van de gemeente in, zoals Gemeente Schiedam."))
    sender = _line(check, "email_sender_name", 120)
    if any(c in sender for c in '<>@"'):
        check.fail(
            "email_sender_name", N_("Gebruik geen @, < > of aanhalingstekens in de naam van de afzender.")
        )
    reply_to = check.text("reply_to").strip().lower()
    if reply_to and (error := email_error(reply_to)):
        check.fail("reply_to", error)
    return Profile(
        name=name,
        phone=_phone(check),
        website=_address(check, "website"),
        privacy_url=_address(check, "privacy_url"),
        email_sender_name=sender,
        reply_to=reply_to,
        name_en=_line(check, "name_en", 120),
    )


def profile(data: Mapping[str, str]) -> Profile:
    """The profile as typed; :class:`~backend.booking.agenda_form.FormErrors` otherwise."""
    check = Checker(data)
    result = _profile(check)
    check.done()
    return result


def new_municipality(data: Mapping[str, str]) -> NewMunicipality:
    """A new municipality as the platform admin typed it; ``FormErrors`` otherwise. That its CBS
    code and slug are not taken yet, the caller checks against the database."""
    check = Checker(data)
    code = cbs.normalise(check.text("cbs_code"))
    official_name = cbs.name_of(code) if code else None
    if not check.text("cbs_code").strip():
        check.fail("cbs_code", N_("Vul de CBS-code van de gemeente in, zoals 0599."))
    elif code is None:
        check.fail("cbs_code", N_("Een CBS-code bestaat uit 4 cijfers, zoals 0599."))
    elif official_name is None:
        check.fail(
            "cbs_code",
            N_("Er is geen gemeente met CBS-code {code} (lijst van het CBS van {date})."),
            code=code,
            date=cbs.REFERENCE_DATE.strftime("%d-%m-%Y"),
        )
    if not check.text("name").strip() and official_name:
        data = {**data, "name": f"Gemeente {official_name}"}
        check.data = data
    if not check.text("slug").strip() and official_name:
        data = {**data, "slug": slug_of(official_name)}
        check.data = data
    slug = check.text("slug").strip().lower()
    if not slug:
        check.fail("slug", N_("Vul het webadres van de gemeente in, zoals schiedam."))
    elif not SLUG.fullmatch(slug) or len(slug) > 60:
        check.fail("slug", N_("Gebruik alleen kleine letters, cijfers en streepjes, zoals den-haag."))
    elif slug in RESERVED_SLUGS:
        check.fail("slug", N_("Dit webadres gebruikt de Digitale Balie zelf. Kies een ander."))
    timezone = check.text("timezone") or LOCAL_TIMEZONE
    if timezone not in TIMEZONES or timezone not in zoneinfo.available_timezones():
        check.fail("timezone", N_("Kies een van de mogelijkheden."))
    result = _profile(check)
    admin_email = check.text("admin_email").strip().lower()
    if not admin_email:
        check.fail("admin_email", N_("Vul het e-mailadres in van wie de gemeente gaat beheren."))
    elif error := email_error(admin_email):
        check.fail("admin_email", error)
    check.done()
    return NewMunicipality(
        cbs_code=code or "", slug=slug, timezone=timezone, profile=result, admin_email=admin_email
    )
