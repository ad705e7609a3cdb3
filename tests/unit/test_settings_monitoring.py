"""BALIE_METRICS_TOKEN and the worker's status port (backend/settings/monitoring.py)."""

from __future__ import annotations

from backend.settings import Settings


def test_by_default_there_are_no_metrics_and_no_worker_port() -> None:
    monitoring = Settings.from_env({}).monitoring
    assert not monitoring.metrics_token
    assert (monitoring.worker_status_port, monitoring.worker_status_host) == (0, "127.0.0.1")


def test_the_token_is_a_secret_of_some_length() -> None:
    token = "scrape-" + "x" * 20
    settings = Settings.from_env({"BALIE_METRICS_TOKEN": token, "BALIE_WORKER_STATUS_PORT": "9101"})
    assert settings.monitoring.metrics_token.reveal() == token
    assert token not in repr(settings)
    assert settings.monitoring.worker_status_port == 9101
    _, problems = Settings.with_problems({"BALIE_METRICS_TOKEN": "kort"})
    assert problems == ["BALIE_METRICS_TOKEN must be at least 16 characters (or empty: no /metrics)"]
    _, problems = Settings.with_problems({"BALIE_WORKER_STATUS_PORT": "70000"})
    assert problems == ["BALIE_WORKER_STATUS_PORT must be a port number (0 turns it off), not 70000"]
