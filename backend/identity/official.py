"""Officials sign in with their municipality's OpenID provider; sign-out ends the local session.

A sign-in starts with a GET (a link on the sign-in page), not with a form: the answer redirects to
the provider, and browsers hold a form's redirect to the page's CSP ``form-action 'self'`` (ADR
0010). Nothing is at stake in starting one: the provider's answer only counts in the session that
started it (``state``, ``nonce`` and PKCE).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.clock import Clock
from backend.db.models import Official
from backend.desk.auth import SESSION_KEY, SIGNED_IN_AT
from backend.i18n import N_
from backend.identity import officials, sessions
from backend.identity.claims import claim_at
from backend.identity.clients import dev_issuer, uses_dev_provider
from backend.identity.errors import LoginFailed, ProviderUnavailable
from backend.identity.groups import grants_from, managed_from
from backend.identity.logout import ProviderSessions
from backend.identity.parties import Parties, pending_purpose, unverified_issuer
from backend.live import LivePages
from backend.settings import Settings
from backend.tenancy import staff
from backend.web import NO_STORE, page, see_other

log = structlog.get_logger()
Form = Body(media_type=RequestEncodingType.URL_ENCODED)
SIGN_IN = "/balie/inloggen"
START_SIGN_IN = "/balie/inloggen/start"
ID_TOKEN_KEY = "id_token"  # noqa: S105 - a session key, not a secret
PARTY_KEY = "signed_in_through"
"""The purpose of the party the official signed in through (whom to sign out at)."""


def unavailable(request: Request[Any, Any, Any], exc: LoginFailed, retry: str) -> Template:
    log.warning("identity provider unavailable", reason=exc.reason)
    return page(
        request,
        "pages/identity/problem.html",
        status_code=503,
        title=N_("Inloggen lukt nu niet"),
        message=N_("De inlogdienst is nu niet bereikbaar. Probeer het over een paar minuten opnieuw."),
        retry=retry,
    )


async def _failed(db: AsyncSession, request: Request[Any, Any, Any], exc: LoginFailed) -> None:
    log.warning("official sign-in failed", reason=exc.reason, provider_error=exc.provider_error or None)
    await audit.sign_in_failed(db, request, reason=exc.reason, provider_error=exc.provider_error)


async def _sign_in_page(
    request: Request[Any, Any, Any],
    settings: Settings,
    parties: Parties,
    db: AsyncSession,
    *,
    status_code: int = 200,
    **values: Any,
) -> Template:
    """The officials' sign-in page: the default provider and each municipality's own."""
    return page(
        request,
        "pages/identity/official_sign_in.html",
        status_code=status_code,
        development=uses_dev_provider(settings, "official"),
        providers=await parties.providers(db, "official"),
        **values,
    )


class OfficialSignIn(Controller):
    path = "/balie"
    include_in_schema = False
    cache_control = NO_STORE

    @get("/inloggen")
    async def form(
        self, request: Request[Any, Any, Any], settings: Settings, parties: Parties, db_session: AsyncSession
    ) -> Template:
        signed_out = request.query_params.get("uitgelogd") == "1"
        invited = request.query_params.get("uitnodiging") == "1"
        return await _sign_in_page(
            request, settings, parties, db_session, signed_out=signed_out, invited=invited
        )

    @get("/inloggen/kies")
    async def choose(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        parties: Parties,
        db_session: AsyncSession,
        email: str = "",
    ) -> Template:
        """The provider for an e-mail address; a page that goes on by itself (a form's redirect to
        the provider would be held by form-action 'self', ADR 0010)."""
        email = email.strip()[:254]
        chosen = await parties.by_email(db_session, email) if "@" in email else None
        if chosen is None:
            return await _sign_in_page(
                request,
                settings,
                parties,
                db_session,
                status_code=400 if email else 200,
                email=email,
                email_error=N_("Vul uw e-mailadres op het werk in, bijvoorbeeld naam@gemeente.nl.")
                if "@" not in email
                else N_("Bij dit e-mailadres kennen wij geen organisatie. Kies uw organisatie hieronder."),
            )
        return page(
            request,
            "pages/identity/official_sign_in.html",
            chosen=chosen,
            go_to=f"{START_SIGN_IN}?aanbieder={chosen.id}",
        )

    @get("/inloggen/start", opt={"throttle": True})
    async def start(
        self,
        request: Request[Any, Any, Any],
        parties: Parties,
        db_session: AsyncSession,
        aanbieder: str = "",
    ) -> Redirect | Template:
        party = parties.default("official")
        if aanbieder:
            try:
                provider = await parties.by_id(db_session, UUID(aanbieder), "official")
            except ValueError:
                provider = None
            if provider is None:
                return see_other(SIGN_IN)  # a stale or mangled link: choose again
            party = parties.party_of(provider)
        await db_session.commit()  # end the read before the session store writes the pending sign-in
        try:
            url = await party.begin(request.session)
        except ProviderUnavailable as exc:
            return unavailable(request, exc, SIGN_IN)
        return see_other(url)

    @get("/inloggen/terug")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        parties: Parties,
        provider_sessions: ProviderSessions,
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
    ) -> Redirect | Template:
        # Finished by the party that began it: an answer from A's provider is never checked as B's.
        purpose = pending_purpose(request.session, request.query_params.get("state"))
        party, provider = await parties.by_purpose(db_session, purpose, "official")
        try:
            login = await party.finish(request.session, dict(request.query_params.items()))
        except ProviderUnavailable as exc:
            await _failed(db_session, request, exc)
            return unavailable(request, exc, SIGN_IN)
        except LoginFailed as exc:
            await _failed(db_session, request, exc)
            encrypted = exc.reason == "encrypted_id_token"
            return page(
                request,
                "pages/identity/problem.html",
                status_code=400,
                title=N_("Inloggen is niet gelukt"),
                message=N_(
                    "Uw organisatie stuurt de inloggegevens versleuteld, maar de Digitale Balie heeft "
                    "geen sleutel om ze te openen. Vraag de beheerder om een sleutel in te stellen."
                )
                if encrypted
                else N_("Het inloggen kon niet worden afgemaakt. Probeer het opnieuw."),
                retry=None if encrypted else SIGN_IN,
            )
        groups = claim_at(login.claims, settings.identity.groups_claim)
        if groups is None:  # the provider sent no groups at all: its set-up, not this official
            await audit.sign_in_failed(
                db_session,
                request,
                reason="missing_groups",
                object_id=str(login.claims["sub"])[:64],
            )
            return page(
                request,
                "pages/identity/problem.html",
                status_code=403,
                title=N_("Uw organisatie gaf uw teams niet door"),
                message=N_(
                    "U bent ingelogd bij uw organisatie, maar die gaf niet door bij welke teams u hoort. "
                    "Dat ligt niet aan u: vraag de beheerder van de inlogdienst om de groepen mee te sturen."
                ),
            )
        grants = grants_from(groups, settings.identity.group_map)
        teams = await officials.teams_for(db_session, grants)
        managed = await officials.municipalities_for(
            db_session, managed_from(groups, settings.identity.group_map)
        )
        allowed = await parties.allowed_municipalities(db_session, provider)
        if allowed is not None:  # a provider grants teams and roles of its own municipality only
            teams = await officials.of_municipalities(db_session, teams, allowed)
            managed &= allowed
        invitation = await staff.held_by(db_session, request.session, clock())
        if invitation is not None:
            refused = staff.refusal(invitation, login.claims, allowed)
            if refused is not None:
                request.session.pop(staff.INVITATION_KEY, None)
                await audit.sign_in_failed(
                    db_session, request, reason=refused, object_id=str(login.claims["sub"])[:64]
                )
                return page(
                    request,
                    "pages/identity/problem.html",
                    status_code=403,
                    title=N_("Deze uitnodiging is niet voor u"),
                    message=staff.OTHER_EMAIL
                    if refused == "invitation_other_email"
                    else staff.OTHER_MUNICIPALITY,
                )
        dev = dev_issuer(settings) if uses_dev_provider(settings, "official") else None
        official = await officials.provision(
            db_session,
            login.claims,
            teams,
            dev_issuer=dev,
            managed=managed,
            invited=invitation is not None,
            # only the deployment's own provider names platform admins, never a municipality's
            platform_admin=allowed is None and str(login.claims["sub"]) in settings.identity.platform_admins,
        )
        if official is None:
            await db_session.commit()  # memberships the provider took away are gone
            await audit.sign_in_failed(
                db_session, request, reason="no_access", object_id=str(login.claims["sub"])[:64]
            )
            return page(
                request,
                "pages/identity/problem.html",
                status_code=403,
                title=N_("Geen toegang"),
                message=N_(
                    "U bent ingelogd bij uw organisatie, maar u heeft geen toegang tot de Digitale Balie. "
                    "Vraag de beheerder van uw team om u toegang te geven."
                ),
            )
        if invitation is not None:
            await staff.accept(db_session, invitation, official, clock())
            audit.invitation_accepted(db_session, request, official, invitation)
        audit.signed_in(db_session, official, request, party.config.issuer)
        await db_session.commit()
        sid = login.claims.get("sid")
        if isinstance(sid, str) and sid:  # a back-channel logout may name only the provider's session
            await provider_sessions.remember(party.config.issuer, sid, official.id)
        sessions.start_fresh(
            request,
            {
                SESSION_KEY: str(official.id),
                SIGNED_IN_AT: clock().timestamp(),  # by the app's clock, as signed_out_at is
                ID_TOKEN_KEY: login.id_token,  # server-side: the hint to sign out at the provider
                PARTY_KEY: party.purpose,
            },
        )
        return see_other("/balie")

    @post("/uitloggen")
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        parties: Parties,
        settings: Settings,
        db_session: AsyncSession,
    ) -> Redirect | Template:
        """End the session here, then at the provider too: otherwise the next "Inloggen" on a shared
        counter PC signs the previous official in again without asking."""
        session = request.session or {}
        official_id, id_token = session.get(SESSION_KEY), session.get(ID_TOKEN_KEY)
        official_party, _ = await parties.by_purpose(db_session, session.get(PARTY_KEY), "official")
        if official_id:
            await audit.signed_out(db_session, official_id, request)
        sessions.end(request)
        signed_out = f"{SIGN_IN}?uitgelogd=1"
        url = (
            await official_party.logout_url(id_token, f"{settings.public_url}{signed_out}")
            if official_id and isinstance(id_token, str) and id_token
            else None
        )
        if url is None:
            return see_other(signed_out)
        # A page, not a redirect: a form's redirect to the provider would be held by the CSP's
        # form-action 'self' (ADR 0010); the page goes on by itself, with a link as well.
        return page(request, "pages/identity/signing_out.html", logout_url=url)

    @post(
        "/uitloggen/backchannel",
        status_code=200,
        opt={"throttle": False},  # the provider's server, maybe for many officials at once
    )
    async def back_channel_logout(
        self,
        parties: Parties,
        provider_sessions: ProviderSessions,
        live: LivePages,
        clock: Clock,
        db_session: AsyncSession,
        data: dict[str, str] = Form,
    ) -> Response[Any]:
        """OpenID Connect Back-Channel Logout 1.0: the provider ended an official's session; their
        sessions here end too (:mod:`backend.identity.logout`) and their open pages close."""
        token = data.get("logout_token")
        found = await parties.by_issuer(db_session, unverified_issuer(token), "official")
        if found is None:
            return _logout_error(400, "invalid_request", "unknown issuer")
        await db_session.commit()  # end the read: SQLite's writers (the replay store) wait for it
        official_party = found[0]
        issuer = official_party.config.issuer
        try:
            claims = await official_party.verify_logout(token)
        except ProviderUnavailable as exc:
            log.warning("back-channel logout: provider unavailable", reason=exc.reason)
            return _logout_error(503, "temporarily_unavailable", "the provider's keys could not be read")
        except LoginFailed as exc:
            log.warning("back-channel logout refused", reason=exc.reason)
            return _logout_error(400, "invalid_request", exc.reason)
        if not await provider_sessions.first_use(issuer, str(claims["jti"])):
            return _logout_error(400, "invalid_request", "replayed")
        official, by = await _official_of_logout(db_session, provider_sessions, issuer, claims)
        if official is not None:
            official.signed_out_at = clock()
            audit.signed_out_by_provider(db_session, official.id, issuer, by)
            await db_session.commit()
            await live.signed_out([m.team_id for m in official.memberships], official.id)
        return Response(None, status_code=200, headers={"cache-control": "no-store"})


async def _official_of_logout(
    db: AsyncSession, provider_sessions: ProviderSessions, issuer: str, claims: dict[str, Any]
) -> tuple[Official | None, str]:
    sub, sid = claims.get("sub"), claims.get("sid")
    if isinstance(sub, str) and sub:
        found = await db.scalar(select(Official).where(Official.issuer == issuer, Official.subject == sub))
        return found, "sub"
    official_id = await provider_sessions.official_for(issuer, str(sid))
    return (await db.get(Official, official_id) if official_id else None), "sid"


def _logout_error(status: int, error: str, description: str) -> Response[Any]:
    return Response(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"cache-control": "no-store"},
    )
