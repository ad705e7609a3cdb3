"""A database that cannot be had in time is a clear 503 with Retry-After, never a 500."""

from __future__ import annotations

import sqlite3

import pytest
from litestar import Litestar, get
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.testing import TestClient
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.errors import exception_handlers, is_unavailable
from backend.settings import WEB_DIR


def failing(exc: Exception) -> Litestar:
    @get("/api/v1/boom", sync_to_thread=False)
    def api_boom() -> None:
        raise exc

    @get("/boom", sync_to_thread=False)
    def page_boom() -> None:
        raise exc

    return Litestar(
        [api_boom, page_boom],
        exception_handlers=exception_handlers,
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        csrf_config=CSRFConfig(secret="x" * 32),
    )


@pytest.mark.parametrize(
    "exc",
    [
        PoolTimeout("QueuePool limit of size 1 overflow 0 reached"),
        OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")),
    ],
)
def test_a_busy_database_answers_503_in_both_forms(exc: Exception) -> None:
    with TestClient(failing(exc)) as client:
        api = client.get("/api/v1/boom")
        assert api.status_code == 503 and api.headers["retry-after"] == "30"
        assert api.headers["content-type"].startswith("application/problem+json")
        html = client.get("/boom")
        assert html.status_code == 503 and html.headers["retry-after"] == "30"
        assert "Het is even erg druk" in html.text


def test_other_failures_stay_500() -> None:
    with TestClient(failing(RuntimeError("kapot"))) as client:
        assert client.get("/api/v1/boom").status_code == 500


class _LostConnection(Exception):
    sqlstate = "57P01"  # admin_shutdown: the server is going down


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), True),
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("unable to open database file")), True),
        (DBAPIError("SELECT 1", {}, _LostConnection("terminating"), connection_invalidated=True), True),
        (DBAPIError("SELECT 1", {}, _LostConnection("terminating connection")), True),
        (_LostConnection("cannot connect now"), True),
        (DBAPIError("SELECT 1", {}, ValueError("invalid input syntax")), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_counts_as_the_database_being_away(exc: Exception, unavailable: bool) -> None:
    assert is_unavailable(exc) is unavailable


def test_an_unreachable_database_is_a_503_with_retry_after_not_a_500() -> None:
    with TestClient(failing(ConnectionRefusedError(111, "Connect call failed"))) as client:
        api = client.get("/api/v1/boom")
        assert api.status_code == 503 and int(api.headers["retry-after"]) > 0
        assert api.headers["content-type"].startswith("application/problem+json")
        page = client.get("/boom")
        assert page.status_code == 503 and "Er is bij ons een storing" in page.text
