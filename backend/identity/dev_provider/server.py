"""authlib's authorization server, wired to Litestar for the development provider.

authlib's server is synchronous; the storage it needs is not. Each endpoint therefore does its
asynchronous work around the synchronous call: the token endpoint loads (and at once deletes, so a
code works only once) the authorization code from the store first, and the authorization endpoint
stores the code authlib generated afterwards. Codes live in a Litestar store, so several app nodes
can share the provider.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import rfc9207
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from litestar import Request, Response
from litestar.stores.base import Store

CODE_SECONDS: Final = 300


@dataclass(frozen=True)
class DevClient(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: frozenset[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri  # exactly: no prefix, no trailing slash, no query

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class IssuedCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    acr: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str] | None:
        return None

    def dump(self) -> bytes:
        return json.dumps(dataclasses.asdict(self)).encode()

    @classmethod
    def load(cls, raw: bytes) -> IssuedCode:
        return cls(**json.loads(raw))


class LitestarOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """authlib's request, built from data a Litestar handler has already read."""

    def __init__(self, request: Request[Any, Any, Any], data: Mapping[str, str]) -> None:
        # authlib insists on https except on loopback; this provider runs on development hosts only.
        uri = str(request.url).replace("http://", "https://", 1)
        super().__init__(request.method, uri, headers=request.headers)
        self.payload = BasicOAuth2Payload(dict(data))
        self.issued: IssuedCode | None = None
        """Set by the grant when it issues a code (the caller stores it)."""
        self.preloaded: IssuedCode | None = None
        """Set by the caller before the token endpoint runs (the code taken from the store)."""

    @property
    def args(self) -> dict[str, str]:
        return dict(self.payload.data)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.payload.data)


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: LitestarOAuth2Request) -> None:
        data = request.payload.data
        request.issued = IssuedCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri") or request.client.get_default_redirect_uri(),
            scope=request.scope or "",
            user=dict(request.user),
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            acr=request.user.get("acr"),
        )

    def query_authorization_code(self, code: str, client: DevClient) -> IssuedCode | None:
        issued: IssuedCode | None = self.request.preloaded
        if issued is None or issued.code != code or issued.client_id != client.get_client_id():
            return None
        if time.time() - issued.auth_time > CODE_SECONDS:
            return None
        return issued

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Already gone: the token endpoint took it out of the store before asking authlib."""

    def authenticate_user(self, authorization_code: IssuedCode) -> dict[str, Any]:
        return authorization_code.user


class StrictCodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, confidential ones too (OAuth 2.0 Security BCP)."""

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        if not grant.request.payload.data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge'", redirect_uri=redirect_uri)
        if grant.request.payload.data.get("code_challenge_method", "plain") != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256'", redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


class IdTokens(OpenIDCode):  # type: ignore[misc]
    def __init__(self, issuer: str, key: RSAKey) -> None:
        super().__init__(require_nonce=True)
        self.issuer = issuer
        self.key = key

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # the relying party checks its own nonce; this provider keeps no history

    def resolve_client_private_key(self, client: DevClient) -> RSAKey:
        return self.key

    def get_client_algorithm(self, client: DevClient) -> str:
        return "RS256"

    def get_encode_header(self, client: DevClient) -> dict[str, str]:
        return {"alg": "RS256", "kid": str(self.key.kid)}

    def get_client_claims(self, client: DevClient) -> dict[str, Any]:
        return {"iss": self.issuer, "aud": [client.get_client_id()], "exp": int(time.time()) + 300}

    def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
        return UserInfo({k: v for k, v in user.items() if k != "acr"})


class IssuerParameter(rfc9207.IssuerParameter):  # type: ignore[misc]
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer

    def add_issuer_parameter(
        self, authorization_server: AuthorizationServer, response: Response[Any]
    ) -> None:
        # authlib's version reads `response.location` (Flask, Django); a Litestar response has headers.
        location = response.headers.get("location") or response.headers.get("Location")
        if location:
            response.headers.pop("Location", None)
            response.headers["location"] = add_params_to_uri(location, {"iss": self.issuer})


class DevAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, issuer: str, key: RSAKey, clients: Mapping[str, DevClient], codes: Store) -> None:
        super().__init__(scopes_supported=["openid", "profile"])
        self.issuer = issuer
        self.key = key
        self.clients = dict(clients)
        self.codes = codes
        self.register_grant(CodeGrant, [StrictCodeChallenge(required=True), IdTokens(issuer, key)])
        self.register_extension(IssuerParameter(issuer))
        self.register_token_generator("default", BearerTokenGenerator(lambda **_: generate_token(42)))

    def query_client(self, client_id: str) -> DevClient | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Access tokens are not kept: this provider has no user info endpoint to spend them on."""

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # the handlers build it (see LitestarOAuth2Request)

    def handle_response(self, status: int, body: Any, headers: Any) -> Response[Any]:
        header_map = dict(headers or [])
        if isinstance(body, dict):
            return Response(
                content=body, status_code=status, headers=header_map, media_type="application/json"
            )
        return Response(content=body or "", status_code=status, headers=header_map)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: nothing listens."""

    async def store_code(self, request: LitestarOAuth2Request) -> None:
        if request.issued is not None:
            await self.codes.set(request.issued.code, request.issued.dump(), expires_in=CODE_SECONDS)

    async def take_code(self, code: str | None) -> IssuedCode | None:
        """The code from the store, deleted at once: a second use finds nothing (invalid_grant)."""
        if not code:
            return None
        raw = await self.codes.get(code)
        if raw is None:
            return None
        await self.codes.delete(code)
        issued: IssuedCode = IssuedCode.load(raw)
        return issued
