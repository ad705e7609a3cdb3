"""Logging: structured, and with no personal data in it.

Tracebacks are printed without local variables (a booking handler's locals hold names, email
addresses and tokens), and fields that could carry personal data are dropped before rendering.
Development gets readable console lines, production one JSON object per line.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Final

import structlog
import structlog.tracebacks
from structlog.dev import plain_traceback

PERSONAL_FIELDS: Final = frozenset(
    {"name", "email", "citizen", "bsn", "token", "join_token", "manage_token", "sdp", "candidate", "text"}
)


def drop_personal_fields(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in PERSONAL_FIELDS.intersection(event):
        event[key] = "[weggelaten]"
    return event


_TOKEN_PATH: Final = re.compile(r"/(j|afspraak)/[A-Za-z0-9_-]{20,}")


def redact_token_paths(text: str) -> str:
    """``/j/<token>/documenten`` becomes ``/j/[token]/documenten``: a link's token is its key."""
    return _TOKEN_PATH.sub(r"/\1/[token]", text)


def redact_token_values(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The structlog side of :class:`RedactTokenPaths`: any text field (a path, an event) loses
    the tokens of join and manage links."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact_token_paths(value)
    return event


class RedactTokenPaths(logging.Filter):
    """Join and manage links carry their token in the path (as the emails do); the access log
    writes paths, so the token is replaced before the line is written: ``/j/[token]/documenten``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_token_paths(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = redact_token_paths(record.msg)
        return True


def configure_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    """Set up structlog and the standard library's root logger once per process."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(exception_formatter=plain_traceback, colors=False)
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_personal_fields,
        redact_token_values,
    ]
    if json_lines:
        without_locals = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        processors.append(structlog.processors.ExceptionRenderer(without_locals))
    processors.append(renderer)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # uvicorn's dictConfig replaces handlers but keeps logger filters, so this survives `balie run`.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokenPaths) for f in access.filters):
        access.addFilter(RedactTokenPaths())
