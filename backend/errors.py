"""Every failure answers clearly: a JSON problem body on the API, a page in the visitor's language
elsewhere."""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from backend.i18n import N_, Translate, translator
from backend.invalid_input import INVALID_DETAIL, INVALID_TITLE, field_errors
from backend.web import page, request_locale

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
_API_TEXT = {
    400: (N_("Ongeldig verzoek"), N_("Dit verzoek kunnen we niet lezen.")),
    404: (N_("Niet gevonden"), N_("Dit adres bestaat niet in de API.")),
    405: (_PAGE_TEXT[405][0], N_("Deze methode kan niet op dit adres; de header Allow noemt wat wel kan.")),
    413: (_PAGE_TEXT[413][0], N_("De inhoud is groter dan wij aannemen.")),
}
"""The API's own words where a page's would not fit; other statuses use the page's."""
_NOT_JSON = N_("De inhoud is geen geldige JSON.")
_API_BUSY = (N_("Even te druk"), N_("Probeer het over een minuut opnieuw."))
_API_UNAVAILABLE = (N_("Tijdelijk niet beschikbaar"), N_("Er is niets opgeslagen. Probeer het zo opnieuw."))
_API_FAILED = (N_("Interne fout"), N_("Probeer het later opnieuw."))

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


def invalid(_: Translate, *errors: tuple[str, str]) -> Response[dict[str, Any]]:
    """422 on the API, naming each wrong field: (its name as sent, why in the request's language)."""
    fields = [{"field": field, "message": message} for field, message in errors]
    return problem(422, _(INVALID_TITLE), _(INVALID_DETAIL), errors=fields)


def api_translator(request: Request[Any, Any, Any]) -> Translate:
    """The request's language on the API: ``?lang=``, else ``Accept-Language``; Dutch by default."""
    return translator(request_locale(request))


def _wire_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The handler's arguments that are query parameters or headers, by the name a client uses."""
    handler = request.scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    names = {}
    for name, field in (signature.parameters if signature else {}).items():
        kwarg = field.kwarg_definition
        if wire := getattr(kwarg, "query", None) or getattr(kwarg, "header", None):
            names[name] = str(wire)
    return names


def _api_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    _ = api_translator(request)
    if isinstance(exc, ValidationException):
        errors = field_errors(exc.extra, _wire_names(request), _)
        return invalid(_, *((e["field"], e["message"]) for e in errors))
    status = exc.status_code
    title, default = _API_TEXT.get(status) or _PAGE_TEXT.get(status, (N_("Fout"), ""))
    if isinstance(exc.__cause__, SerializationException):
        detail = _NOT_JSON
    elif status == 400 or exc.detail in {s.phrase for s in HTTPStatus if s == status}:  # the framework's
        detail = default
    else:
        detail = exc.detail
    return problem(status, _(title), _(detail) if detail else "")


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
    if is_api(request):
        return _api_problem(request, exc)
    if request.headers.get("accept", "").startswith("application/json"):
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
        _ = api_translator(request)
        response = problem(503, _(api_text[0]), _(api_text[1]))
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
            _API_UNAVAILABLE,
        )
    if is_busy(exc):
        log.warning("database busy", path=request.url.path, error=type(exc).__name__)
        return _try_again_later(
            request,
            BUSY_RETRY_SECONDS,
            _PAGE_TEXT[503],
            _API_BUSY,
        )
    if is_unavailable(exc):
        outages.refused("database unavailable", request.url.path, type(exc).__name__)
        return _try_again_later(
            request,
            UNAVAILABLE_RETRY_SECONDS,
            _UNAVAILABLE_TEXT,
            _API_UNAVAILABLE,
        )
    log.exception("unhandled error", path=request.url.path, error=type(exc).__name__)
    if is_api(request):
        _ = api_translator(request)
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, _(_API_FAILED[0]), _(_API_FAILED[1]))
    title, message = _PAGE_TEXT[500]
    return page(request, "pages/error.html", status_code=500, title=title, message=message)


exception_handlers: dict[Any, Any] = {
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}

__all__ = ["MediaType", "exception_handlers", "problem"]
