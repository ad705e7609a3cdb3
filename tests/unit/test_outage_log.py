"""An outage is told once and then once a minute, for requests and for background loops alike;
a bug keeps its traceback."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from backend import errors
from backend.errors import OutageLog, background_failed


def test_an_outage_is_told_once_a_minute_with_what_was_refused_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    told: list[dict[str, object]] = []
    monkeypatch.setattr(errors.log, "warning", lambda what, **fields: told.append({"what": what, **fields}))
    now = [1000.0]
    monkeypatch.setattr(errors.time, "monotonic", lambda: now[0])
    outages = OutageLog(every_seconds=60)
    for _ in range(5):
        outages.refused("database unavailable", "/", "OSError")
    now[0] += 61
    outages.refused("database unavailable", "/", "OSError")
    assert [t["refused_since_last"] for t in told] == [0, 4]


def test_a_background_loop_tells_an_outage_quietly_and_a_bug_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    refused: list[str] = []
    monkeypatch.setattr(
        errors.outages, "refused", lambda what, where, error: refused.append(f"{what}@{where}")
    )
    logger = logging.getLogger("test.loop")
    tracebacks: list[str] = []
    monkeypatch.setattr(logger, "exception", lambda message, *args: tracebacks.append(message % args))
    background_failed("outbox run", ConnectionRefusedError(111, "refused"), logger)
    background_failed("outbox run", RedisConnectionError("gone"), logger)
    background_failed("outbox run", ValueError("a bug"), logger)
    assert refused == ["database unavailable@outbox run", "channels unavailable@outbox run"]
    assert tracebacks == ["outbox run failed"]
