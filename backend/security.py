"""Security headers on every response (DESIGN.md section 6)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


def security_headers_middleware(*, hsts: bool) -> type:
    class SecurityHeaders:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await self.app(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableScopeHeaders.from_message(message)
                    headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
                    headers["x-content-type-options"] = "nosniff"
                    headers["referrer-policy"] = "no-referrer"
                    headers["x-frame-options"] = "DENY"
                    headers["permissions-policy"] = "camera=(self), microphone=(self), display-capture=(self)"
                    headers["cross-origin-opener-policy"] = "same-origin"
                    if hsts:
                        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
                await send(message)

            await self.app(scope, receive, send_with_headers)

    return SecurityHeaders
