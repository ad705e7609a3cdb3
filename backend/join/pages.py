"""Join pages. A GET never changes anything (mail scanners open links); only the POST "Start" does.

They speak the language the appointment was booked in, unless the visitor chose another
(:mod:`backend.i18n` has the rule)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, route
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.link_errors import link_invalid
from backend.booking.tokens import join_token_holder, join_window, participant_for_join_token
from backend.clock import Clock
from backend.db.models import Municipality, Participant
from backend.identity import binding, levels
from backend.localized import localized_list
from backend.settings import Settings
from backend.timefmt import long_datetime, time_of_day
from backend.web import LINK_METHODS, NO_STORE, default_locale_for, page, request_locale, see_other


async def _usable(
    request: Request[Any, Any, Any], db_session: AsyncSession, token: str
) -> Participant | None:
    """The participant whose link this is, if the appointment can still be joined at all; the
    page is then in the appointment's language, unless the visitor chose another."""
    participant = await participant_for_join_token(db_session, token)
    if participant is None or not participant.appointment.is_active:
        return None
    default_locale_for(request, participant.appointment.locale)
    return participant


async def _not_usable(request: Request[Any, Any, Any], db_session: AsyncSession, token: str) -> Template:
    """The link does not work: with its municipality's number if the token is one we handed out
    (used, withdrawn, of a cancelled or past appointment)."""
    holder = await join_token_holder(db_session, token)
    return link_invalid(request, holder.appointment if holder is not None else None)


class JoinPages(Controller):
    path = "/j"
    include_in_schema = False
    cache_control = NO_STORE

    @route("/{token:str}", http_method=LINK_METHODS)
    async def landing(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
        token: str,
    ) -> Template:
        participant = await _usable(request, db_session, token)
        now = clock()
        if participant is None:
            return await _not_usable(request, db_session, token)
        appointment = participant.appointment
        window = join_window(appointment, settings.join)
        if now > window.closes_at:
            return link_invalid(request, appointment)
        locale = request_locale(request)
        return page(
            request,
            "pages/join/landing.html",
            token=token,
            appointment=appointment,
            participant=participant,
            start_text=long_datetime(appointment.start_at, locale),
            too_early=now < window.opens_at,
            opens_text=time_of_day(window.opens_at, locale),
            **_identity(participant),
        )

    @post("/{token:str}/start")
    async def start(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
        token: str,
    ) -> Template | Redirect:
        participant = await _usable(request, db_session, token)
        if participant is None or not join_window(participant.appointment, settings.join).contains(clock()):
            return see_other(f"/j/{token}")
        if not binding.may_enter(participant):
            return see_other(f"/j/{token}")  # DigiD first: the landing page offers it
        return see_other(f"/j/{token}/wachtkamer")

    @get("/{token:str}/wachtkamer")
    async def room(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        clock: Clock,
        db_session: AsyncSession,
        token: str,
    ) -> Template | Redirect:
        participant = await _usable(request, db_session, token)
        if participant is None:
            return await _not_usable(request, db_session, token)
        if not join_window(participant.appointment, settings.join).contains(clock()):
            return see_other(f"/j/{token}")
        if not binding.may_enter(participant):
            return see_other(f"/j/{token}")
        appointment = participant.appointment
        locale = request_locale(request)
        return page(
            request,
            "pages/join/room.html",
            token=token,
            appointment=appointment,
            participant=participant,
            start_text=long_datetime(appointment.start_at, locale),
            checklist=localized_list(appointment.service, "documents", locale),
            identify_requested=participant.identity_requested_at is not None,
        )


def _identity(participant: Participant) -> dict[str, Any]:
    """What the landing page says about DigiD: needed first, or already done (and at which level)."""
    need = binding.required_level(participant)
    return {
        "digid_needed": not binding.may_enter(participant),
        "digid_need_label": levels.LABELS[need],
        "digid_level_label": levels.LABELS.get(participant.identity_level or "none", levels.LABELS["none"]),
        "digid_done": participant.identity_level is not None,
    }


@get("/apparaattest", include_in_schema=False)
async def device_check(
    request: Request[Any, Any, Any], db_session: AsyncSession, gemeente: str = ""
) -> Template:
    """The camera and microphone test; ``?gemeente=<slug>`` (the links in pages and emails about an
    appointment) names whom to call when it does not work, and shows the page in its colours."""
    municipality = (
        await db_session.scalar(select(Municipality).where(Municipality.slug == gemeente[:60]))
        if gemeente
        else None
    )
    if municipality is not None and not municipality.active:
        municipality = None
    return page(request, "pages/device_check.html", municipality=municipality)
