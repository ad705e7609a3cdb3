"""HTTP requests and their latency, by route template and status class.

:func:`count_requests` wraps the app's whole ASGI handler (outside Litestar's exception handling),
so every answer counts with the status it really went out with: a 503 made of a database error, a
404 of the router. The route is the template Litestar matched (``/j/{token}``), never the path;
a request no route matched is ``unmatched``. WebSockets are counted by kind elsewhere
(:func:`backend.metrics.socket_open`).
"""

from __future__ import annotations

import time
from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.metrics import HTTP_DURATION, HTTP_REQUESTS

METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED: Final = "unmatched"


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def count_requests(app: ASGIApp) -> ASGIApp:
    """``app`` (Litestar's ``asgi_handler``), counting and timing every HTTP request."""

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before it answered

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            asked = scope.get("method", "")
            method = asked if asked in METHODS else "other"
            route = scope.get("path_template") or UNMATCHED
            HTTP_REQUESTS.labels(method, route, status_class(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)

    return counted
