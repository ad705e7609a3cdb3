"""A municipality's branding as its citizen pages load it: ``/{slug}/huisstijl.css`` (its checked
design tokens as CSS custom properties, after app.css) and ``/{slug}/logo`` (its sanitised logo).

Both addresses carry ``?v=`` with the municipality's ``brand_version``: a request with the current
version may be kept a year (a change raises the version, so pages ask for the new one); without it,
or with an old one, the answer is revalidated every time. The logo is served as a document of its
own with a policy that runs nothing, so even an SVG opened on its own cannot script.
"""

from __future__ import annotations

from typing import Final

from litestar import Controller, Response, get
from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Municipality, MunicipalityLogo
from backend.tenancy import branding

KEEP: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"
LOGO_POLICY: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


async def _municipality(db: AsyncSession, slug: str) -> Municipality:
    municipality = await db.scalar(
        select(Municipality).where(Municipality.slug == slug, Municipality.deactivated_at.is_(None))
    )
    if municipality is None:
        raise NotFoundException()
    return municipality


def _caching(municipality: Municipality, version: str) -> str:
    return KEEP if version == str(municipality.brand_version) else REVALIDATE


class BrandAssets(Controller):
    include_in_schema = False

    @get("/{slug:str}/huisstijl.css")
    async def stylesheet(self, db_session: AsyncSession, slug: str, v: str = "") -> Response[str]:
        municipality = await _municipality(db_session, slug)
        return Response(
            branding.stylesheet(municipality.brand_tokens or {}),
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": _caching(municipality, v)},
        )

    @get("/{slug:str}/logo")
    async def logo(self, db_session: AsyncSession, slug: str, v: str = "") -> Response[bytes]:
        municipality = await _municipality(db_session, slug)
        logo = await db_session.scalar(
            select(MunicipalityLogo).where(MunicipalityLogo.municipality_id == municipality.id)
        )
        if logo is None:
            raise NotFoundException()
        return Response(
            logo.data,
            media_type=logo.content_type,
            headers={
                "Cache-Control": _caching(municipality, v),
                "Content-Security-Policy": LOGO_POLICY,
                "X-Content-Type-Options": "nosniff",
            },
        )
