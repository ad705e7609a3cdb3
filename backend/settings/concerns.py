"""One frozen dataclass per concern; each ``BALIE_*`` variable is one :func:`setting` field.

A field without :func:`setting` is not configurable from the environment (a tuning constant that
tests may still override). Identity and documents have modules of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from backend.settings.fields import IN_DEVELOPMENT, Reading, Secret, SettingsError, in_development, setting
from backend.settings.parsers import comma_list, ice_servers, turn_urls

ChannelsBackend = Literal["memory", "redis", "postgres"]
SessionStoreKind = Literal["database", "redis"]
DEFAULT_DATA_DIR = Path(".balie")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'balie.db'}"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting(
        "DATABASE_URL",
        sqlite_url(DEFAULT_DATA_DIR),
        derive=lambda reading: sqlite_url(reading["BALIE_DATA_DIR"]),
        shown="`sqlite+aiosqlite:///<data dir>/balie.db`",
        doc="SQLAlchemy URL; `postgresql+asyncpg://user@host/db` switches to PostgreSQL",
    )
    echo: bool = setting("DATABASE_ECHO", False, doc="log every SQL statement")
    pool_size: int = setting(
        "DATABASE_POOL_SIZE",
        10,
        doc="PostgreSQL connections each process keeps, and as many again at peaks (SQLite: one, in turn)",
    )

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


@dataclass(frozen=True)
class ChannelsSettings:
    backend: ChannelsBackend = setting(
        "CHANNELS", "memory", doc="live events between app nodes: `memory` (one node), `redis` or `postgres`"
    )
    redis_url: str = setting(
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
        doc="for `BALIE_CHANNELS=redis` and `BALIE_SESSION_STORE=redis`",
    )
    postgres_dsn: str = setting(
        "CHANNELS_POSTGRES_DSN",
        "",
        shown="derived from the database URL",
        doc="libpq DSN for LISTEN/NOTIFY with `BALIE_CHANNELS=postgres`",
    )


@dataclass(frozen=True)
class EmailSettings:
    smtp_host: str = setting("SMTP_HOST", "127.0.0.1", doc="where email goes")
    smtp_port: int = setting("SMTP_PORT", 8025, doc="its port (the development mailbox listens there)")
    smtp_username: str = setting("SMTP_USERNAME", "", doc="SMTP authentication: user name")
    smtp_password: Secret = setting("SMTP_PASSWORD", Secret(""), doc="... and password")
    smtp_starttls: bool = setting("SMTP_STARTTLS", False, doc="switch the SMTP connection to TLS (STARTTLS)")
    sender: str = setting(
        "EMAIL_FROM", "Digitale Balie <noreply@digitale-balie.localhost>", doc="sender of every email"
    )
    dev_sink: bool = setting(
        "DEV_MAILBOX",
        True,
        derive=in_development,
        shown=IN_DEVELOPMENT,
        doc="start a local SMTP sink on the SMTP port, with a web mailbox at `/dev/mailbox` "
        "(development only)",
    )
    local_hostname: str = "balie.localhost"


@dataclass(frozen=True)
class WorkerSettings:
    in_process: bool = setting(
        "WORKER_IN_PROCESS",
        True,
        doc="run the outbox worker inside the web process; `false` when `balie worker` runs separately",
    )
    poll_seconds: float = setting("WORKER_POLL_SECONDS", 2.0, doc="how often the worker looks for due email")
    max_attempts: int = 8
    batch_size: int = 20
    housekeeping_seconds: float = setting(
        "HOUSEKEEPING_SECONDS",
        60.0,
        doc="how often the worker marks appointments nobody came to as no-show",
    )


@dataclass(frozen=True)
class JoinSettings:
    opens_minutes_before: int = setting(
        "JOIN_OPENS_MINUTES_BEFORE", 30, doc="join links work from this long before the start"
    )
    grace_minutes_after: int = setting(
        "JOIN_GRACE_MINUTES_AFTER",
        30,
        doc="... until this long after the planned end (coming late still works)",
    )
    close_after_minutes: int = setting(
        "CALL_CLOSE_AFTER_MINUTES",
        240,
        doc="a call still open this long after its planned end was left open (the official closed the "
        "tab): housekeeping ends it (in call: `completed`; never admitted: `no_show`), so its "
        "documents go and its pages stop",
    )


def _needs_turn_urls_secret(secret: Secret, _name: str, reading: Reading) -> None:
    if reading["BALIE_TURN_URLS"] and not secret:
        raise SettingsError("BALIE_TURN_URLS needs BALIE_TURN_SECRET (coturn's static-auth-secret)")


@dataclass(frozen=True)
class SignallingSettings:
    ice_servers: tuple[Mapping[str, object], ...] = setting(
        "ICE_SERVERS",
        (),
        parse=ice_servers,
        doc="JSON list of RTCIceServer objects for every page (STUN; static TURN if you must); "
        "empty on loopback",
    )
    max_message_bytes: int = setting(
        "MAX_MESSAGE_BYTES", 65_536, doc="largest signalling frame a socket may send"
    )
    idle_timeout_seconds: float = 60.0
    """A socket silent for this long is closed (4408); pages ping every ``heartbeat_seconds``."""
    heartbeat_seconds: float = 20.0
    hello_timeout_seconds: float = 10.0
    """A socket must send ``hello`` within this time (else 4408)."""
    turn_urls: tuple[str, ...] = setting(
        "TURN_URLS",
        (),
        parse=turn_urls,
        doc="comma-separated `turn:`/`turns:` URLs of coturn; admitted participants and device "
        "checks get time-limited credentials for them (signalling/ice.py)",
    )
    turn_secret: Secret = setting(
        "TURN_SECRET",
        Secret(""),
        check=_needs_turn_urls_secret,
        doc="coturn's `static-auth-secret` (`--use-auth-secret`, the TURN REST scheme); "
        "required with `BALIE_TURN_URLS`",
    )
    ice_host_addresses: tuple[str, ...] = setting(
        "ICE_HOST_ADDRESSES",
        (),
        parse=comma_list,
        shown="all interfaces and the one the visitor reached",
        doc="comma-separated addresses the server's own aiortc peers (the echo check) offer "
        "(tests: `127.0.0.1`)",
    )


@dataclass(frozen=True)
class CheckSettings:
    """The device and network check's echo peer (signalling/peers/echo.py)."""

    max_sessions: int = setting(
        "CHECK_MAX_SESSIONS",
        4,
        doc="device-check echo peers at the same time on one app node (each decodes and encodes video)",
    )
    max_sessions_per_client: int = setting("CHECK_MAX_SESSIONS_PER_CLIENT", 2, doc="... per visitor address")
    max_seconds: float = setting("CHECK_MAX_SECONDS", 60.0, doc="an echo session closes after this long")


@dataclass(frozen=True)
class SessionSettings:
    store: SessionStoreKind = setting(
        "SESSION_STORE",
        "database",
        derive=lambda reading: "redis" if reading["BALIE_CHANNELS"] == "redis" else "database",
        shown="`database` (`redis` when `BALIE_CHANNELS=redis`)",
        doc="where server-side sessions live: `database` or `redis`",
    )
    idle_minutes: int = setting("SESSION_IDLE_MINUTES", 30, doc="a session unused for this long ends")
    absolute_hours: int = setting(
        "SESSION_ABSOLUTE_HOURS", 10, doc="a sign-in ends after this long, however active"
    )
