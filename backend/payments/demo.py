"""The demo's fees: what Rotterdam's Burgerzaken asks for in a call (amounts as in a fee ordinance
of 2026; the articles are the table's numbering)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Fee, FeeDue, Service, Team


async def add_demo_fees(session: AsyncSession, team: Team) -> None:
    services = {s.slug: s for s in await session.scalars(select(Service).where(Service.team_id == team.id))}
    birth, notice = services.get("geboorteaangifte"), services.get("ondertrouw")
    if birth is not None:
        session.add(
            Fee(
                service_id=birth.id,
                description="Afschrift van de geboorteakte",
                ordinance_article="Tarieventabel 1.1.3",
                amount_cents=1710,
                due=FeeDue.CALL,
                translations={"en": {"description": "Copy of the birth certificate"}},
            )
        )
    if notice is not None:
        session.add_all(
            [
                Fee(
                    service_id=notice.id,
                    description="Trouwboekje",
                    ordinance_article="Tarieventabel 1.1.8",
                    amount_cents=3760,
                    due=FeeDue.CALL,
                    translations={"en": {"description": "Marriage booklet"}},
                ),
                Fee(
                    service_id=notice.id,
                    description="Afschriften van de huwelijksakte (€ 17,10 per stuk)",
                    ordinance_article="Tarieventabel 1.1.3",
                    amount_cents=1710,
                    min_cents=1710,
                    max_cents=17100,
                    due=FeeDue.CALL,
                    translations={"en": {"description": "Copies of the marriage certificate (€17.10 each)"}},
                ),
            ]
        )
