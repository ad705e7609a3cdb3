"""Monitoring: who may read the Prometheus metrics, and where ``balie worker`` tells how it is
(docs/operations.md, "Monitoring")."""

from __future__ import annotations

from dataclasses import dataclass

from backend.settings.fields import Reading, Secret, SettingsError, setting

METRICS_TOKEN_MIN_LENGTH = 16


def _long_enough(token: Secret, name: str, _reading: Reading) -> None:
    if token and len(token.reveal()) < METRICS_TOKEN_MIN_LENGTH:
        raise SettingsError(
            f"{name} must be at least {METRICS_TOKEN_MIN_LENGTH} characters (or empty: no /metrics)"
        )


def _a_port(port: int, name: str, _reading: Reading) -> None:
    if not 0 <= port <= 65535:
        raise SettingsError(f"{name} must be a port number (0 turns it off), not {port}")


@dataclass(frozen=True)
class MonitoringSettings:
    metrics_token: Secret = setting(
        "METRICS_TOKEN",
        Secret(""),
        check=_long_enough,
        doc="`/metrics` (Prometheus) answers only requests with `Authorization: Bearer <this token>`; "
        "empty: `/metrics` answers 404; at least 16 characters",
    )
    worker_status_port: int = setting(
        "WORKER_STATUS_PORT",
        0,
        check=_a_port,
        doc="`balie worker` answers `/healthz` (its loops run and the database answers) and `/metrics` "
        "on this port; `0`: no port",
    )
    worker_status_host: str = setting(
        "WORKER_STATUS_HOST",
        "127.0.0.1",
        doc="... on this address (`0.0.0.0` where Prometheus scrapes it from another container)",
    )
