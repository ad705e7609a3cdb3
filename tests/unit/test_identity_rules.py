"""The pure identity rules: elfproef, levels, group mapping, ID token claims, settings."""

from __future__ import annotations

import base64
import time

import pytest

from backend.identity import bsn, levels
from backend.identity.errors import LoginFailed
from backend.identity.groups import TeamGrant, grants_from
from backend.identity.id_token import Expected, check_claims
from backend.settings import DEFAULT_LOA_MAP, Settings, SettingsError

MIDDEN_ACR = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"


@pytest.mark.parametrize("number", ["999993653", "999990019", "999991772", "111222333", "123456782"])
def test_valid_bsns_pass_the_elfproef(number: str) -> None:
    assert bsn.is_valid(number)


@pytest.mark.parametrize(
    "number", ["123456789", "999993654", "000000000", "99999365", "9999936531", "99999365a", 999993653]
)
def test_invalid_bsns_fail(number: object) -> None:
    assert not bsn.is_valid(number)


def test_a_bsn_is_shown_masked() -> None:
    assert bsn.masked("999993653") == "*****3653"


def test_levels_map_and_compare() -> None:
    assert levels.level_of(MIDDEN_ACR, DEFAULT_LOA_MAP) == "midden"
    assert levels.level_of("substantieel", {}) == "substantieel"
    assert levels.level_of("urn:unknown", DEFAULT_LOA_MAP) == "none" and levels.level_of(None, {}) == "none"
    assert levels.satisfies("hoog", "midden") and not levels.satisfies("basis", "midden")
    assert levels.satisfies(None, "none") and not levels.satisfies(None, "basis")
    assert levels.acr_for("midden", DEFAULT_LOA_MAP) == MIDDEN_ACR
    assert levels.stricter("basis", "none") == "basis"


def test_groups_become_team_roles() -> None:
    groups = [
        "balie:0599:burgerzaken:official",
        "balie:0599:burgerzaken:admin",
        "balie:0363:wijk:official",
        "x",
        3,
    ]
    assert grants_from(groups, {}) == [
        TeamGrant("0363", "wijk", "official"),
        TeamGrant("0599", "burgerzaken", "admin"),
    ]
    table = {"CN=Balie-Beheer": ("0599/burgerzaken", "admin")}
    assert grants_from(["CN=Balie-Beheer", "balie:0363:wijk:official"], table) == [
        TeamGrant("0599", "burgerzaken", "admin")
    ]
    assert grants_from("not a list of groups", {}) == [] and grants_from(None, {}) == []


def expected() -> Expected:
    return Expected(issuer="https://idp", client_id="balie", nonce="n", algorithms=("RS256",))


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": "https://idp",
        "aud": "balie",
        "sub": "s",
        "iat": now,
        "exp": now + 60,
        "nonce": "n",
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://other"}, "wrong_iss"),
        ({"aud": ["other"]}, "wrong_aud"),
        ({"aud": ["balie", "other"]}, "wrong_azp"),
        ({"exp": -120}, "expired"),  # seconds from now: the times are made when the test runs
        ({"iat": 120}, "iat_in_future"),
        ({"iat": -3600}, "stale"),
        ({"iat": "yesterday"}, "missing_times"),
        ({"nonce": "old"}, "wrong_nonce"),
        ({"sub": ""}, "missing_sub"),
    ],
)
def test_id_token_claims_are_checked(overrides: dict[str, object], reason: str) -> None:
    now = int(time.time())
    overrides = {
        k: now + v if k in ("exp", "iat") and isinstance(v, int) else v for k, v in overrides.items()
    }
    with pytest.raises(LoginFailed) as failed:
        check_claims(claims(**overrides), expected(), now=time.time())
    assert failed.value.reason == reason


def test_good_claims_pass_within_the_clock_skew() -> None:
    check_claims(
        claims(exp=int(time.time()) - 30, aud=["balie", "x"], azp="balie"), expected(), now=time.time()
    )


def test_identity_settings_are_read_and_checked() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    settings = Settings.from_env(
        {
            "BALIE_SECRET_KEY": "s",
            "BALIE_IDENTITY_KEYS": f"2026-11:{key},2026-01:{key}",
            "BALIE_OFFICIAL_OIDC_GROUP_MAP": '{"Balie": ["0599/burgerzaken", "admin"]}',
            "BALIE_CITIZEN_OIDC_LOA_MAP": '{"urn:x": "hoog"}',
            "BALIE_CHANNELS": "redis",
        }
    )
    assert settings.identity.key_id == "2026-11" and len(settings.identity.keys) == 2
    assert settings.identity.group_map == {"Balie": ("0599/burgerzaken", "admin")}
    assert settings.identity.loa_map == {"urn:x": "hoog"}
    assert settings.sessions.store == "redis"  # sessions follow the channels backend to Redis
    for bad in (
        {"BALIE_IDENTITY_KEYS": "k1:short"},
        {"BALIE_IDENTITY_KEYS": f"k1:{key}", "BALIE_IDENTITY_KEY_ID": "k2"},
        {"BALIE_OFFICIAL_OIDC_ALGORITHMS": "RS256,HS256"},
        {"BALIE_OFFICIAL_OIDC_ALGORITHMS": "none"},
        {"BALIE_OFFICIAL_OIDC_GROUP_MAP": '{"g": ["no-slash", "admin"]}'},
        {"BALIE_CITIZEN_OIDC_LOA_MAP": '{"urn:x": "super"}'},
        {"BALIE_SESSION_STORE": "files"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env({"BALIE_SECRET_KEY": "s", **bad})
    with pytest.raises(SettingsError, match="IDENTITY_KEYS"):
        Settings.from_env({"BALIE_ENV": "production", "BALIE_SECRET_KEY": "s"})


def test_a_stored_bsn_that_cannot_be_read_refuses_every_bsn() -> None:
    """Fail closed: after a lost key the link cannot be taken over with another BSN."""
    import datetime as dt
    import uuid

    from backend.crypto import Keyring
    from backend.db.models import Appointment, Participant, Service
    from backend.identity import binding

    before = Keyring.derived("the key before it was lost", "bsn")
    now = Keyring.derived("a new key", "bsn")
    appointment = Appointment(id=uuid.uuid4(), service=Service(required_loa="midden"), bsn_sealed=None)
    citizen = Participant(id=uuid.uuid4(), role="citizen", appointment=appointment, identity_level=None)
    binding.bind(before, citizen, bsn="999993653", level="midden", now=dt.datetime.now(dt.UTC))
    binding.bind(before, citizen, bsn="999993653", level="midden", now=dt.datetime.now(dt.UTC))  # same: fine
    with pytest.raises(binding.Refused) as refused:
        binding.bind(now, citizen, bsn="999990019", level="midden", now=dt.datetime.now(dt.UTC))
    assert refused.value.reason == "bsn_unreadable"
