"""A link that does not work says whom to call: the municipality's own name and number when the token
is one we handed out (expired, used, withdrawn, of a cancelled appointment), and the general
"14 + netnummer" when it is not, the same for every unknown token, so a guesser learns nothing."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.tokens import new_token
from backend.db.models import Appointment, Service
from tests.support import citizen_appointment

PHONE = "14 077"
OWN_NUMBER = f"Bel dan Gemeente Testgemeente: {PHONE}"
GENERAL = "Bel dan uw gemeente via 14 + netnummer"


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


async def _appointment(
    session: AsyncSession, service: Service, start: dt.datetime, *, revoked: bool = False, **changes: Any
) -> tuple[str, str, str]:
    """An appointment at ``start`` (changed by ``changes``; ``revoked``: the desk took the citizen's
    link back); returns its join token, manage token and reference."""
    join, manage = new_token(), new_token()
    appointment: Appointment = citizen_appointment(service, start, join_token=join, manage_token=manage)
    for name, value in changes.items():
        setattr(appointment, name, value)
    if revoked:
        appointment.participants[0].revoked_at = dt.datetime.now(dt.UTC)
    session.add(appointment)
    service.team.municipality.phone = PHONE
    await session.commit()
    return join, manage, appointment.reference


async def test_links_we_handed_out_name_the_municipalitys_number(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    cancelled, _, one = await _appointment(session, seeded_service, soon, status="cancelled")
    used, _, two = await _appointment(session, seeded_service, soon, status="completed")
    withdrawn, _, three = await _appointment(session, seeded_service, soon, revoked=True)
    _, expired_manage, four = await _appointment(
        session, seeded_service, long_ago, status="cancelled", cancelled_at=long_ago
    )

    for path in (
        f"/j/{cancelled}",
        f"/j/{cancelled}/wachtkamer",
        f"/j/{used}",
        f"/j/{withdrawn}",
        f"/afspraak/{expired_manage}",
        f"/afspraak/{expired_manage}/verzetten",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert OWN_NUMBER in answer.text and GENERAL not in answer.text, path
        assert "Fatima" not in answer.text, path  # nothing about the appointment itself
        assert not any(reference in answer.text for reference in (one, two, three, four)), path


async def test_an_unknown_token_gets_the_general_text_and_nothing_else(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    await _appointment(session, seeded_service, dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    answers = [
        await client.get(path)
        for path in (
            "/j/" + "A" * 43,
            "/j/%3Cscript%3E",
            "/afspraak/" + "Z" * 43,
            "/j/" + "B" * 43 + "/wachtkamer",
        )
    ]
    assert {a.status_code for a in answers} == {404}
    for answer in answers:
        assert GENERAL in answer.text
        assert "Testgemeente" not in answer.text and PHONE not in answer.text
    assert len({_main(a.text) for a in answers}) == 1


async def test_the_page_speaks_the_language_of_the_booking(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    join, _, _ = await _appointment(session, seeded_service, soon, status="cancelled", locale="en")
    answer = await client.get(f"/j/{join}")
    assert answer.status_code == 404
    assert f"Then call Gemeente Testgemeente: {PHONE}" in answer.text


async def test_the_device_check_names_the_municipality_of_the_link_that_led_there(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # too early to join: the page offers the test
    join, manage, _ = await _appointment(session, seeded_service, tomorrow)
    for path in (f"/j/{join}", f"/afspraak/{manage}"):
        link = re.search(r'href="(/apparaattest[^"]*)"', (await client.get(path)).text)
        assert link and link.group(1) == "/apparaattest?gemeente=testgemeente", path

    named = await client.get("/apparaattest", params={"gemeente": "testgemeente"})
    assert named.status_code == 200
    assert f"Lukt het nog steeds niet? Bel dan Gemeente Testgemeente: {PHONE}." in named.text
    for query in ({}, {"gemeente": "nergens"}):
        plain = await client.get("/apparaattest", params=query)
        assert plain.status_code == 200 and "14 + netnummer" in plain.text and PHONE not in plain.text
