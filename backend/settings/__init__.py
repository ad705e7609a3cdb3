"""Typed settings, read once from ``BALIE_*`` environment variables.

One frozen dataclass per concern (``concerns.py``, ``identity.py``, ``documents.py``); each
variable is declared once, as a field with its name, default, parser and meaning (``fields.py``),
and one reader walks them all (``reader.py``). Defaults are the embedded development setup, so
``balie run`` works on a fresh machine with nothing else installed. Secrets are wrapped in
:class:`Secret` so they never end up in a log line or a traceback by accident. The README's
settings table is rendered from the same declaration (``balie settings --markdown``).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backend.settings.concerns import (
    DEFAULT_DATA_DIR,
    ChannelsBackend,
    ChannelsSettings,
    CheckSettings,
    DatabaseSettings,
    EmailSettings,
    JoinSettings,
    SessionSettings,
    SessionStoreKind,
    SignallingSettings,
    WorkerSettings,
)
from backend.settings.documents import DocumentSettings
from backend.settings.fields import (
    IN_DEVELOPMENT,
    Reading,
    Secret,
    SettingsError,
    configured_in_production,
    in_development,
    secret_key_in_production,
    setting,
)
from backend.settings.identity import IdentitySettings, OidcClientSettings
from backend.settings.monitoring import MonitoringSettings
from backend.settings.parsers import DEFAULT_LOA_MAP, LEVELS, KeyList, comma_list
from backend.settings.payments import PaymentSettings
from backend.settings.reader import read_all

ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = ROOT / "web"

Environment = Literal["development", "production", "test"]


def _development_secret(reading: Reading) -> Secret:
    """A per-checkout secret for development, kept so sessions survive a restart (none in
    production: there it is required)."""
    if not in_development(reading):
        return Secret("")
    data_dir: Path = reading["BALIE_DATA_DIR"]
    path = data_dir / "secret_key"
    if path.exists():
        return Secret(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return Secret(value)


@dataclass(frozen=True)
class Settings:
    env: Environment = setting(
        "ENV",
        "development",
        doc="`development`, `test` or `production` (production needs a secret key, encryption keys "
        "and both OIDC clients, and turns off the development identity provider and the mailbox)",
    )
    public_url: str = setting(
        "PUBLIC_URL",
        "http://127.0.0.1:8000",
        parse=lambda raw, _name: raw.rstrip("/"),
        check=configured_in_production,
        shown="where `balie run` listens",
        doc="base of links in emails and of the sign-ins' redirect URIs; `https://` makes cookies "
        "Secure and adds HSTS; required in production",
    )
    public_url_configured: bool = False
    """Whether ``BALIE_PUBLIC_URL`` was set; if not, ``balie run`` derives it from --host/--port."""
    data_dir: Path = setting(
        "DATA_DIR", DEFAULT_DATA_DIR, doc="where the SQLite file and the development secret live"
    )
    secret_key: Secret = setting(
        "SECRET_KEY",
        Secret(""),
        derive=_development_secret,
        check=secret_key_in_production,
        shown="generated into `<data dir>/secret_key` in development",
        doc="signs CSRF tokens, seals waiting email and derives the development identity provider's "
        "client secrets; required in production, at least 32 bytes",
    )
    demo_data: bool = setting(
        "DEMO_DATA",
        True,
        derive=in_development,
        shown=IN_DEVELOPMENT,
        doc="load the demo municipality into an empty database",
    )
    rate_limit_per_minute: int = setting(
        "RATE_LIMIT_PER_MINUTE",
        120,
        doc="requests per minute per client on booking, join and sign-in forms; `0` turns it off",
    )
    trusted_proxies: tuple[str, ...] = setting(
        "TRUSTED_PROXIES",
        ("127.0.0.1",),
        parse=comma_list,
        doc="addresses or networks (`10.0.0.0/8`) of the reverse proxies in front of the app: only "
        "their `X-Forwarded-For` and `X-Forwarded-Proto` are believed (in production), so the rate "
        "limit and the audit trail see the real client",
    )
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
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    payments: PaymentSettings = field(default_factory=PaymentSettings)

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
        settings, problems = cls.with_problems(environ)
        if problems:
            raise SettingsError("\n".join(problems), problems)
        return settings

    @classmethod
    def with_problems(cls, environ: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
        """The settings and every problem found in them (each unusable one keeps its default)."""
        env = os.environ if environ is None else environ
        settings, problems = read_all(cls(), env)
        configured = bool(env.get("BALIE_PUBLIC_URL"))
        return dataclasses.replace(settings, public_url_configured=configured), problems


__all__ = [
    "DEFAULT_LOA_MAP",
    "LEVELS",
    "ROOT",
    "WEB_DIR",
    "ChannelsBackend",
    "ChannelsSettings",
    "CheckSettings",
    "DatabaseSettings",
    "DocumentSettings",
    "EmailSettings",
    "Environment",
    "IdentitySettings",
    "JoinSettings",
    "KeyList",
    "MonitoringSettings",
    "OidcClientSettings",
    "PaymentSettings",
    "Secret",
    "SessionSettings",
    "SessionStoreKind",
    "Settings",
    "SettingsError",
    "SignallingSettings",
    "WorkerSettings",
]
