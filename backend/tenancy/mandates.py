"""Mandates (uitwijk): granted by A, accepted by B, running from-until, revocable by A.

A mandate's state follows from its dates and marks (:func:`status`), never from a stored status
that could go stale: an accepted mandate runs once its start is past and stops by itself at its end.
Every change is audited with what it was before and after, in both municipalities' trails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.booking.agenda_form import FormErrors, Message
from backend.db.models import Mandate, Membership, Municipality, MunicipalityAdmin, Official, Team
from backend.i18n import N_

PROPOSED: Final = "proposed"
"""Granted by A, waiting for B's answer."""
SCHEDULED: Final = "scheduled"
"""Accepted, its start still ahead."""
RUNNING: Final = "running"
DECLINED: Final = "declined"
REVOKED: Final = "revoked"
ENDED: Final = "ended"
"""Its end is past (accepted or not)."""
OPEN: Final = frozenset({PROPOSED, SCHEDULED, RUNNING})
"""States in which a mandate still counts for overlaps and can be revoked."""
REASON_MAX: Final = 1000


def status(mandate: Mandate, now: dt.datetime) -> str:
    if mandate.revoked_at is not None:
        return REVOKED
    if mandate.declined_at is not None:
        return DECLINED
    if now >= mandate.ends_at:
        return ENDED
    if mandate.accepted_at is None:
        return PROPOSED
    return RUNNING if now >= mandate.starts_at else SCHEDULED


def holds(mandate: Mandate, official_id: UUID, home_municipalities: Collection[UUID]) -> bool:
    """Whether the official may act under the mandate: one of B's officials it names (or any of
    B's officials when it names none)."""
    if mandate.grantee_id not in home_municipalities:
        return False
    return not mandate.official_ids or str(official_id) in mandate.official_ids


def team_ids_of(mandate: Mandate) -> frozenset[UUID]:
    return frozenset(UUID(team_id) for team_id in mandate.team_ids)


@dataclass(frozen=True)
class Grant:
    """What an admin of A asks for: checked by :func:`grant` before anything is stored."""

    grantee_id: UUID | None
    team_ids: frozenset[UUID]
    official_ids: frozenset[UUID]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    reason: str


def _overlap(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> bool:
    return a_start < b_end and b_start < a_end


async def home_municipalities(db: AsyncSession, official_id: UUID) -> set[UUID]:
    """The municipalities an official works for: those of their teams, and those they manage."""
    teams = await db.scalars(
        select(Team.municipality_id)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.official_id == official_id, Membership.deactivated_at.is_(None))
    )
    managed = await db.scalars(
        select(MunicipalityAdmin.municipality_id).where(MunicipalityAdmin.official_id == official_id)
    )
    return {*teams, *managed}


async def officials_of(db: AsyncSession, municipality_id: UUID) -> list[Official]:
    """The officials with a team in the municipality, by name (whom a mandate can name)."""
    rows = await db.scalars(
        select(Official)
        .join(Membership, Membership.official_id == Official.id)
        .join(Team, Team.id == Membership.team_id)
        .where(Team.municipality_id == municipality_id, Membership.deactivated_at.is_(None))
        .order_by(Official.name)
        .distinct()
    )
    return list(rows)


