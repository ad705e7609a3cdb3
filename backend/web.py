"""Rendering pages: the template response with the visitor's language attached."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from backend.i18n import DEFAULT_LOCALE, LOCALES, pick_locale, translator

LANG_COOKIE = "lang"


def request_locale(request: Request[Any, Any, Any]) -> str:
    cached = request.scope.get("state", {}).get("locale")
    if isinstance(cached, str):
        return cached
    locale = pick_locale(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    request.scope.setdefault("state", {})["locale"] = locale
    return locale


def page(
    request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any
) -> Template:
    locale = request_locale(request)
    cookies = []
    chosen = request.query_params.get("lang")
    if chosen in LOCALES and chosen != request.cookies.get(LANG_COOKIE):
        cookies.append(Cookie(key=LANG_COOKIE, value=chosen, max_age=365 * 24 * 3600, samesite="lax"))
    return Template(
        template_name=template,
        context={"locale": locale, "_": translator(locale), **context},
        status_code=status_code,
        cookies=cookies,
    )


def see_other(path: str) -> Redirect:
    """The answer to a successful form POST (Post/Redirect/Get)."""
    return Redirect(path=path, status_code=303)


__all__ = ["DEFAULT_LOCALE", "page", "request_locale", "see_other"]
