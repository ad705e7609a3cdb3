"""Typed settings, read once from ``BALIE_*`` environment variables.

One frozen dataclass per concern. Defaults are the embedded development setup, so ``balie run`` works
on a fresh machine with nothing else installed. Secrets are wrapped in :class:`Secret` so they never
end up in a log line or a traceback by accident.
"""

from __future__ import annotations

import base64
import binascii
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
KeyList = tuple[tuple[str, "Secret"], ...]
"""(key id, base64 of 32 bytes) pairs, read by :func:`_key_list`."""
ChannelsBackend = Literal["memory", "redis", "postgres"]
SessionStoreKind = Literal["database", "redis"]
LEVELS = ("none", "basis", "midden", "substantieel", "hoog")
"""DigiD levels of assurance, lowest first."""
DEFAULT_LOA_MAP: Mapping[str, str] = {
    # DigiD's SAML authentication contexts, as brokers pass them on in ``acr``.
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport": "basis",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract": "midden",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard": "substantieel",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI": "hoog",
}


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
    housekeeping_seconds: float = 60.0
    """How often the worker marks appointments nobody came to as no-show."""


@dataclass(frozen=True)
class JoinSettings:
    opens_minutes_before: int = 30
    """How long before the start a join link starts to work."""
    grace_minutes_after: int = 30
    """How long after the planned end a join link keeps working (coming late still works)."""
    close_after_minutes: int = 240
    """A call still open this long after its planned end was left open (the official closed the
    tab without ending it): housekeeping ends it, so its documents go and its pages stop."""


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
class OidcClientSettings:
    """One OpenID Connect client registration (citizens and officials each have their own)."""

    issuer: str = ""
    """The provider's issuer URL (discovery at ``{issuer}/.well-known/openid-configuration``).
    Empty: the built-in development provider at ``{public_url}/dev/idp`` (development only)."""
    client_id: str = ""
    client_secret: Secret = field(default_factory=lambda: Secret(""))
    scope: str = "openid"
    algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    """ID token signature algorithms accepted; never ``none`` or an HMAC algorithm."""


