"""One frozen dataclass per concern; each ``BALIE_*`` variable is one :func:`setting` field.

A field without :func:`setting` is not configurable from the environment (a tuning constant that
tests may still override).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from backend.settings.fields import (
    UNSET,
    Check,
    Reading,
    Secret,
    SettingsError,
    concern,
    more_than_zero,
    setting,
    zero_or_more,
)
from backend.settings.parsers import (
    DEFAULT_LOA_MAP,
    KeyList,
    algorithms,
    comma_list,
    first_key,
    group_map,
    ice_servers,
    key_list,
    loa_map,
    one_of,
    turn_urls,
)

ChannelsBackend = Literal["memory", "redis", "postgres"]
SessionStoreKind = Literal["database", "redis"]
DEFAULT_DATA_DIR = Path(".balie")
IN_DEVELOPMENT = "`true` in development"


def in_development(reading: Reading) -> bool:
    return bool(reading["BALIE_ENV"] != "production")


def required_in_production(why: str = "") -> Check:
    def check(value: object, name: str, reading: Reading) -> None:
        if not value and not in_development(reading):
            raise SettingsError(f"{name} is required in production{why}")

    return check


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
        shown="all interfaces",
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
class OidcClientSettings:
    """One OpenID Connect client registration (citizens and officials each have their own)."""

    issuer: str = setting(
        "OIDC_ISSUER",
        "",
        parse=lambda raw, _name: raw.rstrip("/"),
        doc="the OpenID provider for {who} (discovery at `{issuer}/.well-known/openid-configuration`); "
        "empty: the development provider at `/dev/idp` (development only)",
    )
    client_id: str = setting(
        "OIDC_CLIENT_ID",
        "",
        doc="the app's client id at that provider (redirect URI `{public url}{redirect}`, "
        "`client_secret_basic`); required in production",
    )
    client_secret: Secret = setting("OIDC_CLIENT_SECRET", Secret(""), doc="... and its secret")
    scope: str = setting("OIDC_SCOPE", "openid", doc="scopes asked for{scope_note}")
    algorithms: tuple[str, ...] = setting(
        "OIDC_ALGORITHMS",
        ("RS256", "PS256", "ES256"),
        parse=algorithms,
        doc="ID token signature algorithms accepted; never `none` or an HMAC algorithm",
    )


@dataclass(frozen=True)
class IdentitySettings:
    citizen: OidcClientSettings = concern(
        OidcClientSettings,
        prefix="CITIZEN_",
        words={
            "who": "citizens (a DigiD broker)",
            "redirect": "/digid/terug",
            "scope_note": " (some DigiD brokers want an extra scope for the BSN)",
        },
    )
    official: OidcClientSettings = concern(
        lambda: OidcClientSettings(scope="openid profile"),
        prefix="OFFICIAL_",
        words={"who": "officials", "redirect": "/balie/inloggen/terug", "scope_note": ""},
    )
    loa_claim: str = setting(
        "CITIZEN_OIDC_LOA_CLAIM", "acr", doc="the citizens' claim with the level of assurance"
    )
    loa_map: Mapping[str, str] = setting(
        "CITIZEN_OIDC_LOA_MAP",
        factory=lambda: dict(DEFAULT_LOA_MAP),
        parse=loa_map,
        shown="DigiD's SAML contexts",
        doc="JSON: claim value -> `basis`, `midden`, `substantieel` or `hoog` (the level names "
        "always map to themselves)",
    )
    bsn_claim: str = setting("CITIZEN_OIDC_BSN_CLAIM", "bsn", doc="the citizens' claim with the BSN")
    groups_claim: str = setting(
        "OFFICIAL_OIDC_GROUPS_CLAIM", "groups", doc="the officials' claim with their groups or roles"
    )
    group_map: Mapping[str, tuple[str, str]] = setting(
        "OFFICIAL_OIDC_GROUP_MAP",
        factory=dict,
        parse=group_map,
        doc='JSON: group -> `["<cbs code>/<team slug>", "official"|"admin"]`; empty: groups named '
        "`balie:<cbs code>:<team slug>:<official|admin>` map by their name",
    )
    keys: KeyList = setting(
        "IDENTITY_KEYS",
        (),
        parse=key_list("keys that seal BSNs"),
        check=required_in_production(" (it seals BSNs)"),
        shown="derived from the secret key in development",
        doc="`id:<base64 of 32 bytes>[,id:...]`: AES-256-GCM keys that seal BSNs; the current one "
        "seals, the others still open (rotation); required in production",
    )
    key_id: str = setting(
        "IDENTITY_KEY_ID",
        "",
        derive=first_key("BALIE_IDENTITY_KEYS"),
        check=one_of("BALIE_IDENTITY_KEYS"),
        shown="the first of `BALIE_IDENTITY_KEYS`",
        doc="the key that seals new BSNs",
    )
    dev_provider: bool = setting(
        "DEV_IDP",
        True,
        derive=in_development,
        shown=IN_DEVELOPMENT,
        doc="serve the development identity provider at `/dev/idp`; `balie run` refuses to start "
        "with it in production",
    )
    clock_skew_seconds: int = 60
    login_minutes: int = 10
    """How long a started sign-in may take before its state expires."""


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


@dataclass(frozen=True)
class DocumentSettings:
    max_bytes: int = setting(
        "DOCUMENTS_MAX_BYTES",
        10 * 1024 * 1024,
        check=more_than_zero,
        doc="largest document one may share, in bytes",
    )
    max_per_appointment: int = setting(
        "DOCUMENTS_MAX_PER_APPOINTMENT",
        20,
        check=more_than_zero,
        doc="documents an appointment may hold at the same time",
    )
    max_pixels: int = setting(
        "DOCUMENTS_MAX_PIXELS",
        30_000_000,
        check=more_than_zero,
        doc="largest image (width x height) that is decoded; bigger ones are refused before decoding",
    )
    keep_days: int = setting(
        "DOCUMENTS_KEEP_DAYS",
        30,
        check=zero_or_more,
        doc='longest a document marked "bewaren voor de zaak" is kept (a service can set fewer days, '
        "or 0 to switch marking off, in `document_retention`)",
    )
    uploads_per_minute: int = setting(
        "DOCUMENTS_UPLOADS_PER_MINUTE",
        20,
        check=zero_or_more,
        doc="uploads per minute per client and appointment; `0` turns it off",
    )
    purge_seconds: float = setting(
        "DOCUMENTS_PURGE_SECONDS",
        60.0,
        check=more_than_zero,
        doc="how often the worker looks for documents whose time is up (it also runs at once when a "
        "call ends)",
    )
    directory: Path | None = setting(
        "DOCUMENTS_DIR",
        None,
        parse=lambda raw, _name: Path(raw) if raw else UNSET,
        shown="`<data dir>/documents`",
        doc="the document store (encrypted files only); shared by all app nodes and the worker",
    )
    keys: KeyList = setting(
        "DOCUMENTS_KEYS",
        (),
        parse=key_list("master keys for documents"),
        check=required_in_production(),
        shown="derived from the secret key in development",
        doc="master keys that wrap each document's own key: `id:<base64 of 32 bytes>[,id:...]`; "
        "required in production. Rotate by adding a key and making it current; keep the old one "
        "for `BALIE_DOCUMENTS_KEEP_DAYS`",
    )
    key_id: str = setting(
        "DOCUMENTS_KEY_ID",
        "",
        derive=first_key("BALIE_DOCUMENTS_KEYS"),
        check=one_of("BALIE_DOCUMENTS_KEYS"),
        shown="the first of `BALIE_DOCUMENTS_KEYS`",
        doc="the master key that wraps new documents",
    )
