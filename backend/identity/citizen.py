"""DigiD for citizens: before the waiting room when the service requires it, or when the official
asks during the call. The result is bound to the participant whose join link started it."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Final

import structlog
from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.tokens import join_window, participant_for_join_token
from backend.clock import Clock
from backend.crypto import Keyring, SealError
from backend.db.models import Participant
from backend.i18n import N_
from backend.identity import binding, levels
from backend.identity.claims import actor_of, bsn_from, claim_at, represents_someone
from backend.identity.errors import LoginFailed, ProviderUnavailable
from backend.identity.official import unavailable
from backend.identity.parties import Parties, pending_purpose
from backend.live import LivePages
from backend.settings import Settings
from backend.web import NO_STORE, page, see_other

log = structlog.get_logger()
CLAIM_PROBLEMS: Final[dict[str, dict[str, str]]] = {
    "missing_bsn": {
        "title": N_("DigiD gaf uw burgerservicenummer niet door"),
        "message": N_(
            "U bent ingelogd, maar wij kregen uw burgerservicenummer niet mee. Dat ligt niet aan u. "
            "Probeer het later opnieuw of bel uw gemeente."
        ),
    },
    "missing_level": {
        "title": N_("Wij weten niet hoe u bent ingelogd"),
        "message": N_(
            "U bent ingelogd, maar DigiD gaf niet door met welk niveau. Dat ligt niet aan u. "
            "Probeer het later opnieuw of bel uw gemeente."
        ),
    },
    "representation": {
        "title": N_("U logde in voor iemand anders"),
        "message": N_(
            "U logde in met een machtiging, voor iemand anders. Voor deze afspraak moet u met uw "
            "eigen DigiD inloggen. Log opnieuw in en kies niet voor een machtiging."
        ),
    },
    "unknown_level": {
        "title": N_("Wij weten niet hoe u bent ingelogd"),
        "message": N_(
            "U bent ingelogd, maar wij kennen het niveau niet dat DigiD doorgaf. Dat ligt niet aan u. "
            "Probeer het later opnieuw of bel uw gemeente."
        ),
    },
}
RETURN_CONTEXT: Final = b"digid-return"


def _return_keyring(settings: Settings) -> Keyring:
    # The join token must come back after DigiD, but is only ever stored hashed: it waits in the
    # sign-in state sealed, and is gone once the sign-in finishes.
    return Keyring.derived(settings.secret_key.reveal(), "digid-return")


def _seal_token(settings: Settings, token: str) -> str:
    return base64.urlsafe_b64encode(
        _return_keyring(settings).seal(token.encode(), context=RETURN_CONTEXT)
    ).decode()


def _open_token(settings: Settings, sealed: object) -> str | None:
    if not isinstance(sealed, str):
        return None
    try:
        return (
            _return_keyring(settings).open(base64.urlsafe_b64decode(sealed), context=RETURN_CONTEXT).decode()
        )
    except (SealError, ValueError):
        return None


async def _joinable(db: AsyncSession, settings: Settings, token: str, now: dt.datetime) -> Participant | None:
    participant = await participant_for_join_token(db, token)
    if participant is None or not participant.appointment.is_active:
        return None
    if now > join_window(participant.appointment, settings.join).closes_at:
        return None
    return participant


async def publish_identity(live: LivePages, participant: Participant) -> None:
    """Tell the official's call page and desk (after the commit): they reload the badge."""
    appointment = participant.appointment
    await live.identified(appointment.id, participant.id, participant.identity_level or "")
    await live.desks_changed(appointment.team_id, appointment.id)


