"""The OpenID Connect relying party: authorization code flow with PKCE, built on authlib.

:meth:`RelyingParty.begin` remembers ``state``, ``nonce`` and the PKCE verifier in the visitor's
server-side session (:class:`~backend.identity.pending.PendingSignIn`) and returns the provider's
authorization URL; :meth:`RelyingParty.finish` takes the provider's answer, which must carry a
``state`` this session is waiting for (once only), swaps the code for tokens and checks the ID
token (:mod:`backend.identity.id_token`). Anything wrong raises
:class:`~backend.identity.errors.LoginFailed` with a reason code; the caller audits it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # authlib 1.7+ would rather use the httpx2 fork; httpx is what this project (and its tests) use.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from backend.clock import Clock, system_clock
from backend.identity import client_auth, id_token
from backend.identity.claims import merged
from backend.identity.client_auth import ClientKeys
from backend.identity.errors import LoginFailed, ProviderUnavailable, error_code
from backend.identity.pending import PendingSignIn, read_pending, write_pending
from backend.identity.provider import TIMEOUT, Metadata, OpenIdProvider
from backend.settings import Secret
from backend.settings.identity import ClaimsFrom, TokenAuth

PENDING_KEY: Final = "oidc"
MAX_PENDING: Final = 4
"""Sign-ins one session may have under way at once (a few tabs); older ones are dropped."""


@dataclass(frozen=True)
class ClientConfig:
    issuer: str
    client_id: str
    client_secret: Secret
    scope: str
    algorithms: tuple[str, ...]
    redirect_uri: str
    token_auth: TokenAuth = "client_secret_basic"  # noqa: S105 - a method name
    claims_from: ClaimsFrom = "both"
    keys: ClientKeys | None = None
    """The app's own keys, for ``private_key_jwt``."""


@dataclass(frozen=True)
class Login:
    """A finished sign-in: the ID token's claims and what :meth:`RelyingParty.begin` was given."""

    claims: dict[str, Any]
    context: dict[str, Any]
    id_token: str = ""
    """The ID token as the provider sent it (the hint for RP-initiated logout)."""


