"""The settings reader: each BALIE_* variable declared once, read by one walk over the dataclasses."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.settings import (
    DatabaseSettings,
    EmailSettings,
    Secret,
    Settings,
    SettingsError,
)
from backend.settings.concerns import sqlite_url
from backend.settings.fields import concern, setting
from backend.settings.reader import declared, read

KEY = base64.b64encode(b"k" * 32).decode()
SECRET = "s" * 32
PRODUCTION = {
    "BALIE_ENV": "production",
    "BALIE_PUBLIC_URL": "https://balie.example.nl",
    "BALIE_SECRET_KEY": SECRET,
    "BALIE_IDENTITY_KEYS": f"i1:{KEY}",
    "BALIE_DOCUMENTS_KEYS": f"d1:{KEY}",
}


def test_unset_variables_read_as_the_declared_defaults(tmp_path: Path) -> None:
    """What the environment does not say is the dataclass's own default: there is no second copy."""
    read_ = Settings.from_env({"BALIE_DATA_DIR": str(tmp_path), "BALIE_SECRET_KEY": "s"})
    built = Settings(
        data_dir=tmp_path,
        secret_key=Secret("s"),
        database=DatabaseSettings(url=sqlite_url(tmp_path)),  # the one default derived from another
    )
    assert read_ == built
    assert read_.email.smtp_port == EmailSettings.smtp_port == 8025
    assert read_.database.pool_size == DatabaseSettings.pool_size == 10


def test_balie_run_keeps_its_database_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"BALIE_DATA_DIR": str(tmp_path / "data")})
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'balie.db'}"
    assert Settings().database.url == "sqlite+aiosqlite:///.balie/balie.db"  # the same rule, built directly


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("BALIE_SMTP_PORT", "poort", "BALIE_SMTP_PORT must be a whole number, not 'poort'"),
        ("BALIE_DATABASE_POOL_SIZE", "1.5", "BALIE_DATABASE_POOL_SIZE must be a whole number, not '1.5'"),
        ("BALIE_CHECK_MAX_SECONDS", "lang", "BALIE_CHECK_MAX_SECONDS must be a number, not 'lang'"),
        ("BALIE_SMTP_STARTTLS", "misschien", "BALIE_SMTP_STARTTLS must be true or false, not 'misschien'"),
        ("BALIE_CHANNELS", "kafka", "BALIE_CHANNELS must be memory, redis or postgres, not 'kafka'"),
        ("BALIE_OFFICIAL_OIDC_ALGORITHMS", "HS256", "BALIE_OFFICIAL_OIDC_ALGORITHMS may only hold"),
        ("BALIE_DOCUMENTS_MAX_BYTES", "0", "BALIE_DOCUMENTS_MAX_BYTES must be more than 0"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env({"BALIE_DATA_DIR": str(tmp_path), name: raw})


def test_an_empty_number_or_switch_means_its_default_and_empty_text_means_empty(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"BALIE_DATA_DIR": str(tmp_path), "BALIE_SMTP_PORT": "", "BALIE_DEMO_DATA": "", "BALIE_SMTP_HOST": ""}
    )
    assert settings.email.smtp_port == 8025 and settings.demo_data is True
    assert settings.email.smtp_host == ""


def test_development_and_production_defaults(tmp_path: Path) -> None:
    development = Settings.from_env({"BALIE_DATA_DIR": str(tmp_path)})
    assert development.demo_data and development.email.dev_sink and development.identity.dev_provider
    assert development.secret_key  # generated once for this data dir, and kept
    assert Settings.from_env({"BALIE_DATA_DIR": str(tmp_path)}).secret_key == development.secret_key
    assert (tmp_path / "secret_key").read_text() == development.secret_key.reveal()

    production = Settings.from_env({"BALIE_DATA_DIR": str(tmp_path / "prod"), **PRODUCTION})
    assert not (production.demo_data or production.email.dev_sink or production.identity.dev_provider)
    assert production.secret_key == Secret(SECRET) and not (tmp_path / "prod").exists()
    assert production.identity.key_id == "i1" and production.documents.key_id == "d1"
    switched_on = Settings.from_env({**PRODUCTION, "BALIE_DEMO_DATA": "true", "BALIE_DEV_IDP": "1"})
    assert switched_on.demo_data and switched_on.identity.dev_provider  # cli.refusals() stops this one


@pytest.mark.parametrize("missing", ["BALIE_SECRET_KEY", "BALIE_IDENTITY_KEYS", "BALIE_DOCUMENTS_KEYS"])
def test_production_requires_its_secrets(missing: str) -> None:
    with pytest.raises(SettingsError, match=f"{missing} is required in production"):
        Settings.from_env({**PRODUCTION, missing: ""})


def test_production_says_everything_that_must_change_at_once(tmp_path: Path) -> None:
    """One message for every unusable setting: no restart per mistake."""
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {
                "BALIE_ENV": "production",
                "BALIE_SECRET_KEY": "too-short",
                "BALIE_SMTP_PORT": "poort",
                "BALIE_CITIZEN_OIDC_ISSUER": "http://broker.example.nl",
                "BALIE_OFFICIAL_OIDC_ISSUER": "http://127.0.0.1:9000",  # loopback: a provider beside the app
            }
        )
    problems = refused.value.problems
    assert problems == [
        "BALIE_PUBLIC_URL is required in production (links in emails, sign-in redirect URIs)",
        "BALIE_SECRET_KEY must be at least 32 bytes in production (it signs and seals)",
        "BALIE_SMTP_PORT must be a whole number, not 'poort'",
        "BALIE_CITIZEN_OIDC_ISSUER must use https:// in production, not 'http://broker.example.nl'",
        "BALIE_IDENTITY_KEYS is required in production (it seals BSNs)",
        "BALIE_DOCUMENTS_KEYS is required in production",
    ]  # in the order of declaration
    assert str(refused.value) == "\n".join(problems)