async def grant(
    db: AsyncSession,
    grantor: Municipality,
    request: Grant,
    *,
    by: Official,
    now: dt.datetime,
    origin: str = "",
) -> Mandate:
    """A proposed mandate of ``grantor`` for ``request``; :class:`FormErrors` (nothing stored) when
    a field is wrong or it overlaps an open mandate for one of the same teams."""
    errors: dict[str, Message] = {}
    grantee = await db.get(Municipality, request.grantee_id) if request.grantee_id else None
    if grantee is None:
        errors["grantee"] = (N_("Kies de gemeente die helpt."), {})
    elif grantee.id == grantor.id:
        errors["grantee"] = (N_("Een gemeente kan geen mandaat aan zichzelf geven."), {})
    own_teams = set(await db.scalars(select(Team.id).where(Team.municipality_id == grantor.id)))
    if not request.team_ids:
        errors["teams"] = (N_("Kies minstens één team."), {})
    elif not request.team_ids <= own_teams:
        errors["teams"] = (N_("Kies alleen teams van uw eigen gemeente."), {})
    if grantee is not None and request.official_ids:
        theirs = {official.id for official in await officials_of(db, grantee.id)}
        if not request.official_ids <= theirs:
            errors["officials"] = (N_("Kies alleen medewerkers van de gemeente die helpt."), {})
    if request.starts_at is None:
        errors["starts"] = (N_("Vul een begindatum in."), {})
    if request.ends_at is None:
        errors["ends"] = (N_("Vul een einddatum in."), {})
    elif request.starts_at is not None and request.ends_at <= request.starts_at:
        errors["ends"] = (N_("Het mandaat moet eindigen na het begin."), {})
    elif request.ends_at <= now:
        errors["ends"] = (N_("Deze einddatum is al voorbij."), {})
    reason = request.reason.strip()
    if not reason:
        errors["reason"] = (N_("Schrijf op waarom de andere gemeente helpt."), {})
    elif len(reason) > REASON_MAX:
        errors["reason"] = (N_("Gebruik hoogstens {n} tekens."), {"n": REASON_MAX})
    if not errors and grantee is not None and request.starts_at and request.ends_at:
        for other in await _open_between(db, grantor.id, grantee.id, now):
            if team_ids_of(other) & request.team_ids and _overlap(
                request.starts_at, request.ends_at, other.starts_at, other.ends_at
            ):
                errors["starts"] = (
                    N_("Er is al een mandaat voor dit team in deze periode. Trek dat eerst in."),
                    {},
                )
                break
    if errors or grantee is None or request.starts_at is None or request.ends_at is None:
        raise FormErrors(errors)
    mandate = Mandate(
        grantor_id=grantor.id,
        grantee_id=grantee.id,
        team_ids=sorted(str(team_id) for team_id in request.team_ids),
        official_ids=sorted(str(official_id) for official_id in request.official_ids),
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        reason=reason,
        granted_by=by.id,
    )
    db.add(mandate)
    await db.flush()
    audit.mandate_changed(db, mandate, by, "mandate.granted", before=None, origin=origin)
    await db.commit()
    return mandate


async def _open_between(
    db: AsyncSession, grantor_id: UUID, grantee_id: UUID, now: dt.datetime
) -> list[Mandate]:
    rows = await db.scalars(
        select(Mandate).where(
            Mandate.grantor_id == grantor_id,
            Mandate.grantee_id == grantee_id,
            Mandate.revoked_at.is_(None),
            Mandate.declined_at.is_(None),
            Mandate.ends_at > now,
        )
    )
    return list(rows)


class NotPossible(Exception):
    """The mandate is not in a state that allows this (accepting a revoked one, say)."""


async def answer(
    db: AsyncSession, mandate: Mandate, *, accept: bool, by: Official, now: dt.datetime, origin: str = ""
) -> None:
    """B accepts or declines a proposed mandate (the caller checked that ``by`` manages B)."""
    if status(mandate, now) != PROPOSED:
        raise NotPossible(status(mandate, now))
    before = audit.mandate_values(mandate)
    if accept:
        mandate.accepted_at, mandate.accepted_by = now, by.id
    else:
        mandate.declined_at, mandate.ended_by = now, by.id
    action = "mandate.accepted" if accept else "mandate.declined"
    audit.mandate_changed(db, mandate, by, action, before=before, origin=origin)
    await db.commit()


async def revoke(
    db: AsyncSession, mandate: Mandate, *, by: Official, now: dt.datetime, origin: str = ""
) -> None:
    """A withdraws the mandate; it stops counting on the next request (the caller closes sockets)."""
    if status(mandate, now) not in OPEN:
        raise NotPossible(status(mandate, now))
    before = audit.mandate_values(mandate)
    mandate.revoked_at, mandate.ended_by = now, by.id
    audit.mandate_changed(db, mandate, by, "mandate.revoked", before=before, origin=origin)
    await db.commit()


async def running_for(
    db: AsyncSession, official_id: UUID, now: dt.datetime, *, home: Collection[UUID] | None = None
) -> list[Mandate]:
    """The mandates the official may act under right now, by the grantor's name; ``home``: the
    official's own municipalities, when the caller knows them."""
    if home is None:
        home = await home_municipalities(db, official_id)
    if not home:
        return []
    rows = await db.scalars(
        select(Mandate).where(
            Mandate.grantee_id.in_(home),
            Mandate.accepted_at.is_not(None),
            Mandate.revoked_at.is_(None),
            Mandate.starts_at <= now,
            Mandate.ends_at > now,
        )
    )
    found = [m for m in rows if holds(m, official_id, home)]
    return sorted(found, key=lambda m: (m.grantor.name, m.starts_at))


async def of_municipalities(db: AsyncSession, municipality_ids: Iterable[UUID]) -> list[Mandate]:
    """Every mandate given or received by these municipalities, newest first."""
    ids = list(municipality_ids)
    if not ids:
        return []
    rows = await db.scalars(
        select(Mandate)
        .where(Mandate.grantor_id.in_(ids) | Mandate.grantee_id.in_(ids))
        .order_by(Mandate.created_at.desc())
    )
    return list(rows)
