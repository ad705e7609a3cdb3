"""Typed settings, read once from ``BALIE_*`` environment variables.

One frozen dataclass per concern. Defaults are the embedded development setup, so ``balie run`` works
on a fresh machine with nothing else installed. Secrets are wrapped in :class:`Secret` so they never
end up in a log line or a traceback by accident.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = ROOT / "web"

Environment = Literal["development", "production", "test"]
ChannelsBackend = Literal["memory", "redis", "postgres"]


class Secret:
    """A string that does not show itself in repr() or str()."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


class SettingsError(ValueError):
    """A BALIE_* variable holds a value that cannot be used."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///balie.db"
    """SQLAlchemy URL. ``postgresql+asyncpg://...`` switches to PostgreSQL."""
    echo: bool = False
    pool_size: int = 10

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


@dataclass(frozen=True)
class ChannelsSettings:
    backend: ChannelsBackend = "memory"
    """Live events between app nodes: ``memory`` (one node), ``redis`` or ``postgres``."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    postgres_dsn: str = ""
    """libpq DSN for LISTEN/NOTIFY; empty derives it from the database URL."""


@dataclass(frozen=True)
class EmailSettings:
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: Secret = field(default_factory=lambda: Secret(""))
    smtp_starttls: bool = False
    sender: str = "Digitale Balie <noreply@digitale-balie.localhost>"
    dev_sink: bool = True
    """Start a local SMTP sink with a web mailbox at /dev/mailbox (development only)."""
    local_hostname: str = "balie.localhost"


@dataclass(frozen=True)
class WorkerSettings:
    in_process: bool = True
    """Run the outbox worker inside the web process (the embedded default)."""
    poll_seconds: float = 2.0
    max_attempts: int = 8
    batch_size: int = 20


@dataclass(frozen=True)
class JoinSettings:
    opens_minutes_before: int = 30
    """How long before the start a join link starts to work."""
    grace_minutes_after: int = 30
    """How long after the planned end a join link keeps working (coming late still works)."""


@dataclass(frozen=True)
class SignallingSettings:
    ice_servers: tuple[Mapping[str, object], ...] = ()
    """ICE servers for browsers, JSON list of RTCIceServer dicts. Empty on loopback."""
    max_message_bytes: int = 65_536
    idle_timeout_seconds: float = 60.0
    """A socket silent for this long is closed (4408); pages ping every ``heartbeat_seconds``."""
    heartbeat_seconds: float = 20.0
    hello_timeout_seconds: float = 10.0
    """A socket must send ``hello`` within this time (else 4408)."""
    turn_urls: tuple[str, ...] = ()
    """``turn:``/``turns:`` URLs of the TURN server; admitted peers and check sessions get
    time-limited credentials for them (signalling/ice.py). Empty: no TURN."""
    turn_secret: Secret = field(default_factory=lambda: Secret(""))
    """coturn's ``static-auth-secret`` (TURN REST scheme)."""
    ice_host_addresses: tuple[str, ...] = ()
    """The server's own aiortc peers (the echo check) offer only these addresses; empty: all."""


@dataclass(frozen=True)
class CheckSettings:
    """The device and network check's echo peer (signalling/peers/echo.py)."""

    max_sessions: int = 4
    """Echo peers at the same time on one app node (each decodes and encodes video)."""
    max_sessions_per_client: int = 2
    max_seconds: float = 60.0
    """An echo session closes after this long."""


@dataclass(frozen=True)
class Settings:
    env: Environment = "development"
    public_url: str = "http://127.0.0.1:8000"
    public_url_configured: bool = False
    """Whether ``BALIE_PUBLIC_URL`` was set; if not, ``balie run`` derives it from --host/--port."""
    secret_key: Secret = field(default_factory=lambda: Secret(""))
    data_dir: Path = field(default_factory=lambda: Path(".balie"))
    timezone: str = "Europe/Amsterdam"
    demo_data: bool = True
    """Load the demo municipality when the database is empty."""
    rate_limit_per_minute: int = 120
    """Requests per minute per client on booking, join and sign-in forms; 0 switches it off."""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    channels: ChannelsSettings = field(default_factory=ChannelsSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    join: JoinSettings = field(default_factory=JoinSettings)
    signalling: SignallingSettings = field(default_factory=SignallingSettings)
    check: CheckSettings = field(default_factory=CheckSettings)

    @property
    def development(self) -> bool:
        return self.env != "production"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return _read(env)


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(f"BALIE_{name}", default)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(f"BALIE_{name}")
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"BALIE_{name} must be true or false, not {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(f"BALIE_{name}")
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"BALIE_{name} must be a whole number, not {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(f"BALIE_{name}")
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"BALIE_{name} must be a number, not {raw!r}") from exc


