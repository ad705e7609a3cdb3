"""npm's certified ``oidc-provider`` as the other side of the sign-ins (tests/interop/provider/).

:func:`interop_provider` installs it on first use (``npm ci``, as the tests install Chromium),
writes its configuration (clients, test accounts, claims, signing keys), starts it with Node on a
loopback port (inside a network namespace when given its ``nsenter`` prefix) and waits for its
discovery document. The provider is another origin than the app: another port on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import ECKey, RSAKey

from tests.support import die_with_parent, free_port

PROVIDER_DIR = Path(__file__).parent / "provider"

DIGID_LEVELS = [
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",  # basis
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",  # midden
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard",  # substantieel
    "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",  # hoog
]
CITIZEN_CLIENT = "balie-digid"
OFFICIAL_CLIENT = "balie-staff"


def install() -> None:
    """``npm ci`` once per checkout: the provider and its dependencies from the lock file."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("Node.js and npm are missing (apt-get install nodejs npm)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PROVIDER_DIR, check=True)


def signing_key(alg: str = "RS256") -> dict[str, Any]:
    """A fresh private signing key as a JWK, with a key id."""
    key: RSAKey | ECKey
    if alg.startswith("ES"):
        key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": alg}, private=True)
    else:
        key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": alg}, private=True)
    key.ensure_kid()
    return dict(key.as_dict(private=True))


def encryption_key(alg: str = "RSA-OAEP-256") -> dict[str, Any]:
    """A fresh private RSA key for ID tokens encrypted to the app (``"use": "enc"``)."""
    key = RSAKey.generate_key(2048, parameters={"use": "enc", "alg": alg}, private=True)
    key.ensure_kid()
    return dict(key.as_dict(private=True))


@dataclass
class InteropProvider:
    port: int
    issuer: str
    config_path: Path
    process: subprocess.Popen[bytes]
    log: Path
    config: dict[str, Any] = field(default_factory=dict)

    def rotate(self, keys: list[dict[str, Any]]) -> None:
        """Replace the provider's signing keys (the first one signs)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/__control/jwks",
            data=json.dumps({"keys": keys}).encode(),
            method="POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def default_accounts() -> dict[str, dict[str, Any]]:
    return {
        "999993653": {"bsn": "999993653", "name": "Sanne de Boer"},
        "123456789": {"bsn": "123456789", "name": "Fout Nummer"},  # fails the elfproef
        "official-testgemeente": {
            "name": "Eva Jansen",
            "email": "eva.jansen@testgemeente.nl",
            "groups": ["balie:0599:burgerzaken:official"],
        },
    }


def app_clients(app_url: str, *, secret: str = "interop-secret+/=") -> list[dict[str, Any]]:
    """The app's two registrations: the DigiD broker's client and the staff provider's client."""
    return [
        {
            "client_id": CITIZEN_CLIENT,
            "client_secret": secret,
            "redirect_uris": [f"{app_url}/digid/terug"],
            "post_logout_redirect_uris": [f"{app_url}/"],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        },
        {
            "client_id": OFFICIAL_CLIENT,
            "client_secret": secret,
            "redirect_uris": [f"{app_url}/balie/inloggen/terug"],
            "post_logout_redirect_uris": [f"{app_url}/balie/inloggen?uitgelogd=1"],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        },
    ]


@contextmanager
def interop_provider(
    workdir: Path,
    clients: list[dict[str, Any]],
    *,
    accounts: dict[str, dict[str, Any]] | None = None,
    keys: list[dict[str, Any]] | None = None,
    id_token_claims: bool = True,
    prefix: list[str] | None = None,
    issuer_suffix: str = "",
    port: int | None = None,
) -> Iterator[InteropProvider]:
    """The provider on a free loopback port; ``id_token_claims=False`` keeps scope claims in userinfo
    only (the library's default, OIDC Core 5.4)."""
    install()
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}{issuer_suffix}"
    config = {
        "port": port,
        "issuer": issuer,
        "clients": clients,
        "accounts": accounts if accounts is not None else default_accounts(),
        "claims": {
            "openid": ["sub"],
            "profile": ["name"],
            "email": ["email"],
            "bsn": ["bsn"],
            "groups": ["groups"],
        },
        "jwks": {"keys": keys or [signing_key()]},
        "idTokenClaims": id_token_claims,
        "acrValues": DIGID_LEVELS,
    }
    config_path = workdir / f"provider-{port}.json"
    config_path.write_text(json.dumps(config))
    log = workdir / f"provider-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*(prefix or []), "node", str(PROVIDER_DIR / "provider.mjs"), str(config_path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    provider = InteropProvider(port, issuer, config_path, process, log, config)
    try:
        _wait_until_up(provider, prefix)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(provider: InteropProvider, prefix: list[str] | None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            raise RuntimeError(f"the interop provider exited:\n{provider.log_tail()}")
        if "interop provider" in provider.log_tail():
            return
        time.sleep(0.05)
    raise RuntimeError(f"the interop provider did not start:\n{provider.log_tail()}")


async def back_to_the_app(
    client: httpx.AsyncClient, op: InteropProvider, started: httpx.Response, form: dict[str, str]
) -> str:
    """Follow the app's 303 to the provider like a browser, answer its sign-in screen with ``form``,
    and return the URL the provider sends the browser back to (the app's callback, not yet opened)."""
    response = started
    for _ in range(10):  # authorize -> its sign-in screen -> ... -> the app
        assert response.status_code in (302, 303), f"{response.status_code} {response.text[:300]}"
        location = str(response.url.join(response.headers["location"]))
        if not location.startswith(op.issuer):
            return location
        response = await client.get(location)
        if response.status_code == 200 and "/interaction/" in location:
            response = await client.post(location, data=form)
    raise AssertionError("the provider never sent the browser back to the app")


async def through_provider(
    client: httpx.AsyncClient, op: InteropProvider, started: httpx.Response, form: dict[str, str]
) -> httpx.Response:
    """:func:`back_to_the_app`, then the app's answer to its callback."""
    return await client.get(await back_to_the_app(client, op, started, form))
