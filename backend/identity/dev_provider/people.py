"""Who can sign in at the development provider: test citizens (valid test BSNs) and officials.

The officials are the demo and test officials in the database under ``urn:balie:dev`` (and those
who signed in through this provider before); their groups are made from their memberships, in the
``balie:<cbs code>:<team slug>:<role>`` form that :mod:`backend.identity.groups` understands (and
``balie:<cbs code>:admin`` for a municipality admin). One
extra person has no groups at all, to show what an unknown user sees; and anyone can sign in as a
new colleague with a name and an e-mail address of their own (what an invited official does at a
real provider: an account the app has never seen, with no groups for it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.validation import is_email_address
from backend.db.models import Municipality, MunicipalityAdmin, Official
from backend.demo import DEV_ISSUER


@dataclass(frozen=True)
class TestCitizen:
    name: str
    bsn: str

    @property
    def subject(self) -> str:
        # A pairwise-looking subject, as brokers give; the BSN travels in its own claim.
        return "burger-" + hashlib.sha256(self.bsn.encode()).hexdigest()[:16]


CITIZENS: Final = (
    TestCitizen("Sanne de Boer", "999993653"),
    TestCitizen("Mohamed El Idrissi", "999990019"),
    TestCitizen("Anna Jansen", "999991772"),
)
UNKNOWN_OFFICIAL: Final = {"sub": "onbekend", "name": "Onbekende medewerker", "groups": []}
NEW_OFFICIAL: Final = "nieuwe-medewerker"
"""The choice of a new colleague: the claims come from the name and address typed beside it."""


def new_official_claims(name: str, email: str) -> dict[str, Any] | None:
    """The claims of a new colleague (``sub`` made from the address, so the same address signs in
    as the same official next time); None without a valid address."""
    address = email.strip().lower()
    if not is_email_address(address):
        return None
    return {"sub": f"nieuw:{address}", "name": " ".join(name.split())[:200] or address, "email": address}


def citizen_claims(bsn: str) -> dict[str, Any] | None:
    for person in CITIZENS:
        if person.bsn == bsn:
            return {"sub": person.subject, "name": person.name}
    return None


async def officials(db: AsyncSession, issuer: str) -> list[dict[str, Any]]:
    """The officials one can sign in as, with the claims their ID token carries."""
    rows = await db.scalars(
        select(Official)
        .where(or_(Official.issuer == DEV_ISSUER, Official.issuer == issuer))
        .order_by(Official.name)
    )
    officials = list(rows)
    managed = await db.execute(
        select(MunicipalityAdmin.official_id, Municipality.cbs_code)
        .join(Municipality, Municipality.id == MunicipalityAdmin.municipality_id)
        .where(
            MunicipalityAdmin.official_id.in_([o.id for o in officials]),
            MunicipalityAdmin.source == "provider",
        )
    )
    admin_groups: dict[object, list[str]] = {}
    for official_id, cbs_code in managed:
        admin_groups.setdefault(official_id, []).append(f"balie:{cbs_code}:admin")
    people: dict[str, dict[str, Any]] = {}
    for official in officials:
        groups = sorted(
            [
                f"balie:{m.team.municipality.cbs_code}:{m.team.slug}:{m.role}"
                for m in official.memberships
                if m.source == "provider"  # a real provider knows nothing of grants made in the app
            ]
            + admin_groups.get(official.id, [])
        )
        people.setdefault(
            official.subject,
            {"sub": official.subject, "name": official.name, "email": official.email, "groups": groups},
        )
    return [*people.values(), dict(UNKNOWN_OFFICIAL)]
