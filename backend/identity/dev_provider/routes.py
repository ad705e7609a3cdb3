"""``/dev/idp``: discovery, keys, the authorize page (pick a test person and a level) and tokens."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.i18n import N_
from backend.identity import levels
from backend.identity.clients import DEV_CLIENT_IDS, DEV_PATH, dev_issuer
from backend.identity.dev_provider import people
from backend.identity.dev_provider.keys import public_jwks
from backend.identity.dev_provider.server import DevAuthorizationServer, LitestarOAuth2Request
from backend.settings import LEVELS, Settings
from backend.web import NO_STORE, page

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def dev_server(dev_idp: DevAuthorizationServer | None, settings: Settings) -> DevAuthorizationServer:
    """The app's development provider; 404 on every route when there is none (production)."""
    if dev_idp is None or not settings.development:
        raise NotFoundException()
    return dev_idp


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {key: value for key, value in request.query_params.items()}


class DevIdentityProvider(Controller):
    path = DEV_PATH
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"server": Provide(dev_server, sync_to_thread=False)}

    @get("/.well-known/openid-configuration")
    async def discovery(self, server: DevAuthorizationServer, settings: Settings) -> dict[str, Any]:
        issuer = dev_issuer(settings)
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_parameter_supported": False,
            "acr_values_supported": list(settings.identity.loa_map),
            "authorization_response_iss_parameter_supported": True,
        }

    @get("/jwks")
    async def jwks(self, server: DevAuthorizationServer) -> dict[str, object]:
        return public_jwks(server.key)

    @get("/authorize")
    async def authorize_page(
        self,
        request: Request[Any, Any, Any],
        server: DevAuthorizationServer,
        settings: Settings,
        db_session: AsyncSession,
    ) -> Template | Response[Any]:
        oauth_request = LitestarOAuth2Request(request, _query(request))
        try:
            server.get_consent_grant(request=oauth_request, end_user=None)
        except OAuth2Error as error:
            return _refused(request, server, oauth_request, error)
        return await self._choose(request, settings, db_session, server, oauth_request)

    @post("/authorize")
    async def authorize(
        self,
        request: Request[Any, Any, Any],
        server: DevAuthorizationServer,
        settings: Settings,
        db_session: AsyncSession,
        data: dict[str, str] = Form,
    ) -> Template | Response[Any]:
        oauth_request = LitestarOAuth2Request(request, _query(request))
        user = (
            None
            if data.get("cancel")
            else await self._person(server, settings, db_session, data, oauth_request)
        )
        # End the read before the code store writes: on SQLite an open transaction holds the write lock.
        await db_session.commit()
        try:
            grant = server.get_consent_grant(request=oauth_request, end_user=user)
        except OAuth2Error as error:
            return _refused(request, server, oauth_request, error)
        if user is None and not data.get("cancel"):
            return await self._choose(request, settings, db_session, server, oauth_request, missing=True)
        response: Response[Any] = server.create_authorization_response(
            request=oauth_request, grant_user=user, grant=grant
        )
        await server.store_code(oauth_request)
        return response

    @post("/token")
    async def token(self, request: Request[Any, Any, Any], server: DevAuthorizationServer) -> Response[Any]:
        form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
        oauth_request = LitestarOAuth2Request(request, form)
        oauth_request.preloaded = await server.take_code(form.get("code"))
        response: Response[Any] = server.create_token_response(oauth_request)
        return response

    async def _choose(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        db_session: AsyncSession,
        server: DevAuthorizationServer,
        oauth_request: LitestarOAuth2Request,
        *,
        missing: bool = False,
    ) -> Template:
        is_citizen = oauth_request.payload.client_id == DEV_CLIENT_IDS["citizen"]
        wanted = oauth_request.payload.data.get("acr_values", "").split()
        wanted_level = levels.level_of(wanted[0], settings.identity.loa_map) if wanted else levels.MIDDEN
        return page(
            request,
            "pages/dev_idp/authorize.html",
            status_code=422 if missing else 200,
            is_citizen=is_citizen,
            citizens=people.CITIZENS,
            officials=[] if is_citizen else await people.officials(db_session, server.issuer),
            new_official=people.NEW_OFFICIAL,
            levels=[(level, levels.LABELS[level]) for level in LEVELS if level != levels.NONE],
            wanted_level=wanted_level if wanted_level != levels.NONE else levels.MIDDEN,
            action=f"{DEV_PATH}/authorize?{request.url.query}",
            missing=missing,
        )

    async def _person(
        self,
        server: DevAuthorizationServer,
        settings: Settings,
        db_session: AsyncSession,
        data: dict[str, str],
        oauth_request: LitestarOAuth2Request,
    ) -> dict[str, Any] | None:
        identity = settings.identity
        if oauth_request.payload.client_id == DEV_CLIENT_IDS["citizen"]:
            claims = people.citizen_claims(data.get("bsn", ""))
            level = data.get("level", "")
            if claims is None or level not in LEVELS or level == levels.NONE:
                return None
            value = levels.acr_for(level, identity.loa_map)
            claims[identity.bsn_claim] = data["bsn"]
            if identity.loa_claim == "acr":
                claims["acr"] = value
            else:
                claims[identity.loa_claim] = value
            return claims
        if data.get("sub") == people.NEW_OFFICIAL:
            claims = people.new_official_claims(data.get("new_name", ""), data.get("new_email", ""))
            return None if claims is None else {**claims, identity.groups_claim: []}
        for person in await people.officials(db_session, server.issuer):
            if person["sub"] == data.get("sub"):
                groups = person.pop("groups")
                return {**person, identity.groups_claim: groups}
        return None


def _refused(
    request: Request[Any, Any, Any],
    server: DevAuthorizationServer,
    oauth_request: LitestarOAuth2Request,
    error: OAuth2Error,
) -> Template | Response[Any]:
    """Back to the client when its redirect URI is known and right; otherwise a page, never a redirect."""
    if error.redirect_uri:
        error.state = oauth_request.payload.state
        response: Response[Any] = server.handle_error_response(oauth_request, error)
        return response
    return page(
        request,
        "pages/error.html",
        status_code=400,
        title=N_("Ongeldig inlogverzoek"),
        message=N_(
            "Dit inlogverzoek klopt niet: de website die u hierheen stuurde "
            "is niet bekend of gebruikt een verkeerd adres."
        ),
    )
