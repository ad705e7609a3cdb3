"""``/balie/logboek``: the audit trail of the team admin's municipality, newest first, 50 a page."""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.db.models import Appointment, AuditEvent, Mandate, Municipality, Official, Service, Team
from backend.desk.auth import current_official, request_scope
from backend.i18n import N_
from backend.tenancy.scope import Scope
from backend.timefmt import local
from backend.web import NO_STORE, page

PAGE_SIZE: Final = 50
SHOWN_DETAILS: Final = ("what", "reason", "level", "required", "outcome", "method", "via")
"""Details safe to show: codes and levels (audit details never hold personal data anyway)."""


async def admin_municipalities(db: AsyncSession, scope: Scope) -> set[UUID]:
    """The municipalities whose trail the official reads: those they manage, and those of the teams
    they administer (none while acting under a mandate)."""
    found = set(scope.admin_municipality_ids)
    if scope.admin_team_ids:
        found |= set(await db.scalars(select(Team.municipality_id).where(Team.id.in_(scope.admin_team_ids))))
    return found


class AuditLog(Controller):
    path = "/balie/logboek"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"official": Provide(current_official)}

    @get("/")
    async def events(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, official: Official, pagina: int = 1
    ) -> Template:
        """An HTML page (with ``-> Any`` Litestar sent it as application/json: browsers showed the
        source)."""
        municipalities = await admin_municipalities(db_session, request_scope(request))
        if not municipalities:
            await audit.access_denied(db_session, official, "audit_log", "", request)
            raise NotAuthorizedException()
        # Their own events, and those of their officials acting for another municipality.
        scope = AuditEvent.municipality_id.in_(municipalities) | AuditEvent.shared_with_id.in_(municipalities)
        total = int(await db_session.scalar(select(func.count()).select_from(AuditEvent).where(scope)) or 0)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        number = min(max(pagina, 1), pages)
        rows = list(
            await db_session.scalars(
                select(AuditEvent)
                .where(scope)
                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                .offset((number - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
        )
        names = await _official_names(db_session, rows)
        towns = await _municipality_names(db_session, rows)
        labels = await _object_labels(db_session, rows, municipalities)
        return page(
            request,
            "pages/desk/audit_log.html",
            official=official,
            events=[_row(event, names, towns, labels) for event in rows],
            page_number=number,
            pages=pages,
            total=total,
            check=await trail_check(db_session, municipalities),
        )


async def trail_check(db: AsyncSession, municipalities: set[UUID]) -> dict[str, Any]:
    """The hash chains of the reader's municipalities, checked on every view of the page: how many
    events, and the names of the municipalities whose chain was changed outside the app.

    Only the reader's own chains are read (the events of their officials acting for another
    municipality are in that municipality's chain, checked on its page), but each one whole: the
    cost grows with the trail, one indexed read and one SHA-256 per event, about 35 ms per thousand
    events (SQLite and PostgreSQL alike, on the test machine): a tenth of a second for a trail of a
    few thousand events, seconds at a hundred thousand. Before trails get there, keep a checkpoint
    (the seq and hash verified last, by ``balie audit verify`` or the worker) and check only the
    events after it here. On SQLite the read holds the write lock while it runs, as every
    transaction does there.
    """
    reports = await audit.verify_chains(db, municipalities)
    broken = [r.municipality_id for r in reports if not r.ok and r.municipality_id is not None]
    found = await db.execute(select(Municipality.id, Municipality.name).where(Municipality.id.in_(broken)))
    return {
        "events": sum(r.events for r in reports),
        "broken": sorted(name for _, name in found),
        "problems": sum(len(r.breaks) for r in reports),
    }


async def _official_names(db: AsyncSession, rows: list[AuditEvent]) -> dict[str, str]:
    ids = set()
    for event in rows:
        if event.actor.startswith("official:"):
            try:
                ids.add(UUID(event.actor.removeprefix("official:")))
            except ValueError:
                continue
    if not ids:
        return {}
    found = await db.execute(select(Official.id, Official.name).where(Official.id.in_(ids)))
    return {f"official:{official_id}": name for official_id, name in found}


async def _municipality_names(db: AsyncSession, rows: list[AuditEvent]) -> dict[UUID, str]:
    ids = {event.municipality_id for event in rows if event.mandate_id and event.municipality_id}
    if not ids:
        return {}
    found = await db.execute(select(Municipality.id, Municipality.name).where(Municipality.id.in_(ids)))
    return {municipality_id: name for municipality_id, name in found}


def _ids_of(rows: list[AuditEvent], object_type: str) -> set[UUID]:
    found = set()
    for event in rows:
        if event.object_type == object_type:
            try:
                found.add(UUID(event.object_id))
            except ValueError:
                continue
    return found


async def _object_labels(
    db: AsyncSession, rows: list[AuditEvent], municipalities: set[UUID]
) -> dict[tuple[str, str], str]:
    """What the objects are called, for the reader: an appointment's code, a team's or service's
    name, a mandate's two municipalities. Only objects of the reader's own municipalities get a
    label: a refused attempt at another municipality's object shows its id, nothing more."""
    labels: dict[tuple[str, str], str] = {}
    if ids := _ids_of(rows, "appointment"):
        found = await db.execute(
            select(Appointment.id, Appointment.reference).where(
                Appointment.id.in_(ids), Appointment.municipality_id.in_(municipalities)
            )
        )
        labels |= {("appointment", str(i)): reference for i, reference in found}
    if ids := _ids_of(rows, "team"):
        found = await db.execute(
            select(Team.id, Team.name).where(Team.id.in_(ids), Team.municipality_id.in_(municipalities))
        )
        labels |= {("team", str(i)): name for i, name in found}
    if ids := _ids_of(rows, "service"):
        found = await db.execute(
            select(Service.id, Service.name)
            .join(Team, Team.id == Service.team_id)
            .where(Service.id.in_(ids), Team.municipality_id.in_(municipalities))
        )
        labels |= {("service", str(i)): name for i, name in found}
    if ids := _ids_of(rows, "municipality") & municipalities:
        found = await db.execute(select(Municipality.id, Municipality.name).where(Municipality.id.in_(ids)))
        labels |= {("municipality", str(i)): name for i, name in found}
    if ids := _ids_of(rows, "mandate"):
        for mandate in await db.scalars(
            select(Mandate).where(
                Mandate.id.in_(ids),
                Mandate.grantor_id.in_(municipalities) | Mandate.grantee_id.in_(municipalities),
            )
        ):
            labels[("mandate", str(mandate.id))] = f"{mandate.grantor.name} → {mandate.grantee.name}"
    return labels


_TYPE_NAMES: Final = {
    "appointment": N_("afspraak"),
    "team": N_("team"),
    "mandate": N_("mandaat"),
    "participant": N_("deelnemer"),
    "document": N_("document"),
    "official": N_("medewerker"),
    "service": N_("dienst"),
    "municipality": N_("gemeente"),
}


def changes_text(details: dict[str, Any]) -> str:
    """``field: before → after`` for each value an admin changed (``details["before"]`` and
    ``["after"]``, as the audit events of admin pages write them)."""
    before, after = details.get("before"), details.get("after")
    if not isinstance(after, dict):
        return ""
    old = before if isinstance(before, dict) else {}
    parts = []
    for name, value in after.items():
        was = old.get(name)
        if was != value and not isinstance(value, dict | list):
            parts.append(
                f"{name}: {'-' if was in (None, '') else was} → {'-' if value in (None, '') else value}"
            )
    return "; ".join(parts)


def _row(
    event: AuditEvent,
    names: dict[str, str],
    towns: dict[UUID, str],
    labels: dict[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    label = (labels or {}).get((event.object_type, event.object_id))
    on_behalf = towns.get(event.municipality_id) if event.mandate_id and event.municipality_id else None
    return {
        "on_behalf_of": on_behalf,
        "time": local(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        "actor": names.get(event.actor, event.actor),
        "action": event.action,
        "object_type": _TYPE_NAMES.get(event.object_type, event.object_type),
        "object": label or event.object_id,
        "result": event.result,
        "origin": event.origin,
        "details": ", ".join(
            part
            for part in (
                *(f"{k}: {event.details[k]}" for k in SHOWN_DETAILS if k in (event.details or {})),
                changes_text(event.details or {}),
            )
            if part
        ),
    }
