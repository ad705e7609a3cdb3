"""Client authentication at the token endpoint: the encodings and the app's own keys."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from backend.identity.client_auth import ClientKeys, KeyAssertion, secret_basic
from backend.settings import Settings, SettingsError


def private_jwks(*algs: str) -> str:
    keys = []
    for alg in algs:
        key = (
            ECKey.generate_key("P-256", private=True)
            if alg.startswith("ES")
            else RSAKey.generate_key(2048, private=True)
        )
        keys.append({**key.as_dict(private=True), "alg": alg})
    return json.dumps({"keys": keys})


def test_basic_credentials_are_form_urlencoded_first() -> None:
    """RFC 6749 2.3.1: ``+``, ``/`` and ``=`` in a secret are percent-encoded before base64."""
    client = SimpleNamespace(client_id="balie staff", client_secret="a+b/c=d")
    _, headers, _ = secret_basic(client, "POST", "https://op.example/token", {}, "")
    scheme, encoded = headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "balie+staff:a%2Bb%2Fc%3Dd"


def test_the_first_key_signs_a_one_minute_assertion_and_all_public_halves_are_published() -> None:
    keys = ClientKeys.parse(private_jwks("ES256", "PS256"))
    published = keys.public()["keys"]
    assert [k["kid"] for k in published] == [str(k.kid) for k in keys.keys]
    assert all("d" not in k and k["use"] == "sig" for k in published)
    assertion = KeyAssertion("https://op.example/token", keys).sign(
        SimpleNamespace(client_id="balie-staff"), "https://op.example/token"
    )
    token = jwt.decode(assertion, keys.signing, algorithms=["ES256"])
    assert token.header["kid"] == keys.signing.kid and token.header["alg"] == "ES256"
    claims = token.claims
    assert claims["iss"] == claims["sub"] == "balie-staff" and claims["aud"] == "https://op.example/token"
    assert claims["exp"] - claims["iat"] == 60 and claims["jti"]
    assert "ClientKeys(" in repr(keys) and '"d"' not in repr(keys)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{nope", "is not JSON"),
        ('{"keys": []}', "must be a JWKS"),
        (json.dumps({"keys": [RSAKey.generate_key(2048).as_dict(private=False)]}), "must hold private"),
        ("/no/such/file.json", "cannot read"),
    ],
)
def test_bad_client_keys_are_refused_with_what_is_wrong(raw: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env({"BALIE_DATA_DIR": str(tmp_path), "BALIE_OIDC_CLIENT_KEYS": raw})


def test_private_key_jwt_needs_the_client_keys_which_may_come_from_a_file(tmp_path: Path) -> None:
    env = {"BALIE_DATA_DIR": str(tmp_path), "BALIE_OFFICIAL_OIDC_TOKEN_AUTH": "private_key_jwt"}
    with pytest.raises(SettingsError, match="BALIE_OIDC_CLIENT_KEYS is required"):
        Settings.from_env(env)
    path = tmp_path / "keys.json"
    path.write_text(private_jwks("PS256"))
    settings = Settings.from_env({**env, "BALIE_OIDC_CLIENT_KEYS": str(path)})
    assert settings.identity.client_keys is not None and settings.identity.client_keys.algorithm() == "PS256"


def test_an_issuer_is_kept_exactly_as_written(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"BALIE_DATA_DIR": str(tmp_path), "BALIE_OFFICIAL_OIDC_ISSUER": " https://op.example/realms/x/ "}
    )
    assert settings.identity.official.issuer == "https://op.example/realms/x/"
