"""Every failure answers clearly: a JSON problem body on the API, a page in the visitor's language
elsewhere."""

from __future__ import annotations

import time
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from backend.i18n import N_
from backend.web import page

log = structlog.get_logger()

PROBLEM_JSON = "application/problem+json"

_PAGE_TEXT = {
    400: (N_("Dat ging niet goed"), N_("Uw verzoek klopt niet. Ga terug en probeer het opnieuw.")),
    403: (
        N_("Geen toegang"),
        N_("U heeft geen toegang tot deze pagina. Vernieuw de pagina en probeer het opnieuw."),
    ),
    404: (N_("Pagina niet gevonden"), N_("Deze pagina bestaat niet (meer). Controleer het adres.")),
    405: (N_("Dat kan hier niet"), N_("Deze actie is op deze pagina niet mogelijk.")),
    413: (
        N_("Dit is te groot"),
        N_("Wat u stuurde, is groter dan wij aannemen. Ga terug en kies een kleiner bestand."),
    ),
    429: (
        N_("Even wachten"),
        N_("U heeft te veel verzoeken gedaan. Wacht een minuut en probeer het opnieuw."),
    ),
    500: (N_("Er ging iets mis"), N_("Er ging bij ons iets mis. Probeer het over een paar minuten opnieuw.")),
    503: (
        N_("Het is even erg druk"),
        N_("Er is nu veel tegelijk te doen. Probeer het over een minuut opnieuw."),
    ),
}
_UNAVAILABLE_TEXT = (
    N_("Het lukt nu even niet"),
    N_(
        "Er is bij ons een storing. Wat u net deed, is niet opgeslagen. "
        "Probeer het over een paar minuten opnieuw."
    ),
)

BUSY_RETRY_SECONDS = 30
UNAVAILABLE_RETRY_SECONDS = 10
RATE_LIMIT_RETRY_SECONDS = 60
_CONNECTION_SQLSTATES = ("08", "57P")
"""SQLSTATE classes of a lost or refused connection: connection exception, operator intervention
(the server shuts down, restarts, or cannot take connections yet)."""


def is_busy(exc: Exception) -> bool:
    """The database could not be had in time (the connection queue, or a lock held elsewhere):
    nothing was changed, and trying again shortly will work."""
    if isinstance(exc, SQLAlchemyTimeoutError):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached (stopped, restarting, the network gone): nothing was changed,
    and nothing this node does will help until it is back. Not a bug, so no traceback."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return True
        exc = exc.orig or exc
    if isinstance(exc, OSError):  # asyncpg's connect: refused, reset, timed out
        return True
    return str(getattr(exc, "sqlstate", "") or "").startswith(_CONNECTION_SQLSTATES)


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return [
        {"field": item.get("key", ""), "message": item.get("message", "")}
        for item in extra
        if isinstance(item, dict)
    ]


def _headers_of(exc: HTTPException) -> dict[str, str]:
    """The exception's own headers (the rate limit's ``RateLimit-*``, ``Allow`` on 405), and for a
    429 a ``Retry-After``: when the window resets, else a minute."""
    headers = {str(k): str(v) for k, v in (exc.headers or {}).items()}
    if exc.status_code == 429 and not any(k.lower() == "retry-after" for k in headers):
        reset = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), "")
        seconds = int(reset) if reset.isdigit() and int(reset) > 0 else RATE_LIMIT_RETRY_SECONDS
        headers["Retry-After"] = str(seconds)
    return headers


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    response = _answer_http_exception(request, exc)
    response.headers.update(_headers_of(exc))
    return response


def _answer_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException) and is_api(request):
        return problem(422, "Ongeldige invoer", exc.detail, errors=_validation_errors(exc))
    if is_api(request) or request.headers.get("accept", "").startswith("application/json"):
        return problem(status, _PAGE_TEXT.get(status, ("Fout", ""))[0], exc.detail)
    if isinstance(exc, NotAuthorizedException):
        return page(
            request, "pages/error.html", status_code=403, title=_PAGE_TEXT[403][0], message=_PAGE_TEXT[403][1]
        )
    title, message = _PAGE_TEXT.get(status, _PAGE_TEXT[400] if status < 500 else _PAGE_TEXT[500])
    return page(request, "pages/error.html", status_code=status, title=title, message=message)


def _try_again_later(
    request: Request[Any, Any, Any],
    seconds: int,
    page_text: tuple[str, str],
    api_text: tuple[str, str],
) -> Response[Any] | Template:
    """503 with ``Retry-After``: nothing was changed, and trying again later will work."""
    retry = {"Retry-After": str(seconds)}
    if is_api(request):
        response = problem(503, *api_text)
        response.headers.update(retry)
        return response
    title, message = page_text
    return page(request, "pages/error.html", status_code=503, headers=retry, title=title, message=message)


def is_channels_unavailable(exc: BaseException) -> bool:
    """Redis (live events, sessions) cannot be reached: nothing was changed, try again later."""
    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


class OutageLog:
    """One log line when a dependency stops answering, then one a minute while it stays away
    (with how many requests were refused meanwhile), not a line per request."""

    def __init__(self, every_seconds: float = 60.0) -> None:
        self.every = every_seconds
        self.last: dict[str, float] = {}
        self.quiet: dict[str, int] = {}

    def refused(self, what: str, path: str, error: str) -> None:
        now = time.monotonic()
        if now - self.last.get(what, -self.every) < self.every:
            self.quiet[what] = self.quiet.get(what, 0) + 1
            return
        log.warning(what, path=path, error=error, refused_since_last=self.quiet.pop(what, 0))
        self.last[what] = now


outages = OutageLog()


def background_failed(loop: str, exc: Exception, logger: Any) -> None:
    """A background loop's round failed: an outage of the database or Redis is told once (then
    once a minute), as for requests; anything else is a bug and gets its traceback."""
    if is_unavailable(exc):
        outages.refused("database unavailable", loop, type(exc).__name__)
    elif is_channels_unavailable(exc):
        outages.refused("channels unavailable", loop, type(exc).__name__)
    else:
        logger.exception("%s failed", loop)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any] | Template:
    if is_channels_unavailable(exc):
        outages.refused("channels unavailable", request.url.path, type(exc).__name__)
        return _try_again_later(
            request,
            UNAVAILABLE_RETRY_SECONDS,
            _UNAVAILABLE_TEXT,
            ("Tijdelijk niet beschikbaar", "Er is niets opgeslagen. Probeer het zo opnieuw."),
        )
    if is_busy(exc):
        log.warning("database busy", path=request.url.path, error=type(exc).__name__)
        return _try_again_later(
            request,
            BUSY_RETRY_SECONDS,
            _PAGE_TEXT[503],
            ("Even te druk", "Probeer het over een minuut opnieuw."),
        )
    if is_unavailable(exc):
        outages.refused("database unavailable", request.url.path, type(exc).__name__)
        return _try_again_later(
            request,
            UNAVAILABLE_RETRY_SECONDS,
            _UNAVAILABLE_TEXT,
            ("Tijdelijk niet beschikbaar", "Er is niets opgeslagen. Probeer het zo opnieuw."),
        )
    log.exception("unhandled error", path=request.url.path, error=type(exc).__name__)
    if is_api(request):
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Interne fout", "Probeer het later opnieuw.")
    title, message = _PAGE_TEXT[500]
    return page(request, "pages/error.html", status_code=500, title=title, message=message)


exception_handlers: dict[Any, Any] = {
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}

__all__ = ["MediaType", "exception_handlers", "problem"]
