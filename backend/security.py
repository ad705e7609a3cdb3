"""Security headers on every response (DESIGN.md section 6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import Message, Scope

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


EMAIL_FRAME_PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""A page that shows an email in a sandboxed ``srcdoc`` iframe (the development mailbox, the
service editor's preview): the iframe inherits this policy, so the email's inline styles may apply.
Scripts stay off twice: here and by the iframe's sandbox."""


def security_headers(*, hsts: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook: the headers on every HTTP answer of the app, the framework's own
    included (unknown route 404, 405, the CSRF 403, 429). A route middleware missed those: they
    are answered before any route's middleware runs, or by the exception handler outside it."""

    async def add_headers(message: Message, scope: Scope) -> None:
        if scope["type"] != ScopeType.HTTP or message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
        headers["x-content-type-options"] = "nosniff"
        headers["referrer-policy"] = "no-referrer"
        headers["x-frame-options"] = "DENY"
        headers["permissions-policy"] = "camera=(self), microphone=(self), display-capture=(self)"
        headers["cross-origin-opener-policy"] = "same-origin"
        if hsts:
            headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"

    return add_headers