def test_defaults_that_follow_other_settings(tmp_path: Path) -> None:
    base = {"BALIE_DATA_DIR": str(tmp_path)}
    assert Settings.from_env({**base, "BALIE_CHANNELS": "redis"}).sessions.store == "redis"
    assert Settings.from_env({**base, "BALIE_CHANNELS": "postgres"}).sessions.store == "database"
    both = Settings.from_env({**base, "BALIE_CHANNELS": "redis", "BALIE_SESSION_STORE": "database"})
    assert both.sessions.store == "database"
    keys = Settings.from_env({**base, "BALIE_DOCUMENTS_KEYS": f"a:{KEY},b:{KEY}"})
    assert keys.documents.key_id == "a"


def test_the_two_oidc_clients_share_one_declaration_with_their_own_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"BALIE_DATA_DIR": str(tmp_path), "BALIE_CITIZEN_OIDC_ISSUER": "https://broker.example.nl/"}
    )
    assert settings.identity.citizen.issuer == "https://broker.example.nl/"  # exactly as written
    assert settings.identity.official.issuer == ""
    assert (settings.identity.citizen.scope, settings.identity.official.scope) == ("openid", "openid profile")


def test_every_variable_is_declared_once_and_documented() -> None:
    items = list(declared(Settings()))
    names = [item.name for item in items]
    assert len(names) == len(set(names)), "a BALIE_* variable is declared twice"
    for item in items:
        assert item.doc and "\n" not in item.doc, item.name
        assert set(re.findall(r"\{(\w+)\}", item.doc)) <= {"issuer"}, f"{item.name}: a word left unfilled"
        if item.spec.derive is not None:
            assert item.spec.shown, f"{item.name}: a derived default must say how the README shows it"


# -- the reader on its own, with a tiny declaration -------------------------------------------------


@dataclass(frozen=True)
class Inner:
    port: int = setting("PORT", 1, doc="a port")
    name: str = setting("NAME", "x", derive=lambda reading: reading["BALIE_HOST"] + "!", doc="a name")


@dataclass(frozen=True)
class Outer:
    host: str = setting("HOST", "localhost", doc="a host")
    inner: Inner = concern(Inner, prefix="IN_")
    untouched: int = 7


def test_the_reader_walks_nested_concerns_with_their_prefix() -> None:
    assert read(Outer(), {}) == Outer(inner=Inner(name="localhost!"))
    found = read(Outer(untouched=8), {"BALIE_HOST": "h", "BALIE_IN_PORT": "2", "BALIE_PORT": "3"})
    assert found == Outer(host="h", inner=Inner(port=2, name="h!"), untouched=8)
    assert [item.name for item in declared(Outer())] == ["BALIE_HOST", "BALIE_IN_PORT", "BALIE_IN_NAME"]


def test_a_type_without_a_parser_must_declare_one() -> None:
    @dataclass(frozen=True)
    class Odd:
        ratio: complex = setting("RATIO", 1j, doc="no parser for this type")

    with pytest.raises(TypeError, match="BALIE_RATIO: no parser"):
        read(Odd(), {"BALIE_RATIO": "2j"})


def test_the_platform_admin_of_development_is_never_one_in_production() -> None:
    assert Settings.from_env({}).identity.platform_admins == ("platformbeheer",)
    production, _problems = Settings.with_problems({"BALIE_ENV": "production"})
    assert production.identity.platform_admins == ()
    named, _problems = Settings.with_problems(
        {"BALIE_ENV": "production", "BALIE_PLATFORM_ADMINS": " a.jansen , b.smit,"}
    )
    assert named.identity.platform_admins == ("a.jansen", "b.smit")


def test_a_secret_can_come_from_a_file(tmp_path: Path) -> None:
    """Docker and Kubernetes secrets: ``BALIE_<NAME>_FILE`` names a file that holds the value."""
    key = tmp_path / "secret_key"
    key.write_text("uit-een-bestand\n")  # as `echo ... > file` writes it
    read_ = Settings.from_env({"BALIE_DATA_DIR": str(tmp_path), "BALIE_SECRET_KEY_FILE": str(key)})
    assert read_.secret_key.reveal() == "uit-een-bestand"
    secret = tmp_path / "client_secret"
    secret.write_text("s3cret")
    official = Settings.from_env({"BALIE_OFFICIAL_OIDC_CLIENT_SECRET_FILE": str(secret)})
    assert official.identity.official.client_secret.reveal() == "s3cret"


def test_a_secret_file_that_cannot_be_used_is_named(tmp_path: Path) -> None:
    _, missing = Settings.with_problems({"BALIE_SECRET_KEY_FILE": str(tmp_path / "nergens")})
    assert any(p.startswith("BALIE_SECRET_KEY_FILE: cannot read") for p in missing)
    key = tmp_path / "secret_key"
    key.write_text("a")
    _, both = Settings.with_problems({"BALIE_SECRET_KEY": "b", "BALIE_SECRET_KEY_FILE": str(key)})
    assert "BALIE_SECRET_KEY and BALIE_SECRET_KEY_FILE are both set: set one of them" in both