class DigidSignIn(Controller):
    include_in_schema = False
    cache_control = NO_STORE

    @get("/j/{token:str}/digid", opt={"throttle": True})
    async def start(
        self,
        request: Request[Any, Any, Any],
        parties: Parties,
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
        token: str,
        next_page: str | None = Parameter(query="next", default=None, required=False),
    ) -> Redirect | Template:
        """A link (ADR 0010): the redirect to DigiD must not be a form's answer under the page's CSP."""
        participant = await _joinable(db_session, settings, token, clock())
        if participant is None:
            return page(request, "pages/link_invalid.html", status_code=404)
        level = binding.requested_level(participant)
        after = "call" if next_page == "call" else "room"
        # The appointment's municipality's own DigiD broker client, if it has one.
        citizen_party, _ = await parties.for_municipality(
            db_session, participant.appointment.team.municipality_id, "citizen"
        )
        await db_session.commit()
        try:
            url = await citizen_party.begin(
                request.session,
                context={
                    "participant": str(participant.id),
                    "token": _seal_token(settings, token),
                    "next": after,
                },
                params={"acr_values": levels.acr_for(level, settings.identity.loa_map)},
            )
        except ProviderUnavailable as exc:
            return unavailable(request, exc, f"/j/{token}")
        return see_other(url)

    @get("/digid/terug")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        parties: Parties,
        live: LivePages,
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
    ) -> Redirect | Template:
        purpose = pending_purpose(request.session, request.query_params.get("state"))
        citizen_party, _ = await parties.by_purpose(db_session, purpose, "citizen")
        try:
            login = await citizen_party.finish(request.session, dict(request.query_params.items()))
        except LoginFailed as exc:
            participant, token = await self._from_context(db_session, settings, exc.context, clock())
            log.warning("DigiD sign-in failed", reason=exc.reason, provider_error=exc.provider_error or None)
            await audit.identity_failed(
                db_session,
                request,
                reason=exc.reason,
                participant=participant,
                details={"provider_error": exc.provider_error} if exc.provider_error else None,
            )
            if isinstance(exc, ProviderUnavailable):
                return unavailable(request, exc, f"/j/{token}" if token else "/")
            if exc.reason == "encrypted_id_token":
                return self._problem(
                    request,
                    token,
                    title=N_("Inloggen met DigiD lukt nu niet"),
                    message=N_(
                        "DigiD stuurt uw gegevens versleuteld, maar deze website kan ze niet openen. "
                        "Dat ligt niet aan u. Probeer het later opnieuw of bel uw gemeente."
                    ),
                )
            return self._problem(
                request,
                token,
                title=N_("Inloggen met DigiD is niet gelukt"),
                message=N_("Het inloggen met DigiD kon niet worden afgemaakt. Probeer het opnieuw."),
            )
        participant, token = await self._from_context(db_session, settings, login.context, clock())
        if participant is None or token is None:
            await audit.identity_failed(
                db_session, request, reason="participant_gone", participant=participant
            )
            return page(request, "pages/link_invalid.html", status_code=404)
        identity = settings.identity
        bsn_value = claim_at(login.claims, identity.bsn_claim)
        level_value = claim_at(login.claims, identity.loa_claim)
        level = levels.level_of(level_value, identity.loa_map)
        missing = self._claim_problem(identity.bsn_claim, bsn_value, identity.loa_claim, level_value, level)
        acting = represents_someone(login.claims)
        representative = actor_of(login.claims) if acting == "act" else None
        allowed = participant.appointment.service.allows_representation and representative is not None
        if acting is not None and not allowed:
            # Whoever signed in acts for someone else: not their own identity, unless the service
            # allows that, and then the token's BSN is the citizen's and ``act`` names who acts.
            missing = ("representation", {"claim": acting})
        if missing is not None:
            reason, details = missing
            await audit.identity_failed(
                db_session, request, reason=reason, participant=participant, details=details
            )
            problem = CLAIM_PROBLEMS[reason]
            return self._problem(request, token, title=problem["title"], message=problem["message"])
        try:
            binding.bind(
                binding.identity_keyring(settings),
                participant,
                bsn=bsn_from(bsn_value),
                level=level,
                now=clock(),
                representative=representative if allowed else None,
            )
        except binding.Refused as refused:  # raised before anything on the participant changed
            return await self._refused(request, db_session, participant, token, refused.reason, level)
        audit.identity_verified(
            db_session, participant, participant.identity_level or level, request, represented=allowed
        )
        await db_session.commit()
        await publish_identity(live, participant)
        after = login.context.get("next")
        if after == "call" or participant.state in ("waiting", "admitted", "in_call"):
            return see_other(f"/j/{token}/wachtkamer")
        return see_other(f"/j/{token}")

    @staticmethod
    def _claim_problem(
        bsn_claim: str, bsn_value: object, loa_claim: str, level_value: object, level: str
    ) -> tuple[str, dict[str, str]] | None:
        """What is missing from a sign-in that did succeed at the provider: its own reason, never
        "invalid BSN" or "level too low" for a claim that never came."""
        if bsn_value is None:
            return "missing_bsn", {"claim": bsn_claim}
        if level_value is None:
            return "missing_level", {"claim": loa_claim}
        if level == levels.NONE:
            return "unknown_level", {"claim": loa_claim, "value": str(level_value)[:100]}
        return None

    async def _from_context(
        self, db: AsyncSession, settings: Settings, context: dict[str, Any], now: dt.datetime
    ) -> tuple[Participant | None, str | None]:
        token = _open_token(settings, context.get("token"))
        participant = await _joinable(db, settings, token, now) if token else None
        if participant is not None and str(participant.id) != context.get("participant"):
            return None, None
        return participant, token

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        participant: Participant,
        token: str,
        reason: str,
        level: str,
    ) -> Template:
        need = (
            binding.requested_level(participant)
            if participant.identity_requested_at
            else binding.required_level(participant)
        )
        details = {"level": level, "required": need} if reason == "level_too_low" else {}
        result = "failure" if reason == "invalid_bsn" else "refused"
        await audit.identity_failed(
            db, request, reason=reason, participant=participant, result=result, details=details
        )
        if reason == "level_too_low":
            return page(
                request,
                "pages/identity/level_too_low.html",
                status_code=403,
                token=token,
                have=levels.LABELS.get(level, levels.LABELS["none"]),
                need=levels.LABELS[need],
                next="call" if participant.identity_requested_at else "room",
            )
        if reason == "invalid_bsn":
            return self._problem(
                request,
                token,
                title=N_("Uw gegevens kloppen niet"),
                message=N_(
                    "Wij kregen van DigiD geen geldig burgerservicenummer. "
                    "Probeer het opnieuw of bel uw gemeente."
                ),
            )
        if reason == "bsn_unreadable":
            return self._problem(
                request,
                None,
                title=N_("Dit lukt nu niet"),
                message=N_(
                    "Wij kunnen uw eerdere inlog met DigiD nu niet controleren. "
                    "Bel uw gemeente, dan helpen wij u verder."
                ),
                status_code=409,
            )
        return self._problem(
            request,
            None,
            title=N_("Dit is niet de persoon van de afspraak"),
            message=N_(
                "U bent met DigiD ingelogd als iemand anders dan de persoon die deze afspraak heeft gemaakt. "
                "Gebruik de link van uw eigen afspraak, of bel uw gemeente."
            ),
            status_code=403,
        )

    def _problem(
        self,
        request: Request[Any, Any, Any],
        token: str | None,
        *,
        title: str,
        message: str,
        status_code: int = 400,
    ) -> Template:
        return page(
            request,
            "pages/identity/problem.html",
            status_code=status_code,
            title=title,
            message=message,
            retry_digid=f"/j/{token}/digid" if token else None,
        )
