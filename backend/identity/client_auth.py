"""How the app proves who it is at a provider's token endpoint (RFC 6749 2.3, OIDC Core 9).

- ``client_secret_basic``: HTTP Basic with the client id and secret each form-urlencoded first, as
  RFC 6749 2.3.1 requires (authlib joins them as they are, so a secret with ``+``, ``/`` or ``=``
  fails at a provider that decodes them).
- ``client_secret_post``: both in the form body.
- ``private_key_jwt``: a short-lived JWT signed with the app's own key (RFC 7523), which the NL GOV
  Assurance profile asks of confidential clients; the provider checks it against the public keys
  the app serves at :data:`JWKS_PATH`. Several keys may be configured: the first signs, all are
  published, so a new key can be announced before it is used and an old one kept until tokens
  signed with it are gone.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote_plus

from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

if TYPE_CHECKING:
    from backend.settings.identity import TokenAuth

JWKS_PATH: Final = "/oidc/jwks.json"
"""Where the app publishes the public half of its client keys (a stable URL to register)."""
SIGNING_ALGORITHMS: Final = {"RSA": "PS256", "EC": "ES256", "OKP": "EdDSA"}
"""The algorithm each kind of key signs with when the key names none."""
ENCRYPTION_ALGORITHMS: Final = {"RSA": "RSA-OAEP-256", "EC": "ECDH-ES+A256KW", "OKP": "ECDH-ES+A256KW"}
"""... and the key management algorithm an encryption key (``"use": "enc"``) is published with."""

ASSERTION_SECONDS: Final = 60
"""How long a client assertion is good for: it is sent at once, and a short life limits replay."""


def secret_basic(client: Any, method: str, uri: str, headers: dict[str, str], body: str) -> Any:
    """``client_secret_basic`` per RFC 6749 2.3.1: form-urlencode id and secret, then Basic."""
    user, password = quote_plus(client.client_id, safe=""), quote_plus(client.client_secret or "", safe="")
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    headers["Authorization"] = f"Basic {credentials}"
    return uri, headers, body


class ClientKeys:
    """The app's own key pairs for ``private_key_jwt``; the first one signs.

    A plain class, not a dataclass: Litestar converts the settings it injects field by field, and
    has no conversion for a union of key types."""

    __slots__ = ("keys",)

    def __init__(self, keys: tuple[RSAKey | ECKey | OKPKey, ...]) -> None:
        self.keys = keys

    def __repr__(self) -> str:  # never the private keys, in a log or a settings dump
        return f"ClientKeys({', '.join(str(key.kid) for key in self.keys)})"

    @classmethod
    def parse(cls, document: str) -> ClientKeys:
        """A JWKS of private keys (JSON); raises ValueError with what is wrong."""
        try:
            data = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ValueError("is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
            raise ValueError('must be a JWKS: {"keys": [...]} with at least one key')
        try:
            keys = KeySet.import_key_set(data).keys  # type: ignore[arg-type]  # checked above
        except Exception as exc:  # joserfc raises several kinds for malformed keys
            raise ValueError(f"holds a key that cannot be read ({type(exc).__name__})") from exc
        usable: list[RSAKey | ECKey | OKPKey] = []
        for key in keys:
            if not isinstance(key, RSAKey | ECKey | OKPKey) or not key.is_private:
                raise ValueError("must hold private RSA, EC or OKP keys (the app signs with them)")
            key.ensure_kid()
            usable.append(key)
        return cls(tuple(usable))

    @property
    def signing(self) -> RSAKey | ECKey | OKPKey:
        """The first key not marked ``"use": "enc"``."""
        for key in self.keys:
            if key.get("use") != "enc":
                return key
        raise ValueError("BALIE_OIDC_CLIENT_KEYS holds no signing key (every key is marked use=enc)")

    @property
    def decryption(self) -> tuple[RSAKey | ECKey | OKPKey, ...]:
        """The keys a provider may encrypt ID tokens to: those marked ``"use": "enc"``."""
        return tuple(key for key in self.keys if key.get("use") == "enc")

    def algorithm(self) -> str:
        alg = self.signing.get("alg")
        return str(alg) if alg else SIGNING_ALGORITHMS[self.signing.key_type]

    def public(self) -> dict[str, Any]:
        """The JWKS the app publishes: public halves only, each with its ``kid``, ``use`` and ``alg``."""
        published = []
        for key in self.keys:
            entry = dict(key.as_dict(private=False))
            entry.setdefault("use", "sig")
            defaults = ENCRYPTION_ALGORITHMS if entry["use"] == "enc" else SIGNING_ALGORITHMS
            entry.setdefault("alg", str(key.get("alg") or defaults[key.key_type]))
            published.append(entry)
        return {"keys": published}


class KeyAssertion(PrivateKeyJWT):  # type: ignore[misc]  # authlib is untyped
    """``private_key_jwt`` with a one-minute assertion (authlib's default lives an hour)."""

    def __init__(self, token_endpoint: str, keys: ClientKeys) -> None:
        super().__init__(token_endpoint, alg=keys.algorithm())
        self.keys = keys

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        return private_key_jwt_sign(
            self.keys.signing,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            header={"kid": self.keys.signing.kid, "typ": "JWT"},
            alg=self.alg,
            expires_in=ASSERTION_SECONDS,
        )


def register(client: Any, method: TokenAuth, keys: ClientKeys | None, token_endpoint: str) -> None:
    """Teach an authlib client ``method`` (it must also be the client's ``token_endpoint_auth_method``)."""
    if method == "client_secret_basic":
        client.register_client_auth_method(("client_secret_basic", secret_basic))
    elif method == "private_key_jwt":
        if keys is None:
            raise ValueError("private_key_jwt needs the app's client keys (BALIE_OIDC_CLIENT_KEYS)")
        client.register_client_auth_method(KeyAssertion(token_endpoint, keys))
