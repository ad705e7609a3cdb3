"""The public JSON API: contract, conflicts and bad input (problem bodies, never a 500)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment, OutboxMessage
from tests.support import count_rows

CITIZEN = {"name": "Sanne de Boer", "email": "sanne@example.nl"}


async def first_slot(client: Any, service_id: object) -> dict[str, str]:
    response = await client.get(f"/api/v1/services/{service_id}/slots")
    assert response.status_code == 200
    return response.json()[0]


async def test_services_and_slots(client: Any, seeded_service: Any) -> None:
    services = (await client.get("/api/v1/services")).json()
    assert services == [
        {
            "id": str(seeded_service.id),
            "slug": "geboorteaangifte",
            "name": "Geboorteaangifte",
            "team": "Burgerzaken",
            "municipality": "Gemeente Testgemeente",
            "duration": 20,
            "description": "",
            "digid_level": "none",
            "documents": ["Uw identiteitsbewijs"],
            "intake": [],
            "intake_schema": f"/api/v1/services/{seeded_service.id}/intake-schema",
        }
    ]
    slot = await first_slot(client, seeded_service.id)
    start, end = dt.datetime.fromisoformat(slot["start"]), dt.datetime.fromisoformat(slot["end"])
    assert start.utcoffset() is not None and end - start == dt.timedelta(minutes=20)


async def test_book_read_and_conflict(client: Any, seeded_service: Any, session: AsyncSession) -> None:
    slot = await first_slot(client, seeded_service.id)
    body = {"service_id": str(seeded_service.id), "start": slot["start"], "citizen": CITIZEN, "intake": {}}
    created = await client.post("/api/v1/appointments", json=body)
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["reference"].startswith("DB-") and data["status"] == "booked"
    assert created.headers["cache-control"] == "no-store"  # it holds the manage token
    assert dt.datetime.fromisoformat(data["start"]) == dt.datetime.fromisoformat(slot["start"])

    again = await client.post("/api/v1/appointments", json=body)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["status"] == 409

    read = await client.get(
        f"/api/v1/appointments/{data['reference']}",
        headers={"Authorization": f"Bearer {data['manage_token']}"},
    )
    assert read.status_code == 200 and read.json()["reference"] == data["reference"]
    assert read.headers["cache-control"] == "no-store"
    assert read.json()["manage_token"] is None
    wrong = await client.get(
        f"/api/v1/appointments/{data['reference']}", headers={"Authorization": "Bearer " + "x" * 43}
    )
    assert wrong.status_code == 404

    assert await count_rows(session, Appointment) == 1
    assert await count_rows(session, OutboxMessage) == 1  # written with the booking


async def test_the_manage_token_is_read_from_a_bearer_header_of_any_case(
    client: Any, seeded_service: Any
) -> None:
    slot = await first_slot(client, seeded_service.id)
    body = {"service_id": str(seeded_service.id), "start": slot["start"], "citizen": CITIZEN, "intake": {}}
    data = (await client.post("/api/v1/appointments", json=body)).json()
    url, token = f"/api/v1/appointments/{data['reference']}", data["manage_token"]
    for header in (f"bearer {token}", f"BEARER  {token} ", f"Bearer {token}"):
        read = await client.get(url, headers={"Authorization": header})
        assert read.status_code == 200, header
    missing = await client.get(url)  # no bearer token at all: 401 (RFC 6750 section 3)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"].startswith("application/problem+json")
    for header in (token, f"Basic {token}", "Bearer", "Bearer "):
        refused = await client.get(url, headers={"Authorization": header})
        assert (refused.status_code, refused.json()) == (401, missing.json()), header
    wrong = await client.get(url, headers={"Authorization": "Bearer " + "x" * 43})
    assert wrong.status_code == 404  # a wrong token: as for a code that does not exist


async def test_bad_input_gets_problem_bodies(client: Any, seeded_service: Any, session: AsyncSession) -> None:
    slot = await first_slot(client, seeded_service.id)
    service_id = str(seeded_service.id)
    past = (
        (dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        .replace(minute=0, second=0, microsecond=0)
        .isoformat()
    )
    night = dt.datetime.fromisoformat(slot["start"]) + dt.timedelta(minutes=3)
    cases: list[tuple[object, int]] = [
        (
            {
                "service_id": service_id,
                "start": slot["start"],
                "citizen": {"name": "A", "email": "geen-email"},
            },
            422,
        ),
        ({"service_id": service_id, "start": slot["start"], "citizen": {"name": "", "email": "a@b.nl"}}, 422),
        ({"service_id": service_id, "start": past, "citizen": CITIZEN}, 422),
        ({"service_id": service_id, "start": night.isoformat(), "citizen": CITIZEN}, 422),
        (
            {
                "service_id": "00000000-0000-0000-0000-000000000000",
                "start": slot["start"],
                "citizen": CITIZEN,
            },
            422,
        ),
        ({"service_id": "not-a-uuid", "start": slot["start"], "citizen": CITIZEN}, 422),
        ({"service_id": service_id, "start": "2026-02-31T10:00:00+01:00", "citizen": CITIZEN}, 422),
        ({"service_id": service_id, "start": slot["start"][:19], "citizen": CITIZEN}, 422),
        (
            {
                "service_id": service_id,
                "start": slot["start"],
                "citizen": {"name": "x" * 5000, "email": "a@b.nl"},
            },
            422,
        ),
        ({"service_id": service_id, "start": 12, "citizen": CITIZEN}, 422),
        ({"service_id": service_id, "start": "0001-01-01T00:30:00+01:00", "citizen": CITIZEN}, 422),
        ({"service_id": service_id, "start": "9999-12-31T23:55:00-12:00", "citizen": CITIZEN}, 422),
        ({"service_id": service_id, "start": slot["start"], "citizen": CITIZEN, "extra": 1}, 422),
        ([1, 2, 3], 422),
    ]
    for body, status in cases:
        response = await client.post("/api/v1/appointments", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), body
        assert response.json()["status"] == status
    garbage = await client.post(
        "/api/v1/appointments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code in (400, 422) and garbage.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert await count_rows(session, Appointment) == 0

    unknown = await client.get("/api/v1/services/00000000-0000-0000-0000-000000000000/slots")
    assert unknown.status_code == 404 and unknown.json()["status"] == 404
    backwards = await client.get(f"/api/v1/services/{service_id}/slots?from=2026-03-10&to=2026-03-01")
    assert backwards.status_code == 422
    impossible = await client.get(f"/api/v1/services/{service_id}/slots?from=2026-02-31")
    assert impossible.status_code == 422
    for query in ("from=9999-12-31", "from=0001-01-01&to=0001-01-02", "to=9999-12-31"):
        extreme = await client.get(f"/api/v1/services/{service_id}/slots?{query}")
        assert extreme.status_code == 422, (query, extreme.text)
        assert extreme.headers["content-type"].startswith("application/problem+json")


async def test_openapi_schema_is_served(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/appointments" in schema["paths"]
    assert "/api/v1/services/{service_id}/slots" in schema["paths"]
    create = schema["paths"]["/api/v1/appointments"]["post"]["responses"]
    assert {"409", "422"} <= set(create)
    assert "application/problem+json" in create["409"]["content"]


async def test_api_reference_page_works_under_the_strict_csp(client: Any) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script" not in page.text and "cdn." not in page.text  # nothing the CSP would block
    assert "POST /api/v1/appointments" in page.text and 'id="schema-AppointmentIn"' in page.text


async def test_the_manage_token_stops_working_on_the_api_after_the_appointment(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    """As on the pages: the token works until the end of the appointment plus the grace window."""
    from tests.support import citizen_appointment

    long_ago = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    old = citizen_appointment(seeded_service, long_ago, join_token="j" * 43, manage_token="m" * 43)
    session.add(old)
    await session.commit()
    answer = await client.get(
        f"/api/v1/appointments/{old.reference}", headers={"Authorization": "Bearer " + "m" * 43}
    )
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"
    cancel = await client.post(
        f"/api/v1/appointments/{old.reference}/cancel",
        json={},
        headers={"Authorization": "Bearer " + "m" * 43},
    )
    assert cancel.status_code == 404
