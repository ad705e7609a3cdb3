"""Prometheus metrics: the instruments of this process, and one call per event that counts.

Every process has its own registry (:data:`REGISTRY`) and serves it itself: an app node at
``/metrics`` (:mod:`backend.metrics.endpoint`), ``balie worker`` on its status port
(:mod:`backend.worker_status`). Prometheus scrapes each of them on its own (an ``instance`` label
each), so nothing is shared between processes and prometheus_client's multiprocess mode is not
used: a node is one process (``balie run`` serves with one uvicorn process; its outbox worker,
housekeeping and purger are tasks of that process), and what is the same for every node (who waits,
the outbox) is read from the database at scrape time (:mod:`backend.metrics.scrape`), not counted.

Labels stay bounded: route templates (never a path with an id or a token in it), status classes,
socket kinds, team ids, reason codes written in the code. Nothing about a citizen.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final, Literal
from uuid import UUID

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    gc_collector,
    platform_collector,
    process_collector,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: Prometheus reads none
REGISTRY: Final = CollectorRegistry()
"""This process's instruments (plus the process, platform and garbage collector metrics)."""
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

HTTP_REQUESTS: Final = Counter(
    "balie_http_requests",
    "HTTP requests answered, by method, route template and status class",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION: Final = Histogram(
    "balie_http_request_duration_seconds",
    "Time from a request's arrival until its response was sent, by method and route template",
    ["method", "route"],
    registry=REGISTRY,
)

SocketKind = Literal["citizen", "desk", "call", "check"]
SOCKET_KINDS: Final[tuple[SocketKind, ...]] = ("citizen", "desk", "call", "check")
SOCKETS_OPEN: Final = Gauge(
    "balie_websockets_open",
    "Signalling sockets open on this node: citizen (waiting room and call), desk, call (the "
    "official's), check (the device check's echo)",
    ["kind"],
    registry=REGISTRY,
)
SOCKETS_ACCEPTED: Final = Counter(
    "balie_websocket_connections",
    "Signalling sockets accepted on this node, by kind",
    ["kind"],
    registry=REGISTRY,
)

ADMISSION_WAIT: Final = Histogram(
    "balie_admission_wait_seconds",
    "Time from entering the waiting room until the official admitted the participant, by team",
    ["team"],
    buckets=(5, 15, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600),
    registry=REGISTRY,
)

EmailOutcome = Literal["sent", "deferred", "failed"]
EMAIL_SENDS: Final = Counter(
    "balie_email_sends",
    "Outbox messages the worker of this process tried to send: sent, deferred (to be tried again) "
    "or failed (for good)",
    ["outcome"],
    registry=REGISTRY,
)

SignInOutcome = Literal["success", "failure"]
SIGN_INS: Final = Counter(
    "balie_sign_ins",
    "Officials' sign-ins, by outcome and reason (the audit trail's reason code; `none` for a success)",
    ["outcome", "reason"],
    registry=REGISTRY,
)

for _kind in SOCKET_KINDS:  # every series from the start, so a rate or a sum has something to show
    SOCKETS_OPEN.labels(_kind)
    SOCKETS_ACCEPTED.labels(_kind)
for _outcome in ("sent", "deferred", "failed"):
    EMAIL_SENDS.labels(_outcome)
SIGN_INS.labels("success", "none")

_REASON = re.compile(r"[a-z][a-z0-9_]{0,39}")


def email_outcome(outcome: EmailOutcome) -> None:
    """The outbox worker recorded the outcome of one message."""
    EMAIL_SENDS.labels(outcome).inc()


def sign_in(outcome: SignInOutcome, reason: str = "none") -> None:
    """An official's sign-in ended; ``reason`` is a code from the code (anything else counts as ``other``)."""
    SIGN_INS.labels(outcome, reason if _REASON.fullmatch(reason) else "other").inc()


def admitted(team_id: UUID, waited: Iterable[dt.timedelta]) -> None:
    """Participants of ``team_id``'s appointment were admitted after waiting this long each."""
    for wait in waited:
        ADMISSION_WAIT.labels(str(team_id)).observe(max(wait.total_seconds(), 0.0))


@contextmanager
def socket_open(kind: SocketKind) -> Iterator[None]:
    """An accepted signalling socket of ``kind``, until it is closed."""
    SOCKETS_ACCEPTED.labels(kind).inc()
    gauge = SOCKETS_OPEN.labels(kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