class RelyingParty:
    def __init__(
        self,
        config: ClientConfig,
        *,
        purpose: str,
        skew_seconds: int = 60,
        login_seconds: int = 600,
        fresh_login: bool = False,
        clock: Clock = system_clock,
    ) -> None:
        """``fresh_login``: the person must authenticate for this sign-in (``prompt=login`` and
        ``max_age``), and the ID token's ``auth_time`` must say so: a provider that reused an
        earlier session despite the prompt is refused."""
        self.config = config
        self.fresh_login = fresh_login
        self.clock = clock
        self.purpose = purpose
        self.provider = OpenIdProvider(config.issuer)
        self.skew_seconds = skew_seconds
        self.login_seconds = login_seconds

    def _client(self, token_endpoint: str = "") -> AsyncOAuth2Client:
        client = AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret.reveal(),
            scope=self.config.scope,
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=self.config.token_auth,
            timeout=TIMEOUT,
        )
        client_auth.register(client, self.config.token_auth, self.config.keys, token_endpoint)
        return client

    async def begin(
        self,
        session: MutableMapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> str:
        """Remember a new sign-in in ``session`` and return the URL to send the browser to."""
        metadata = await self.provider.metadata()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        extra = dict(params or {})
        if self.fresh_login:
            extra.update(prompt="login", max_age=str(self.login_seconds))
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint,
                state=state,
                nonce=nonce,
                code_verifier=verifier,
                **extra,
            )
        now = int(self.clock().timestamp())
        pending = {
            s: p
            for s, p in read_pending(session.get(PENDING_KEY)).items()
            if now - p.started_at < self.login_seconds
        }
        pending[state] = PendingSignIn(
            purpose=self.purpose,
            nonce=nonce,
            code_verifier=verifier,
            started_at=now,
            context=dict(context or {}),
        )
        newest = sorted(pending.items(), key=lambda item: item[1].started_at)[-MAX_PENDING:]
        session[PENDING_KEY] = write_pending(dict(newest))
        return str(url)

    async def finish(self, session: MutableMapping[str, Any], query: Mapping[str, str]) -> Login:
        """Check the provider's answer to this session's sign-in; one attempt per ``state``."""
        pending = self._take_pending(session, query.get("state"))
        try:
            return await self._finish(pending, query)
        except LoginFailed as exc:
            exc.context = dict(pending.context)
            raise

    async def _finish(self, pending: PendingSignIn, query: Mapping[str, str]) -> Login:
        metadata = await self.provider.metadata()
        # RFC 9207, for error responses too: an answer from a mixed-up provider is not believed,
        # whatever it says.
        iss = query.get("iss")
        if iss is not None and iss != self.config.issuer:
            raise LoginFailed("wrong_iss_parameter")
        if iss is None and metadata.iss_parameter_supported:
            raise LoginFailed("missing_iss_parameter")
        if "error" in query:
            raise LoginFailed("provider_error", provider_error=error_code(query.get("error")))
        code = query.get("code")
        if not code:
            raise LoginFailed("missing_code")
        token = await self._redeem(metadata.token_endpoint, code, pending.code_verifier)
        keys = self.config.keys
        claims = await id_token.verify(
            id_token.decrypted(token.get("id_token"), keys.decryption if keys else ()),
            self.provider.keys_for,
            id_token.Expected(
                issuer=self.config.issuer,
                client_id=self.config.client_id,
                nonce=pending.nonce,
                algorithms=self.config.algorithms,
                skew_seconds=self.skew_seconds,
                max_age_seconds=self.login_seconds,
                authenticated_after=pending.started_at if self.fresh_login else None,
            ),
            now=self.clock().timestamp(),
        )
        if self.config.claims_from != "id_token":
            found = await self._userinfo(metadata, token, str(claims["sub"]))
            claims = merged(claims, found, userinfo_first=self.config.claims_from == "userinfo")
        return Login(claims=claims, context=dict(pending.context), id_token=str(token.get("id_token")))

    async def verify_logout(self, token: object) -> dict[str, Any]:
        """A back-channel logout token's claims, checked against this provider and client."""
        return await id_token.verify_logout_token(
            token,
            self.provider.keys_for,
            id_token.Expected(
                issuer=self.config.issuer,
                client_id=self.config.client_id,
                nonce="",
                algorithms=self.config.algorithms,
                skew_seconds=self.skew_seconds,
            ),
            now=self.clock().timestamp(),
        )

    async def logout_url(self, id_token_hint: str, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the session at the provider too (OpenID Connect
        RP-Initiated Logout 1.0), or None when the provider offers no such endpoint."""
        try:
            endpoint = (await self.provider.metadata()).end_session_endpoint
        except ProviderUnavailable:
            return None  # signed out here in any case; the provider's session ends on its own
        if endpoint is None:
            return None
        query = {"client_id": self.config.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            query["id_token_hint"] = id_token_hint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def _userinfo(self, metadata: Metadata, token: dict[str, Any], sub: str) -> dict[str, Any]:
        """The userinfo response (OIDC Core 5.3), JSON or signed; its ``sub`` must be the ID token's."""
        required = self.config.claims_from == "userinfo"
        access_token = token.get("access_token")
        if metadata.userinfo_endpoint is None or not isinstance(access_token, str):
            if required:
                raise LoginFailed("no_userinfo", "no userinfo endpoint or no access token")
            return {}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
                response = await http.get(
                    metadata.userinfo_endpoint,
                    headers={"authorization": f"Bearer {access_token}", "accept": "application/json"},
                )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable("userinfo_failed", type(exc).__name__) from exc
        if response.status_code in (401, 403):
            raise LoginFailed("userinfo_refused", provider_error=_bearer_error(response))
        if response.status_code != 200:
            raise ProviderUnavailable("userinfo_failed", str(response.status_code))
        found = await self._userinfo_claims(response)
        if found.get("sub") != sub:
            raise LoginFailed("userinfo_sub_mismatch")  # OIDC Core 5.3.2: must not be used
        return found

    async def _userinfo_claims(self, response: httpx.Response) -> dict[str, Any]:
        if response.headers.get("content-type", "").split(";")[0].strip() == "application/jwt":
            found = await id_token.signed_claims(
                response.text.strip(), self.provider.keys_for, self.config.algorithms
            )
            # OIDC Core 5.3.2: a signed answer SHOULD name iss and aud; where it does, they must fit.
            id_token.check_issuer_and_audience(
                {"iss": self.config.issuer, "aud": self.config.client_id, **found},
                self.config.issuer,
                self.config.client_id,
            )
            return found
        try:
            document = response.json()
        except ValueError as exc:
            raise ProviderUnavailable("userinfo_failed", "not JSON") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable("userinfo_failed", "not a JSON object")
        return document

    def _take_pending(self, session: MutableMapping[str, Any], state: str | None) -> PendingSignIn:
        pending = read_pending(session.get(PENDING_KEY))
        entry = pending.pop(state, None) if state else None
        if entry is None or entry.purpose != self.purpose:
            # An answer this session did not ask for (login CSRF, a replay): whatever sign-in of
            # this kind was under way is abandoned too, so it has to start again from the beginning.
            pending = {s: p for s, p in pending.items() if p.purpose != self.purpose}
            entry = None
        if pending:
            session[PENDING_KEY] = write_pending(pending)
        else:
            session.pop(PENDING_KEY, None)
        if not state:
            raise LoginFailed("missing_state")
        if entry is None:
            raise LoginFailed("wrong_state")
        if int(self.clock().timestamp()) - entry.started_at >= self.login_seconds:
            raise LoginFailed("expired_state")
        return entry

    async def _redeem(self, token_endpoint: str, code: str, verifier: str) -> dict[str, Any]:
        try:
            async with self._client(token_endpoint) as client:
                token = await client.fetch_token(
                    token_endpoint, grant_type="authorization_code", code=code, code_verifier=verifier
                )
        except OAuthError as exc:
            # The provider refused the code: reused, issued for another redirect URI or PKCE challenge.
            raise LoginFailed("token_refused", provider_error=error_code(exc.error)) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable("token_endpoint_failed", type(exc).__name__) from exc
        return dict(token)


def _bearer_error(response: httpx.Response) -> str:
    """The ``error`` of a bearer token refusal (RFC 6750 3), from ``WWW-Authenticate``."""
    header = response.headers.get("www-authenticate", "")
    for part in header.replace(",", " ").split():
        name, _, value = part.partition("=")
        if name == "error":
            return error_code(value.strip('"'))
    return ""
