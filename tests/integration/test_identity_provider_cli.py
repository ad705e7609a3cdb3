"""``balie identity-provider``: a municipality's own provider as data, the secret sealed at rest,
bad registrations refused with every reason at once."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select

from backend.cli import main
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import IdentityProvider
from backend.identity.binding import identity_keyring
from backend.identity.parties import open_secret, pending_purpose, unverified_issuer
from backend.identity.relying_party import PENDING_KEY
from backend.settings import DatabaseSettings
from tests.support import make_settings, seed_agenda


@pytest.fixture(autouse=True)
def logging_as_before() -> Iterator[None]:
    """``main`` configures logging onto the captured stderr; later tests must not write there."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def prepare() -> None:
        engine = create_engine(DatabaseSettings(url=url))
        await upgrade(engine)
        async with create_sessionmaker(engine)() as db:
            await seed_agenda(db, cbs_code="0606", slug="schiedam")
        await engine.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("BALIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BALIE_DATABASE_URL", url)
    monkeypatch.setenv("BALIE_SECRET_KEY", "test-secret-key-for-digitale-balie")
    return url


def rows(url: str) -> list[IdentityProvider]:
    async def read() -> list[IdentityProvider]:
        engine = create_engine(DatabaseSettings(url=url))
        async with create_sessionmaker(engine)() as db:
            found = list(await db.scalars(select(IdentityProvider)))
        await engine.dispose()
        return found

    return asyncio.run(read())


def test_add_list_replace_and_remove(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCHIEDAM_SECRET", "s3cret+/=")
    add = ["identity-provider", "add", "--municipality", "0606", "--for", "official"]
    add += ["--issuer", "https://login.schiedam.nl/realms/balie", "--client-id", "balie"]
    add += ["--client-secret-env", "SCHIEDAM_SECRET", "--email-domains", "schiedam.nl,Gemeente.Schiedam.nl"]
    assert main(add) == 0
    (row,) = rows(database)
    assert row.domains == ["schiedam.nl", "gemeente.schiedam.nl"]
    assert b"s3cret" not in row.client_secret_sealed  # sealed, not stored in clear
    settings = make_settings(tmp_path, database)
    assert open_secret(identity_keyring(settings), row).reveal() == "s3cret+/="

    assert main([*add[:-2], "--scope", "openid profile groups"]) == 0  # replaced, not doubled
    (again,) = rows(database)
    assert again.id == row.id and again.scope == "openid profile groups" and again.email_domains == ""
    capsys.readouterr()
    assert main(["identity-provider", "list"]) == 0
    assert (
        "0606 Gemeente Schiedam: official https://login.schiedam.nl/realms/balie" in capsys.readouterr().out
    )
    assert main(["identity-provider", "remove", "--municipality", "0606", "--for", "official"]) == 0
    assert rows(database) == []
    assert main(["identity-provider", "remove", "--municipality", "0606", "--for", "official"]) == 1


def test_a_bad_registration_is_refused_with_every_reason(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = ["identity-provider", "add", "--municipality", "0606", "--for", "citizen"]
    bad += ["--issuer", "http://broker.example", "--client-id", "balie", "--scope", "bsn"]
    bad += ["--token-auth", "client_secret_jwt", "--email-domains", "@schiedam"]
    assert main(bad) == 2
    message = capsys.readouterr().err
    for reason in ("https://", "client secret", "token auth", "openid", "without @"):
        assert reason in message, message
    assert rows(database) == []
    unknown = ["identity-provider", "add", "--municipality", "9999", "--for", "official"]
    unknown += ["--issuer", "https://idp.example", "--client-id", "x", "--token-auth", "private_key_jwt"]
    assert main(unknown) == 2 and "no municipality with CBS code 9999" in capsys.readouterr().err


def test_a_jwt_names_its_issuer_and_a_state_its_sign_in_without_being_taken() -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"iss": "https://idp.example"}).encode()).rstrip(b"=")
    assert unverified_issuer(f"e30.{payload.decode()}.sig") == "https://idp.example"
    for junk in (None, "", "a.b", "e30.!!!.x", "e30.WzFd.x", 42):  # WzFd: [1], not an object
        assert unverified_issuer(junk) == ""
    pending = {"abc": {"purpose": "official:1234", "nonce": "n", "code_verifier": "v", "started_at": 1}}
    session = {PENDING_KEY: pending}
    assert pending_purpose(session, "abc") == "official:1234"
    assert pending_purpose(session, "other") is None and pending_purpose(None, None) is None
    assert session == {PENDING_KEY: pending}  # still there for the party that finishes it
