"""The contract an outside developer reads: the OpenAPI document says what the API does.

A bearer scheme for the manage token, real bodies for every success, `application/problem+json`
for every failure and each status the server can send, the constraints the server checks; and
every message, the framework's too, in the client's language and naming the field as it was sent.
Every status the API answers in these tests must be declared for its operation (checked when the
fixture closes).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Service
from backend.settings import DatabaseSettings
from tests.support import make_settings, seed_agenda

PROBLEM = "application/problem+json"
QUESTIONS = [
    {
        "key": "birth_date",
        "type": "date",
        "required": True,
        "not_future": True,
        "label": {"nl": "Geboortedatum van het kind", "en": "The child's date of birth"},
    },
    {
        "key": "way",
        "type": "choice",
        "label": {"nl": "Hoe wilt u praten?", "en": "How would you like to talk?"},
        "options": [
            {"value": "video", "label": {"nl": "Met beeld", "en": "With video"}},
            {"value": "audio", "label": {"nl": "Alleen geluid", "en": "Sound only"}},
        ],
    },
    {"key": "consent", "type": "checkbox", "required": True, "label": {"nl": "Akkoord", "en": "I agree"}},
]
ANSWERS = {"birth_date": "2020-05-01", "way": "video", "consent": True}
CITIZEN = {"name": "Sanne de Boer", "email": "sanne@example.nl"}
FRAMEWORK_WORDS = (
    "Expected `",
    "Object ",
    "Validation failed",
    "Invalid UUID",
    "enum",
    "from_",
    "'data'",
    "RFC3339",
)
"""What Litestar and msgspec say themselves; none of it may reach a client."""


@dataclass
class Api:
    client: AsyncTestClient[Any]
    service: Service
    answered: list[tuple[str, str, int]] = field(default_factory=list)

    async def document(self) -> dict[str, Any]:
        response = await self.client.get("/schema/openapi.json")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document

    async def slot(self) -> str:
        slots = await self.client.get(f"/api/v1/services/{self.service.id}/slots")
        start: str = slots.json()[0]["start"]
        return start

    async def book(self) -> dict[str, Any]:
        body = {"service_id": str(self.service.id), "start": await self.slot(), "citizen": CITIZEN}
        created = await self.client.post("/api/v1/appointments", json={**body, "intake": ANSWERS})
        assert created.status_code == 201, created.text
        booked: dict[str, Any] = created.json()
        return booked


@asynccontextmanager
async def open_api(tmp_path: Path, **overrides: Any) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path, **overrides)
    engine = create_engine(DatabaseSettings(url=settings.database.url))
    await upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        service = await seed_agenda(
            session,
            intake=QUESTIONS,
            required_loa="midden",
            description="Aangifte van de geboorte van uw kind.",
            translations={
                "en": {"name": "Birth registration", "description": "Registering your child's birth."}
            },
        )
        service.team.translations = {"en": {"name": "Civil affairs"}}
        service.team.municipality.translations = {"en": {"name": "Municipality of Testgemeente"}}
        await session.commit()
    try:
        async with AsyncTestClient(app=create_app(settings), base_url="http://127.0.0.1:8000") as client:
            api = Api(client, service)

            async def record(response: httpx.Response) -> None:
                request = response.request
                api.answered.append((request.method.lower(), request.url.path, response.status_code))

            client.event_hooks["response"].append(record)
            yield api
            undeclared = _undeclared(await api.document(), api.answered)
            assert undeclared == [], "answered, but not in the OpenAPI document"
    finally:
        await engine.dispose()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as opened:
        yield opened


def _undeclared(document: dict[str, Any], answered: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    templates = [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
        for path in document["paths"]
        if path.startswith("/api/")
    ]
    missing = []
    for method, path, status in answered:
        template = next((t for pattern, t in templates if pattern.match(path)), None)
        operation = document["paths"][template].get(method) if template else None
        if operation is None:
            continue  # no operation: an address or a method the API does not have (404, 405)
        if str(status) not in operation["responses"]:
            missing.append((method, template, status))
    return missing


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        if path.startswith("/api/v1/"):
            for method, operation in item.items():
                yield method, path, operation


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        resolved: dict[str, Any] = document["components"]["schemas"][schema["$ref"].rpartition("/")[2]]
        return resolved
    return schema


def _empty_alternatives(document: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> list[str]:
    """Where a schema says "anything" instead of a body: ``{}`` itself, or ``{}`` in a oneOf/anyOf."""
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        if name in seen:
            return []
        seen.add(name)
    schema = _resolve(document, schema)
    if schema == {}:
        return ["{}"]
    found = [f"{key}: {{}}" for key in ("oneOf", "anyOf") for option in schema.get(key, []) if option == {}]
    children = [*schema.get("oneOf", []), *schema.get("anyOf", []), *schema.get("allOf", [])]
    children += [s for s in (schema.get("properties") or {}).values() if isinstance(s, dict)]
    if isinstance(schema.get("items"), dict):
        children.append(schema["items"])
    for child in children:
        found += _empty_alternatives(document, child, seen)
    return found


async def test_the_document_declares_the_bearer_scheme_bodies_and_every_status(api: Api) -> None:
    document = await api.document()
    scheme = document["components"]["securitySchemes"]["manageToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operations = list(_operations(document))
    assert len(operations) == 8
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        managed = path.startswith("/api/v1/appointments/")
        assert operation.get("security") == ([{"manageToken": []}] if managed else None), where
        assert {"400", "500", "503"} <= set(responses), where
        assert {p["name"] for p in operation["parameters"]} >= {"lang", "Accept-Language"}, where
        for status, response in responses.items():
            content = response["content"]
            if status.startswith("2"):
                (media,) = content.values()
                assert _empty_alternatives(document, media["schema"], set()) == [], (where, status)
            else:
                assert content == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}} or (
                    list(content) == [PROBLEM] and content[PROBLEM]["schema"]["$ref"].endswith("/Problem")
                ), (where, status)
        if method == "post":
            assert {"400", "413", "422", "429"} <= set(responses), where
        if managed:
            assert {"401", "404"} <= set(responses), where
        if path.endswith(("/cancel", "/reschedule")):
            assert {"409", "422"} <= set(responses), where
    assert {"409", "422"} <= set(document["paths"]["/api/v1/appointments"]["post"]["responses"])


async def test_the_request_schemas_say_what_the_server_checks(api: Api) -> None:
    document = await api.document()
    schemas = document["components"]["schemas"]
    for name in ("AppointmentIn", "CitizenIn", "RescheduleIn", "CancelIn"):
        assert schemas[name]["additionalProperties"] is False, name
    citizen = schemas["CitizenIn"]["properties"]
    assert (citizen["email"]["format"], citizen["email"]["maxLength"]) == ("email", 254)
    assert (citizen["name"]["minLength"], citizen["name"]["maxLength"]) == (1, 200)
    booking = schemas["AppointmentIn"]["properties"]
    assert booking["start"]["format"] == "date-time" and booking["service_id"]["format"] == "uuid"
    assert booking["locale"]["enum"] == ["nl", "en"]
    assert booking["intake"]["maxProperties"] == 50
    assert booking["intake"]["additionalProperties"] == {"type": ["string", "boolean"]}
    assert "intake_schema" in booking["intake"]["description"]
    assert schemas["CancelIn"]["properties"]["reason"]["maxLength"] == 500
    assert schemas["RescheduleIn"]["properties"]["start"]["format"] == "date-time"
    slots = document["paths"]["/api/v1/services/{service_id}/slots"]["get"]["parameters"]
    days = {p["name"]: p["schema"] for p in slots if p["in"] == "query" and p["name"] != "lang"}
    assert days == {
        name: {"type": "string", "format": "date", "description": days[name]["description"]}
        for name in ("from", "to", "birth_date")
    }
    service = schemas["ServiceOut"]["properties"]
    assert service["digid_level"]["enum"] == ["none", "basis", "midden", "substantieel", "hoog"]
    question = schemas["QuestionOut"]
    assert {"key", "type", "label", "required"} <= set(question["required"])
    assert question["properties"]["type"]["enum"] == ["checkbox", "choice", "date", "email", "text"]
    assert schemas["IntakeSchemaOut"]["properties"]["additionalProperties"]["const"] is False


ENGLISH_NAMES = (
    "Birth registration",
    "Civil affairs",
    "Municipality of Testgemeente",
    "The child's date of birth",
)


@pytest.mark.parametrize(
    ("ask", "names"),
    [
        ({}, ("Geboorteaangifte", "Burgerzaken", "Gemeente Testgemeente", "Geboortedatum van het kind")),
        ({"params": {"lang": "en"}}, ENGLISH_NAMES),
        ({"headers": {"Accept-Language": "en-GB,en;q=0.8"}}, ENGLISH_NAMES),
    ],
    ids=["dutch-by-default", "lang", "accept-language"],
)
async def test_services_say_their_level_and_questions_in_the_requests_language(
    api: Api, ask: dict[str, Any], names: tuple[str, str, str, str]
) -> None:
    listed = await api.client.get("/api/v1/services", **ask)
    (service,) = listed.json()
    assert (service["name"], service["team"], service["municipality"]) == names[:3]
    assert service["digid_level"] == "midden"
    assert [(q["key"], q["type"], q["required"]) for q in service["intake"]] == [
        ("birth_date", "date", True),
        ("way", "choice", False),
        ("consent", "checkbox", True),
    ]
    assert service["intake"][0]["label"] == names[3] and service["intake"][0]["not_future"] is True
    assert [o["value"] for o in service["intake"][1]["options"]] == ["video", "audio"]
    one = await api.client.get(f"/api/v1/services/{api.service.id}", **ask)
    assert one.json() == service

    schema = await api.client.get(service["intake_schema"], **ask)
    assert schema.status_code == 200 and schema.headers["content-type"].startswith("application/schema+json")
    body = schema.json()
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert (body["type"], body["additionalProperties"], body["required"]) == (
        "object",
        False,
        ["birth_date", "consent"],
    )
    assert body["properties"]["birth_date"] == {
        "title": names[3],
        "type": "string",
        "format": "date",
        "x-not-future": True,
    }
    assert [o["const"] for o in body["properties"]["way"]["oneOf"]] == ["video", "audio"]
    assert body["properties"]["consent"]["const"] is True

    unknown = await api.client.get("/api/v1/services/00000000-0000-0000-0000-000000000000", **ask)
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["detail"] == ("Unknown service." if ask else "Onbekende dienst.")


WORDS = {
    "nl": {
        "title": "Ongeldige invoer",
        "detail": "Controleer de gemarkeerde velden.",
        "unknown": "Dit veld kennen we niet: laat het weg.",
        "required": "Dit veld is verplicht.",
        "datetime": "Geef een datum en tijd met tijdzone, zoals 2026-03-03T10:30:00+01:00.",
        "date": "Geef een datum als JJJJ-MM-DD, zoals 2026-03-03.",
        "text": "Geef hier een tekst.",
        "email": "Dit e-mailadres klopt niet. Een e-mailadres ziet eruit als naam@voorbeeld.nl.",
        "body": "Stuur een JSON-object als inhoud.",
        "not_json": "De inhoud is geen geldige JSON.",
        "bad_request": "Ongeldig verzoek",
        "intake_date": "Dit is geen datum. Schrijf de datum zo: 14-03-2026.",
        "intake_unknown": "Deze vraag hoort niet bij deze dienst.",
        "long": "Hoogstens 500 tekens.",
        "before": "Deze dag ligt voor 'from'.",
        "key": "Gebruik 1-255 zichtbare ASCII-tekens, bv. een UUID.",
        "uuid": "Geef een UUID, zoals 3f2b8c1e-5d4a-4b6f-9e7d-1a2b3c4d5e6f.",
        "choice": "Deze waarde kan hier niet. Kies een van de waarden die het schema noemt.",
    },
    "en": {
        "title": "Invalid input",
        "detail": "Check the marked fields.",
        "unknown": "This field is not known: leave it out.",
        "required": "This field is required.",
        "datetime": "Give a date and time with a time zone, such as 2026-03-03T10:30:00+01:00.",
        "date": "Give a date as YYYY-MM-DD, such as 2026-03-03.",
        "text": "Give a string here.",
        "email": "This email address is not correct. An email address looks like name@example.nl.",
        "body": "Send a JSON object as the body.",
        "not_json": "The body is not valid JSON.",
        "bad_request": "Bad request",
        "intake_date": "This is not a date. Write the date like this: 14-03-2026.",
        "intake_unknown": "This question does not belong to this service.",
        "long": "At most 500 characters.",
        "before": "This day is before 'from'.",
        "key": "Use 1-255 visible ASCII characters, e.g. a UUID.",
        "uuid": "Give a UUID, such as 3f2b8c1e-5d4a-4b6f-9e7d-1a2b3c4d5e6f.",
        "choice": "This value is not allowed here. Choose one of the values the schema lists.",
    },
}


@pytest.mark.parametrize(
    ("language", "query", "headers"),
    [
        ("nl", {}, {}),
        ("en", {}, {"Accept-Language": "en-GB,en;q=0.9"}),
        ("en", {"lang": "en"}, {}),
        ("nl", {"lang": "nl"}, {"Accept-Language": "en"}),
    ],
    ids=["dutch-by-default", "accept-language", "lang", "lang-before-accept-language"],
)
async def test_every_validation_message_is_in_the_clients_language_and_names_its_field(
    api: Api, language: str, query: dict[str, str], headers: dict[str, str]
) -> None:
    words = WORDS[language]
    client = api.client

    async def refused(method: str, url: str, status: int = 422, **kwargs: Any) -> dict[str, Any]:
        sent = {**headers, **kwargs.pop("headers", {})}
        params = {**query, **kwargs.pop("params", {})}
        response = await client.request(method, url, params=params, headers=sent, **kwargs)
        assert response.status_code == status, response.text[:500]
        assert response.headers["content-type"] == PROBLEM
        assert not any(word in response.text for word in FRAMEWORK_WORDS), response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == status
        if status == 422:
            assert (body["title"], body["detail"]) == (words["title"], words["detail"])
        return body

    def errors(body: dict[str, Any]) -> list[tuple[str, str]]:
        return [(e["field"], e["message"]) for e in body["errors"]]

    start = await api.slot()
    good = {"service_id": str(api.service.id), "start": start, "citizen": CITIZEN, "intake": ANSWERS}
    book = "/api/v1/appointments"

    unknown = await refused("POST", book, json={**good, "extra": 1})
    assert errors(unknown) == [("extra", words["unknown"])]
    nested = await refused("POST", book, json={**good, "citizen": {**CITIZEN, "phone": "06"}})
    assert errors(nested) == [("citizen.phone", words["unknown"])]
    missing = await refused("POST", book, json={**good, "citizen": {"name": "Sanne"}})
    assert errors(missing) == [("citizen.email", words["required"])]
    impossible = await refused("POST", book, json={**good, "start": "2026-02-31T10:00:00+01:00"})
    assert errors(impossible) == [("start", words["datetime"])]
    wrong_type = await refused("POST", book, json={**good, "citizen": {**CITIZEN, "name": 5}})
    assert errors(wrong_type) == [("citizen.name", words["text"])]
    not_an_id = await refused("POST", book, json={**good, "service_id": "geboorteaangifte"})
    assert errors(not_an_id) == [("service_id", words["uuid"])]
    german = await refused("POST", book, json={**good, "locale": "de"})
    assert errors(german) == [("locale", words["choice"])]
    email = await refused("POST", book, json={**good, "citizen": {**CITIZEN, "email": "geen-email"}})
    assert errors(email) == [("citizen.email", words["email"])]
    intake = await refused(
        "POST", book, json={**good, "intake": {**ANSWERS, "birth_date": "gisteren", "pet": "x"}}
    )
    assert sorted(errors(intake)) == [
        ("intake.birth_date", words["intake_date"]),
        ("intake.pet", words["intake_unknown"]),
    ]
    no_body = await refused("POST", book, content=b"", headers={"content-type": "application/json"})
    assert errors(no_body) == [("", words["body"])]
    array = await refused("POST", book, json=[good])
    assert errors(array) == [("", words["body"])]
    key = await refused("POST", book, json=good, headers={"Idempotency-Key": "twee woorden"})
    assert errors(key) == [("Idempotency-Key", words["key"])]
    malformed = await refused(
        "POST", book, status=400, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert (malformed["title"], malformed["detail"]) == (words["bad_request"], words["not_json"])

    slots = f"/api/v1/services/{api.service.id}/slots"
    bad_day = await refused("GET", slots, params={"from": "2026-02-31"})
    assert errors(bad_day) == [("from", words["date"])]  # the query's name, not the handler's
    backwards = await refused("GET", slots, params={"from": "2026-03-10", "to": "2026-03-01"})
    assert errors(backwards) == [("to", words["before"])]

    booked = await api.book()
    bearer = {"Authorization": f"Bearer {booked['manage_token']}"}
    cancel = f"/api/v1/appointments/{booked['reference']}/cancel"
    too_long = await refused("POST", cancel, json={"reason": "x" * 501}, headers=bearer)
    assert errors(too_long) == [("reason", words["long"])]


async def test_the_manage_token_and_refusals_answer_declared_problems(api: Api) -> None:
    booked = await api.book()
    url = f"/api/v1/appointments/{booked['reference']}"
    bearer = {"Authorization": f"Bearer {booked['manage_token']}"}
    english = {"Accept-Language": "en"}

    missing = await api.client.get(url, headers=english)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"] == PROBLEM and missing.json()["title"] == "Manage token missing"
    wrong = await api.client.post(f"{url}/cancel", json={}, headers={"Authorization": "Bearer " + "x" * 43})
    assert wrong.status_code == 404 and wrong.json()["title"] == "Niet gevonden"
    assert (await api.client.get(url, headers=bearer)).status_code == 200

    no_offset = await api.client.post(
        f"{url}/reschedule", json={"start": booked["start"][:19]}, headers=bearer
    )
    assert no_offset.status_code == 422 and no_offset.json()["errors"][0]["field"] == "start"
    same = await api.client.post(f"{url}/reschedule", json={"start": booked["start"]}, headers=bearer)
    assert same.status_code == 422 and same.json()["code"] == "slot_not_offered"
    cancelled = await api.client.post(f"{url}/cancel", json={"reason": "Toch niet"}, headers=bearer)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await api.client.post(f"{url}/cancel", json={}, headers={**bearer, **english})
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert (again.json()["title"], again.json()["code"]) == ("Can no longer be changed", "not_changeable")
    moved = await api.client.post(f"{url}/reschedule", json={"start": booked["start"]}, headers=bearer)
    assert moved.status_code == 409 and moved.json()["title"] == "Niet meer te wijzigen"

    nowhere = await api.client.get("/api/v1/nergens", params={"lang": "en"})
    assert nowhere.headers["content-type"] == PROBLEM
    assert (nowhere.status_code, nowhere.json()["detail"]) == (404, "This address does not exist in the API.")
    wrong_method = await api.client.delete(url, headers=english)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["allow"]
    assert wrong_method.json()["title"] == "That is not possible here"


async def test_too_many_requests_is_a_declared_problem_in_the_clients_language(tmp_path: Path) -> None:
    async with open_api(tmp_path, rate_limit_per_minute=2) as api:
        answers = [
            await api.client.post("/api/v1/appointments", json={}, headers={"Accept-Language": "en"})
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [422, 422, 429]
        limited = answers[-1]
        assert limited.headers["content-type"] == PROBLEM and int(limited.headers["retry-after"]) > 0
        assert (limited.json()["status"], limited.json()["title"]) == (429, "Please wait a moment")
