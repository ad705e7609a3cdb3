"""Rendering pages: the template response with the visitor's language attached."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from litestar import Request
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.enums import HttpMethod
from litestar.response import Redirect, Template

from backend.db.models import Appointment, Municipality, Participant, Service
from backend.i18n import DEFAULT_LOCALE, LOCALES, pick_locale, translator
from backend.localized import localized

LANG_COOKIE = "lang"
NO_STORE = CacheControlHeader(no_store=True)
"""For pages reached by a token or showing personal data: no browser or proxy keeps a copy."""
LINK_METHODS: Final = [HttpMethod.GET, HttpMethod.HEAD]
"""The links in emails (join, manage): a link checker's HEAD answers like GET, changes nothing."""


def request_locale(request: Request[Any, Any, Any]) -> str:
    """The language of this request's page (the rule in :mod:`backend.i18n`)."""
    state = request.scope.setdefault("state", {})
    cached = state.get("locale")
    if isinstance(cached, str):
        return cached
    default = state.get("locale_default")
    locale = pick_locale(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
        default if isinstance(default, str) else None,
    )
    state["locale"] = locale
    return locale


def default_locale_for(request: Request[Any, Any, Any], locale: str | None) -> None:
    """This request is about something with a language of its own (an appointment: the language it
    was booked in): ``locale`` comes before the browser's, after an explicit choice."""
    state = request.scope.setdefault("state", {})
    state["locale_default"] = locale if locale in LOCALES else None
    state.pop("locale", None)  # picked before the default was known: pick again


def language_links(request: Request[Any, Any, Any], here: str | None = None) -> dict[str, str]:
    """Links to this page in each language, keeping its query (``here``: for a page shown after a POST)."""
    if here is None:
        path, pairs = request.url.path, list(request.query_params.multi_items())
    else:
        path, _, query = here.partition("?")
        pairs = parse_qsl(query)
    kept = [(key, value) for key, value in pairs if key != "lang"]
    return {code: f"{path}?{urlencode([*kept, ('lang', code)])}" for code in LOCALES}


def municipality_in(context: dict[str, Any]) -> Municipality | None:
    """The municipality a citizen page is about: named, or that of its service or appointment."""
    named = context.get("municipality")
    if isinstance(named, Municipality):
        return named
    for key in ("appointment", "service", "participant"):
        item = context.get(key)
        if isinstance(item, Participant):
            item = item.appointment
        if isinstance(item, Appointment | Service):
            return item.team.municipality
    return None


def brand_of(municipality: Municipality | None, locale: str = DEFAULT_LOCALE) -> dict[str, Any] | None:
    """What base.html shows of a municipality: its name (in ``locale``) linking to its page, its
    logo, its stylesheet of design tokens, and its phone number, website and privacy statement below."""
    if municipality is None:
        return None
    version = municipality.brand_version
    return {
        "name": localized(municipality, "name", locale),
        "href": f"/{municipality.slug}",
        "phone": municipality.phone,
        "website": municipality.website,
        "privacy_url": municipality.privacy_url,
        "logo_url": f"/{municipality.slug}/logo?v={version}" if municipality.logo_type else None,
        "css_url": f"/{municipality.slug}/huisstijl.css?v={version}" if municipality.brand_tokens else None,
    }


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status_code: int = 200,
    here: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """Render ``template`` in the visitor's language. ``here`` is the GET address of a page shown
    in answer to a POST, so the language switch leads back to the same page."""
    locale = request_locale(request)
    cookies = []
    chosen = request.query_params.get("lang")
    if chosen in LOCALES and chosen != request.cookies.get(LANG_COOKIE):
        cookies.append(Cookie(key=LANG_COOKIE, value=chosen, max_age=365 * 24 * 3600, samesite="lax"))
    if "brand" not in context:  # citizen pages carry their municipality's branding; staff pages not
        staff_page = request.url.path.startswith(("/balie", "/dev")) or template.startswith("pages/desk/")
        context["brand"] = None if staff_page else brand_of(municipality_in(context), locale)
    return Template(
        template_name=template,
        context={
            "locale": locale,
            "_": translator(locale),
            "language_links": language_links(request, here),
            "text_of": lambda item, field: localized(item, field, locale),
            **context,
        },
        status_code=status_code,
        cookies=cookies,
        headers=headers,
    )


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """A desk page's script asked (``Accept: application/json``); a plain form post gets a page."""
    return "application/json" in request.headers.get("accept", "")


def see_other(path: str) -> Redirect:
    """The answer to a successful form POST (Post/Redirect/Get)."""
    return Redirect(path=path, status_code=303)


__all__ = ["DEFAULT_LOCALE", "default_locale_for", "page", "request_locale", "see_other", "wants_json"]
