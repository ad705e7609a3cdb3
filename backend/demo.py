"""The demo that ``balie run`` loads into an empty database: Rotterdam, and Schiedam standing in.

Gemeente Rotterdam (0599) has Burgerzaken and a Sociaal Wijkteam; Gemeente Schiedam (0606) has its
own Burgerzaken, and a running mandate from Rotterdam for Rotterdam's Burgerzaken (uitwijk), so the
README's tour shows an official of Schiedam working "Namens Gemeente Rotterdam".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import Clock, system_clock
from backend.db.models import (
    Mandate,
    Membership,
    Municipality,
    MunicipalityAdmin,
    Official,
    OpeningHours,
    Service,
    ServiceState,
    Team,
)
from backend.payments.demo import add_demo_fees
from backend.settings.identity import DEV_PLATFORM_ADMIN

DEV_ISSUER = "urn:balie:dev"
WEEKDAY_BLOCKS = ((dt.time(8, 30), dt.time(12, 30)), (dt.time(13, 0), dt.time(17, 0)))
BIRTH_DOCUMENTS_FOR_OFFICIAL = {
    "nl": [
        "Identiteitsbewijs van de aangever (paspoort, ID-kaart of rijbewijs)",
        "Geboorteverklaring van het ziekenhuis of de verloskundige",
        "Erkenning van de ongeboren vrucht, als die er is",
    ],
    "en": [
        "Identity document of the person registering (passport, ID card or driving licence)",
        "Birth statement from the hospital or the midwife",
        "Acknowledgement of the unborn child, if there is one",
    ],
}
"""The checklist of a birth registration as the official reads it (backend/catalog/official_words.py)."""


def weekday_hours() -> list[OpeningHours]:
    return [
        OpeningHours(weekday=day, opens=opens, closes=closes)
        for day in range(5)
        for opens, closes in WEEKDAY_BLOCKS
    ]


async def is_empty(session: AsyncSession) -> bool:
    return (await session.scalar(select(func.count()).select_from(Municipality))) == 0


async def load_demo(session: AsyncSession, clock: Clock = system_clock) -> Municipality:
    rotterdam = Municipality(
        cbs_code="0599",
        name="Gemeente Rotterdam",
        slug="rotterdam",
        phone="14 010",
        website="https://www.rotterdam.nl",
        privacy_url="https://www.rotterdam.nl/privacy",
        translations={"en": {"name": "Municipality of Rotterdam"}},
    )
    burgerzaken = Team(
        municipality=rotterdam,
        name="Burgerzaken",
        slug="burgerzaken",
        description="Aangifte van geboorte, ondertrouw en andere zaken van de burgerlijke stand.",
        translations={
            "en": {
                "name": "Civil Affairs",
                "description": "Registering a birth, notice of marriage and other civil registry matters.",
            }
        },
        desks=2,
        lead_minutes=0,
        horizon_days=14,
        opening_hours=weekday_hours(),
    )
    wijkteam = Team(
        municipality=rotterdam,
        name="Sociaal Wijkteam",
        slug="sociaal-wijkteam",
        description="Hulp bij geld, werk, zorg en opvoeden.",
        translations={
            "en": {
                "name": "Neighbourhood Social Team",
                "description": "Help with money, work, care and raising children.",
            }
        },
        desks=1,
        lead_minutes=60,
        horizon_days=14,
        opening_hours=weekday_hours(),
    )
    session.add_all(
        [
            Service(
                state=ServiceState.PUBLISHED,
                team=burgerzaken,
                name="Geboorteaangifte",
                slug="geboorteaangifte",
                description=(
                    "Doe aangifte van de geboorte van uw kind. Dit moet binnen 3 dagen na de geboorte."
                ),
                duration_minutes=20,
                required_loa="midden",
                deadline_rule="birth_registration",
                intake=[
                    {
                        "key": "birth_date",
                        "type": "date",
                        "required": True,
                        "not_future": True,
                        "label": {"nl": "Geboortedatum van uw kind", "en": "Your child's date of birth"},
                        "official_label": {
                            "nl": "Geboortedatum van het kind",
                            "en": "The child's date of birth",
                        },
                        "help": {
                            "nl": "We laten alleen tijden zien binnen de termijn voor de aangifte.",
                            "en": "We only show times within the legal term for the registration.",
                        },
                    }
                ],
                documents=[
                    "Uw identiteitsbewijs (paspoort, ID-kaart of rijbewijs)",
                    "De geboorteverklaring van het ziekenhuis of de verloskundige",
                    "Erkenning van de ongeboren vrucht, als u die heeft",
                ],
                max_participants=3,
                translations={
                    "en": {
                        "name": "Birth registration",
                        "description": "Register the birth of your child. This must be done within 3 days.",
                        "documents": [
                            "Your identity document (passport, ID card or driving licence)",
                            "The birth statement from the hospital or the midwife",
                            "Acknowledgement of the unborn child, if you have one",
                        ],
                        "official_documents": list(BIRTH_DOCUMENTS_FOR_OFFICIAL["en"]),
                    },
                    "nl": {"official_documents": list(BIRTH_DOCUMENTS_FOR_OFFICIAL["nl"])},
                },
            ),
            Service(
                state=ServiceState.PUBLISHED,
                team=burgerzaken,
                name="Ondertrouw",
                slug="ondertrouw",
                description="Meld uw huwelijk of geregistreerd partnerschap aan. U en uw partner doen mee.",
                duration_minutes=30,
                required_loa="midden",
                intake=[
                    {
                        "key": "union",
                        "type": "choice",
                        "required": True,
                        "label": {"nl": "Wat wilt u aanmelden?", "en": "What do you want to give notice of?"},
                        "official_label": {"nl": "Soort verbintenis", "en": "Kind of union"},
                        "options": [
                            {"value": "huwelijk", "label": {"nl": "Huwelijk", "en": "Marriage"}},
                            {
                                "value": "partnerschap",
                                "label": {"nl": "Geregistreerd partnerschap", "en": "Registered partnership"},
                            },
                        ],
                    },
                    {
                        "key": "partner_name",
                        "type": "text",
                        "required": True,
                        "label": {"nl": "Naam van uw partner", "en": "Your partner's name"},
                        "official_label": {"nl": "Naam van de partner", "en": "The partner's name"},
                    },
                    {
                        "key": "partner_email",
                        "type": "email",
                        "required": True,
                        "label": {"nl": "E-mailadres van uw partner", "en": "Your partner's email address"},
                        "official_label": {
                            "nl": "E-mailadres van de partner",
                            "en": "The partner's email address",
                        },
                        "help": {
                            "nl": "Uw partner krijgt een eigen link om mee te doen.",
                            "en": "Your partner gets their own link to join.",
                        },
                    },
                ],
                documents=["Identiteitsbewijs van u en uw partner", "Namen en gegevens van de getuigen"],
                max_participants=4,
                translations={
                    "en": {
                        "name": "Notice of marriage",
                        "description": "Give notice of your marriage or registered partnership. You and your "
                        "partner both take part.",
                        "documents": [
                            "Identity documents of you and your partner",
                            "Names and details of the witnesses",
                        ],
                        "official_documents": [
                            "Identity documents of both partners",
                            "Names and details of the witnesses",
                        ],
                    },
                    "nl": {
                        "official_documents": [
                            "Identiteitsbewijs van beide partners",
                            "Namen en gegevens van de getuigen",
                        ]
                    },
                },
            ),
            Service(
                state=ServiceState.PUBLISHED,
                team=wijkteam,
                name="Kennismakingsgesprek",
                slug="kennismakingsgesprek",
                description="Een eerste gesprek met een medewerker van het wijkteam.",
                duration_minutes=45,
                buffer_minutes=15,
                documents=[],
                translations={
                    "en": {
                        "name": "Introductory conversation",
                        "description": "A first conversation with someone from the neighbourhood team.",
                    }
                },
            ),
        ]
    )
    fatima = Official(
        issuer=DEV_ISSUER, subject="fatima", name="Fatima El Amrani", email="f.elamrani@rotterdam.example"
    )
    jan = Official(issuer=DEV_ISSUER, subject="jan", name="Jan de Vries", email="j.devries@rotterdam.example")
    platform = Official(
        issuer=DEV_ISSUER,
        subject=DEV_PLATFORM_ADMIN,
        name="Pim Bakker (platformbeheer)",
        email="platform@balie.example",
        is_platform_admin=True,
    )
    session.add_all(
        [
            fatima,
            jan,
            platform,
            Membership(official=fatima, team=burgerzaken, role="admin"),
            Membership(official=jan, team=burgerzaken, role="official"),
            Membership(official=jan, team=wijkteam, role="official"),
        ]
    )
    await session.flush()
    session.add(MunicipalityAdmin(official_id=fatima.id, municipality_id=rotterdam.id))
    await add_demo_fees(session, burgerzaken)
    await _load_schiedam(session, rotterdam, burgerzaken, fatima, clock())
    await session.commit()
    return rotterdam


async def _load_schiedam(
    session: AsyncSession, rotterdam: Municipality, burgerzaken: Team, granted_by: Official, now: dt.datetime
) -> None:
    schiedam = Municipality(
        cbs_code="0606",
        name="Gemeente Schiedam",
        slug="schiedam",
        phone="14 010",
        translations={"en": {"name": "Municipality of Schiedam"}},
    )
    team = Team(
        municipality=schiedam,
        name="Burgerzaken",
        slug="burgerzaken",
        description="Aangifte van geboorte en andere zaken van de burgerlijke stand.",
        translations={
            "en": {
                "name": "Civil Affairs",
                "description": "Registering a birth and other civil registry matters.",
            }
        },
        desks=1,
        lead_minutes=0,
        horizon_days=14,
        opening_hours=weekday_hours(),
    )
    service = Service(
        state=ServiceState.PUBLISHED,
        team=team,
        name="Geboorteaangifte",
        slug="geboorteaangifte",
        description="Doe aangifte van de geboorte van uw kind. Dit moet binnen 3 dagen na de geboorte.",
        duration_minutes=20,
        required_loa="midden",
        deadline_rule="birth_registration",
        documents=["Uw identiteitsbewijs", "De geboorteverklaring van het ziekenhuis of de verloskundige"],
        translations={
            "en": {
                "name": "Birth registration",
                "description": "Register the birth of your child.",
                "official_documents": BIRTH_DOCUMENTS_FOR_OFFICIAL["en"][:2],
            },
            "nl": {"official_documents": BIRTH_DOCUMENTS_FOR_OFFICIAL["nl"][:2]},
        },
    )
    sem = Official(issuer=DEV_ISSUER, subject="sem", name="Sem Bakker", email="s.bakker@schiedam.example")
    session.add_all([service, sem, Membership(official=sem, team=team, role="admin")])
    await session.flush()
    session.add(MunicipalityAdmin(official_id=sem.id, municipality_id=schiedam.id))
    start = now.replace(microsecond=0) - dt.timedelta(hours=1)
    session.add(
        Mandate(
            grantor_id=rotterdam.id,
            grantee_id=schiedam.id,
            team_ids=[str(burgerzaken.id)],
            official_ids=[],
            starts_at=start,
            ends_at=start + dt.timedelta(days=30),
            reason="Demo: Schiedam helpt als de balie van Rotterdam dicht moet.",
            granted_by=granted_by.id,
            accepted_at=start,
            accepted_by=sem.id,
        )
    )