def _ice_servers(raw: str) -> tuple[Mapping[str, object], ...]:
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError("BALIE_ICE_SERVERS must be a JSON list of RTCIceServer objects") from exc
    if not isinstance(value, list) or not all(isinstance(s, dict) and "urls" in s for s in value):
        raise SettingsError("BALIE_ICE_SERVERS must be a JSON list of objects with 'urls'")
    return tuple(value)


def _list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _turn_urls(raw: str) -> tuple[str, ...]:
    urls = _list(raw)
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            raise SettingsError(f"BALIE_TURN_URLS holds {url!r}: each URL must start with turn: or turns:")
    return urls


def _read(env: Mapping[str, str]) -> Settings:
    mode = _get(env, "ENV", "development")
    if mode not in ("development", "production", "test"):
        raise SettingsError(f"BALIE_ENV must be development, production or test, not {mode!r}")
    development = mode != "production"
    data_dir = Path(_get(env, "DATA_DIR", ".balie"))
    channels_backend = _get(env, "CHANNELS", "memory")
    if channels_backend not in ("memory", "redis", "postgres"):
        raise SettingsError(f"BALIE_CHANNELS must be memory, redis or postgres, not {channels_backend!r}")
    secret = _get(env, "SECRET_KEY", "")
    if not secret:
        if not development:
            raise SettingsError("BALIE_SECRET_KEY is required in production")
        secret = _development_secret(data_dir)
    return Settings(
        env=mode,  # type: ignore[arg-type]
        public_url=_get(env, "PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        public_url_configured=bool(env.get("BALIE_PUBLIC_URL")),
        secret_key=Secret(secret),
        data_dir=data_dir,
        demo_data=_bool(env, "DEMO_DATA", development),
        rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 120),
        database=DatabaseSettings(
            url=_get(env, "DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'balie.db'}"),
            echo=_bool(env, "DATABASE_ECHO", False),
            pool_size=_int(env, "DATABASE_POOL_SIZE", 10),
        ),
        channels=ChannelsSettings(
            backend=channels_backend,  # type: ignore[arg-type]
            redis_url=_get(env, "REDIS_URL", "redis://127.0.0.1:6379/0"),
            postgres_dsn=_get(env, "CHANNELS_POSTGRES_DSN", ""),
        ),
        email=EmailSettings(
            smtp_host=_get(env, "SMTP_HOST", "127.0.0.1"),
            smtp_port=_int(env, "SMTP_PORT", 8025),
            smtp_username=_get(env, "SMTP_USERNAME", ""),
            smtp_password=Secret(_get(env, "SMTP_PASSWORD", "")),
            smtp_starttls=_bool(env, "SMTP_STARTTLS", False),
            sender=_get(env, "EMAIL_FROM", EmailSettings.sender),
            dev_sink=_bool(env, "DEV_MAILBOX", development),
        ),
        worker=WorkerSettings(
            in_process=_bool(env, "WORKER_IN_PROCESS", True),
            poll_seconds=_float(env, "WORKER_POLL_SECONDS", 2.0),
        ),
        join=JoinSettings(
            opens_minutes_before=_int(env, "JOIN_OPENS_MINUTES_BEFORE", 30),
            grace_minutes_after=_int(env, "JOIN_GRACE_MINUTES_AFTER", 30),
        ),
        signalling=_signalling(env),
        check=CheckSettings(
            max_sessions=_int(env, "CHECK_MAX_SESSIONS", 4),
            max_sessions_per_client=_int(env, "CHECK_MAX_SESSIONS_PER_CLIENT", 2),
            max_seconds=_float(env, "CHECK_MAX_SECONDS", 60.0),
        ),
    )


def _signalling(env: Mapping[str, str]) -> SignallingSettings:
    turn_urls = _turn_urls(_get(env, "TURN_URLS", ""))
    turn_secret = _get(env, "TURN_SECRET", "")
    if turn_urls and not turn_secret:
        raise SettingsError("BALIE_TURN_URLS needs BALIE_TURN_SECRET (coturn's static-auth-secret)")
    return SignallingSettings(
        ice_servers=_ice_servers(_get(env, "ICE_SERVERS", "")),
        max_message_bytes=_int(env, "MAX_MESSAGE_BYTES", 65_536),
        turn_urls=turn_urls,
        turn_secret=Secret(turn_secret),
        ice_host_addresses=_list(_get(env, "ICE_HOST_ADDRESSES", "")),
    )


def _development_secret(data_dir: Path) -> str:
    """A per-checkout secret for development, kept so sessions survive a restart."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value
