"""The CLI's start-up choices and the log output's hygiene."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import structlog

from backend.cli import main, served_at
from backend.logs import configure_logging
from backend.settings import Settings


def test_links_follow_the_port_unless_a_public_url_is_set(tmp_path: Path) -> None:
    plain = Settings.from_env({"BALIE_DATA_DIR": str(tmp_path)})
    assert served_at(plain, "127.0.0.1", 8001).public_url == "http://127.0.0.1:8001"
    assert served_at(plain, "0.0.0.0", 8002).public_url == "http://127.0.0.1:8002"
    public = Settings.from_env(
        {"BALIE_DATA_DIR": str(tmp_path), "BALIE_PUBLIC_URL": "https://balie.example.nl/"}
    )
    assert served_at(public, "0.0.0.0", 8001).public_url == "https://balie.example.nl"


def test_bad_settings_stop_the_cli_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BALIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BALIE_WORKER_POLL_SECONDS", "vaak")
    assert main(["migrate"]) == 2
    assert "BALIE_WORKER_POLL_SECONDS must be a number" in capsys.readouterr().err


def test_balie_run_in_production_names_every_setting_to_change_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("BALIE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BALIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BALIE_ENV", "production")
    monkeypatch.setenv("BALIE_SECRET_KEY", "short")
    monkeypatch.setenv("BALIE_DEV_IDP", "true")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    for named in (
        "BALIE_PUBLIC_URL is required",
        "BALIE_SECRET_KEY must be at least 32 bytes",
        "BALIE_IDENTITY_KEYS is required",
        "BALIE_DOCUMENTS_KEYS is required",
        "BALIE_DEV_IDP is on",
        "BALIE_CITIZEN_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET",
        "BALIE_OFFICIAL_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET",
    ):
        assert named in err, err
    assert err.startswith("balie: 7 setting(s) must change")


@pytest.mark.parametrize("json_lines", [False, True])
def test_tracebacks_carry_no_local_variables_and_personal_fields_are_dropped(
    json_lines: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=json_lines)
    try:
        email = "sanne@example.nl"
        raise RuntimeError("database went away")
    except RuntimeError:
        structlog.get_logger().exception("unhandled error", path="/api/v1/appointments", email=email)
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "database went away" in err and "/api/v1/appointments" in err
    assert "sanne@example.nl" not in err


def test_the_access_log_never_shows_a_token() -> None:
    import logging

    from backend.logs import RedactTokenPaths

    token = "lOW_HxqzJdkHaLSf47vNwuJ_RcNrJbvmfK4gU8HDKBE"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", f"/j/{token}/documenten/abc", "1.1", 200),
        None,
    )
    assert RedactTokenPaths().filter(record)
    assert record.getMessage() == '127.0.0.1:1 - "GET /j/[token]/documenten/abc HTTP/1.1" 200'
    manage = logging.LogRecord("x", logging.INFO, __file__, 1, f"GET /afspraak/{token}", None, None)
    RedactTokenPaths().filter(manage)
    assert token not in manage.getMessage() and "/afspraak/[token]" in manage.getMessage()


@pytest.mark.parametrize("json_lines", [False, True])
def test_an_error_on_a_link_page_logs_the_path_without_its_token(
    json_lines: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "lOW_HxqzJdkHaLSf47vNwuJ_RcNrJbvmfK4gU8HDKBE"
    configure_logging(json_lines=json_lines)
    try:
        structlog.get_logger().error("unhandled error", path=f"/j/{token}/wachtkamer")
        structlog.get_logger().error(f"while moving /afspraak/{token}")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert token not in err
    assert "/j/[token]/wachtkamer" in err and "/afspraak/[token]" in err