@dataclass(frozen=True)
class IdentitySettings:
    citizen: OidcClientSettings = field(default_factory=lambda: OidcClientSettings(scope="openid"))
    official: OidcClientSettings = field(default_factory=lambda: OidcClientSettings(scope="openid profile"))
    loa_claim: str = "acr"
    """The ID token claim that carries the level of assurance."""
    loa_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LOA_MAP))
    """Claim value -> DigiD level; the level names themselves always map to themselves."""
    bsn_claim: str = "bsn"
    groups_claim: str = "groups"
    """The officials' ID token claim with their groups or roles."""
    group_map: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Group -> (``<cbs code>/<team slug>``, ``official`` | ``admin``). Empty: groups named
    ``balie:<cbs code>:<team slug>:<official|admin>`` map by their name."""
    keys: KeyList = ()
    """(id, base64 of a 32-byte AES key) that seal BSNs; empty derives one from the secret key
    (development and tests only)."""
    key_id: str = ""
    """The key that seals new BSNs (default: the first of ``keys``)."""
    dev_provider: bool = True
    """Serve the development identity provider at /dev/idp (development only)."""
    clock_skew_seconds: int = 60
    login_minutes: int = 10
    """How long a started sign-in may take before its state expires."""


@dataclass(frozen=True)
class SessionSettings:
    store: SessionStoreKind = "database"
    """Where server-side sessions live: ``database`` or ``redis``."""
    idle_minutes: int = 30
    """A session unused for this long ends."""
    absolute_hours: int = 10
    """A sign-in ends after this long, however active."""


@dataclass(frozen=True)
class DocumentSettings:
    max_bytes: int = 10 * 1024 * 1024
    """Largest document one may share (10 MB)."""
    max_per_appointment: int = 20
    """How many documents an appointment may hold at the same time."""
    max_pixels: int = 30_000_000
    """Largest image (width x height) that is decoded; bigger ones are refused before decoding."""
    keep_days: int = 30
    """The longest a document marked "bewaren voor de zaak" is kept; a service may keep it shorter."""
    uploads_per_minute: int = 20
    """Uploads per minute per client and appointment; 0 switches the limit off."""
    purge_seconds: float = 60.0
    """How often the retention worker looks for documents whose time is up."""
    directory: Path | None = None
    """Where the filesystem store keeps the encrypted files; None is ``<data dir>/documents``."""
    keys: KeyList = ()
    """Master keys (id, base64 of 32 bytes) that wrap each document's own key; empty derives one
    from the secret key (development and tests only)."""
    key_id: str = ""
    """The master key that wraps new documents (default: the first of ``keys``)."""


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
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    check: CheckSettings = field(default_factory=CheckSettings)

    @property
    def development(self) -> bool:
        return self.env != "production"

    @property
    def documents_dir(self) -> Path:
        return self.documents.directory or self.data_dir / "documents"

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


def _json_object(env: Mapping[str, str], name: str) -> dict[str, object] | None:
    raw = env.get(f"BALIE_{name}", "")
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"BALIE_{name} must be a JSON object") from exc
    if not isinstance(value, dict):
        raise SettingsError(f"BALIE_{name} must be a JSON object")
    return value


def _loa_map(env: Mapping[str, str]) -> dict[str, str]:
    value = _json_object(env, "CITIZEN_OIDC_LOA_MAP")
    if value is None:
        return dict(DEFAULT_LOA_MAP)
    if not all(isinstance(level, str) and level in LEVELS for level in value.values()):
        raise SettingsError(f"BALIE_CITIZEN_OIDC_LOA_MAP values must be one of {', '.join(LEVELS)}")
    return {str(k): str(v) for k, v in value.items()}


def _group_map(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    value = _json_object(env, "OFFICIAL_OIDC_GROUP_MAP") or {}
    result: dict[str, tuple[str, str]] = {}
    for group, target in value.items():
        if (
            not isinstance(target, list)
            or len(target) != 2
            or not isinstance(target[0], str)
            or target[0].count("/") != 1
            or target[1] not in ("official", "admin")
        ):
            raise SettingsError(
                "BALIE_OFFICIAL_OIDC_GROUP_MAP maps each group to "
                '["<cbs code>/<team slug>", "official"|"admin"]'
            )
        result[group] = (target[0], target[1])
    return result


def _oidc_client(env: Mapping[str, str], who: str, scope: str) -> OidcClientSettings:
    algorithms = tuple(
        a.strip() for a in _get(env, f"{who}_OIDC_ALGORITHMS", "RS256,PS256,ES256").split(",") if a.strip()
    )
    unsafe = [a for a in algorithms if a.lower() == "none" or a.upper().startswith("HS")]
    if unsafe or not algorithms:
        raise SettingsError(f"BALIE_{who}_OIDC_ALGORITHMS may only hold asymmetric algorithms, not {unsafe}")
    return OidcClientSettings(
        issuer=_get(env, f"{who}_OIDC_ISSUER", "").rstrip("/"),
        client_id=_get(env, f"{who}_OIDC_CLIENT_ID", ""),
        client_secret=Secret(_get(env, f"{who}_OIDC_CLIENT_SECRET", "")),
        scope=_get(env, f"{who}_OIDC_SCOPE", scope),
        algorithms=algorithms,
    )


def _key_list(env: Mapping[str, str], name: str, id_name: str, purpose: str) -> tuple[KeyList, str]:
    """``BALIE_<name>``: ``id:<base64 of 32 bytes>[,id:...]``, and ``BALIE_<id_name>`` naming the key
    that seals new values (default: the first). The others stay to open what they sealed (rotation).
    """
    keys: list[tuple[str, Secret]] = []
    for part in filter(None, (p.strip() for p in _get(env, name, "").split(","))):
        key_id, sep, encoded = part.partition(":")
        try:
            key = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not sep or not key_id or len(key_id) > 40 or len(key) != 32:
            raise SettingsError(
                f"BALIE_{name} ({purpose}) must be a list of id:key, each key 32 bytes in base64 (make "
                "one with: python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')"
            )
        keys.append((key_id, Secret(encoded)))
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise SettingsError(f"BALIE_{name} names a key id twice")
    current = _get(env, id_name, keys[0][0] if keys else "")
    if keys and current not in {k for k, _ in keys}:
        raise SettingsError(f"BALIE_{id_name} {current!r} is not one of BALIE_{name}")
    return tuple(keys), current


def _documents(env: Mapping[str, str], development: bool) -> DocumentSettings:
    keys, key_id = _key_list(env, "DOCUMENTS_KEYS", "DOCUMENTS_KEY_ID", "master keys for documents")
    if not keys and not development:
        raise SettingsError("BALIE_DOCUMENTS_KEYS is required in production")
    settings = DocumentSettings(
        max_bytes=_int(env, "DOCUMENTS_MAX_BYTES", DocumentSettings.max_bytes),
        max_per_appointment=_int(env, "DOCUMENTS_MAX_PER_APPOINTMENT", DocumentSettings.max_per_appointment),
        max_pixels=_int(env, "DOCUMENTS_MAX_PIXELS", DocumentSettings.max_pixels),
        keep_days=_int(env, "DOCUMENTS_KEEP_DAYS", DocumentSettings.keep_days),
        uploads_per_minute=_int(env, "DOCUMENTS_UPLOADS_PER_MINUTE", DocumentSettings.uploads_per_minute),
        purge_seconds=_float(env, "DOCUMENTS_PURGE_SECONDS", DocumentSettings.purge_seconds),
        directory=Path(raw_dir) if (raw_dir := _get(env, "DOCUMENTS_DIR", "")) else None,
        keys=keys,
        key_id=key_id,
    )
    for name, value in (
        ("DOCUMENTS_MAX_BYTES", settings.max_bytes),
        ("DOCUMENTS_MAX_PER_APPOINTMENT", settings.max_per_appointment),
        ("DOCUMENTS_MAX_PIXELS", settings.max_pixels),
        ("DOCUMENTS_PURGE_SECONDS", settings.purge_seconds),
    ):
        if value <= 0:
            raise SettingsError(f"BALIE_{name} must be more than 0")
    if settings.keep_days < 0 or settings.uploads_per_minute < 0:
        raise SettingsError(
            "BALIE_DOCUMENTS_KEEP_DAYS and BALIE_DOCUMENTS_UPLOADS_PER_MINUTE must be 0 or more"
        )
    return settings


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
    session_store = _get(env, "SESSION_STORE", "redis" if channels_backend == "redis" else "database")
    if session_store not in ("database", "redis"):
        raise SettingsError(f"BALIE_SESSION_STORE must be database or redis, not {session_store!r}")
    identity_keys, identity_key_id = _key_list(env, "IDENTITY_KEYS", "IDENTITY_KEY_ID", "keys that seal BSNs")
    if not identity_keys and not development:
        raise SettingsError("BALIE_IDENTITY_KEYS is required in production (it seals BSNs)")
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
            housekeeping_seconds=_float(env, "HOUSEKEEPING_SECONDS", 60.0),
        ),
        join=JoinSettings(
            opens_minutes_before=_int(env, "JOIN_OPENS_MINUTES_BEFORE", 30),
            grace_minutes_after=_int(env, "JOIN_GRACE_MINUTES_AFTER", 30),
            close_after_minutes=_int(env, "CALL_CLOSE_AFTER_MINUTES", 240),
        ),
        signalling=_signalling(env),
        check=CheckSettings(
            max_sessions=_int(env, "CHECK_MAX_SESSIONS", 4),
            max_sessions_per_client=_int(env, "CHECK_MAX_SESSIONS_PER_CLIENT", 2),
            max_seconds=_float(env, "CHECK_MAX_SECONDS", 60.0),
        ),
        identity=IdentitySettings(
            citizen=_oidc_client(env, "CITIZEN", "openid"),
            official=_oidc_client(env, "OFFICIAL", "openid profile"),
            loa_claim=_get(env, "CITIZEN_OIDC_LOA_CLAIM", "acr"),
            loa_map=_loa_map(env),
            bsn_claim=_get(env, "CITIZEN_OIDC_BSN_CLAIM", "bsn"),
            groups_claim=_get(env, "OFFICIAL_OIDC_GROUPS_CLAIM", "groups"),
            group_map=_group_map(env),
            keys=identity_keys,
            key_id=identity_key_id,
            dev_provider=_bool(env, "DEV_IDP", development),
        ),
        sessions=SessionSettings(
            store=session_store,  # type: ignore[arg-type]
            idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 30),
            absolute_hours=_int(env, "SESSION_ABSOLUTE_HOURS", 10),
        ),
        documents=_documents(env, development),
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
