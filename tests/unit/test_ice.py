"""ICE servers and TURN REST credentials (signalling/ice.py) and their settings."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest

from backend.settings import Secret, Settings, SettingsError, SignallingSettings
from signalling import ice

STUN = {"urls": ["stun:turn.example.nl:3478"]}
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def with_turn(**extra: object) -> SignallingSettings:
    return SignallingSettings(
        ice_servers=(STUN,),
        turn_urls=("turn:turn.example.nl:3478?transport=udp", "turns:turn.example.nl:5349"),
        turn_secret=Secret("coturn-secret"),
        **extra,  # type: ignore[arg-type]
    )


def test_credential_follows_the_turn_rest_scheme() -> None:
    expires = NOW + dt.timedelta(minutes=20)
    issued = ice.turn_credential("coturn-secret", "call-ab12", expires)
    assert issued.username == f"{int(expires.timestamp())}:call-ab12"
    expected = hmac.new(b"coturn-secret", issued.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(issued.credential) == expected and len(expected) == 20


def test_pages_without_media_get_the_configured_list_only() -> None:
    assert ice.ice_servers(with_turn(), purpose=None, now=NOW) == [STUN]
    assert ice.ice_servers(SignallingSettings(ice_servers=(STUN,)), purpose="call", now=NOW) == [STUN]


def test_media_pages_get_turn_for_at_most_their_lifetime_under_a_random_name() -> None:
    lifetime = dt.timedelta(minutes=20)
    first = ice.ice_servers(with_turn(), purpose="call", lifetime=lifetime, now=NOW)
    second = ice.ice_servers(with_turn(), purpose="check", lifetime=lifetime, now=NOW)
    assert first[0] == STUN
    turn = first[1]
    assert turn["urls"] == ["turn:turn.example.nl:3478?transport=udp", "turns:turn.example.nl:5349"]
    expiry, _, user = turn["username"].partition(":")
    assert int(expiry) == int((NOW + lifetime).timestamp())
    assert user.startswith("call-") and second[1]["username"].split(":")[1].startswith("check-")
    assert turn["username"] != second[1]["username"]  # a fresh random id each time
    capped = ice.ice_servers(with_turn(), purpose="call", lifetime=dt.timedelta(days=30), now=NOW)
    assert int(capped[1]["username"].split(":")[0]) == int((NOW + dt.timedelta(days=1)).timestamp())


def test_call_lifetime_is_the_appointment_length() -> None:
    assert ice.call_lifetime(NOW, NOW + dt.timedelta(minutes=30)) == dt.timedelta(minutes=30)
    assert ice.call_lifetime(NOW, NOW) == ice.MIN_LIFETIME
    assert ice.refresh_after(dt.timedelta(minutes=20)) == 600


def test_stun_only_keeps_stun_urls() -> None:
    servers = [STUN, {"urls": "turn:x", "username": "u", "credential": "c"}, {"urls": ["stuns:y", "turns:y"]}]
    assert ice.stun_only(servers) == [STUN, {"urls": ["stuns:y"]}]


def test_turn_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "BALIE_SECRET_KEY": "k",
            "BALIE_TURN_URLS": "turn:t.example.nl:3478?transport=udp, turn:t.example.nl:3478?transport=tcp",
            "BALIE_TURN_SECRET": "s3cret",
            "BALIE_ICE_HOST_ADDRESSES": "127.0.0.1",
            "BALIE_CHECK_MAX_SECONDS": "30",
        }
    )
    assert settings.signalling.turn_urls == (
        "turn:t.example.nl:3478?transport=udp",
        "turn:t.example.nl:3478?transport=tcp",
    )
    assert settings.signalling.turn_secret.reveal() == "s3cret" and "s3cret" not in repr(settings)
    assert settings.signalling.ice_host_addresses == ("127.0.0.1",)
    assert settings.check.max_seconds == 30.0


@pytest.mark.parametrize(
    "env",
    [
        {"BALIE_TURN_URLS": "turn:t.example.nl"},  # no secret
        {"BALIE_TURN_URLS": "https://t.example.nl", "BALIE_TURN_SECRET": "s"},
    ],
)
def test_bad_turn_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"BALIE_SECRET_KEY": "k", **env})
