"""What each operation of /api/v1 answers, for the OpenAPI document: its body, and every status the
server can send (by the handler, the framework, the rate limit or an outage), with its problem body.

``tests/integration/test_api_contract.py`` checks that each status the API answers is listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from backend.booking.schemas import (
    SECURITY_SCHEME,
    AppointmentOut,
    IntakeSchemaOut,
    Problem,
    ServiceOut,
    SlotOut,
)
from backend.errors import PROBLEM_JSON


def absent_or(kind: str, **keywords: str) -> dict[str, Any]:
    """``schema_extra`` of an optional query parameter or header: its type, not Litestar's
    ``oneOf: [type, null]`` (a parameter is sent or not; it is never null)."""
    return {"one_of": None, "type": kind, **keywords}


LANGUAGE: Final = {
    "lang": Parameter(
        str | None,
        query="lang",
        required=False,
        default=None,
        description="`nl` or `en`: the language of names, questions and messages, before "
        "`Accept-Language` (another value is ignored). Dutch by default.",
        schema_extra=absent_or("string"),
    ),
    "accept_language": Parameter(
        str | None,
        header="Accept-Language",
        required=False,
        default=None,
        description="Without `lang`: the first of `nl` and `en` in it, else Dutch.",
        schema_extra=absent_or("string"),
    ),
}
"""Parameters of every operation: which language the answer is in."""

WITH_TOKEN: Final[list[dict[str, list[str]]]] = [{SECURITY_SCHEME: []}]

ALWAYS: Final = {
    400: "A request the server cannot read.",
    500: "A fault of ours; nothing to fix on your side.",
    503: "The database or the live events are away for a moment: nothing was changed. Try again "
    "after `Retry-After` seconds.",
}
SENT_A_BODY: Final = {
    400: "The body is not JSON (or a request the server cannot read).",
    413: "The body is larger than the server takes.",
    429: "Too many POST requests from this address this minute; try again after `Retry-After` seconds.",
}
INVALID: Final = (
    "Invalid input: `errors` names each wrong field as it was sent and says why, in the request's language."
)
UNAUTHORIZED: Final = "No `Authorization: Bearer <manage_token>` header (`WWW-Authenticate: Bearer`)."
NOT_FOUND: Final = (
    "No appointment with this code and manage token (also after the appointment's end plus the grace "
    "window, when the token stops working)."
)

_INVALID_EXAMPLE: Final = Example(
    summary="An e-mail address that is not one, and a field the server does not know",
    value={
        "type": "about:blank",
        "title": "Invalid input",
        "status": 422,
        "detail": "Check the marked fields.",
        "errors": [
            {
                "field": "citizen.email",
                "message": "This email address is not correct. An email address looks like name@example.nl.",
            },
            {"field": "extra", "message": "This field is not known: leave it out."},
        ],
    },
)


def _answers(
    status: int,
    body: Any,
    description: str,
    problems: Mapping[int, str],
    *,
    media_type: str = "application/json",
) -> dict[int, ResponseSpec]:
    answers = {
        status: ResponseSpec(body, description=description, media_type=media_type, generate_examples=False)
    }
    for code, text in sorted({**ALWAYS, **problems}.items()):
        examples = [_INVALID_EXAMPLE] if code == 422 else None
        answers[code] = ResponseSpec(
            Problem, description=text, media_type=PROBLEM_JSON, generate_examples=False, examples=examples
        )
    return answers


SERVICES: Final = _answers(200, list[ServiceOut], "The services, by name.", {})
SERVICE: Final = _answers(
    200, ServiceOut, "The service.", {404: "No service citizens can book with this id."}
)
INTAKE_SCHEMA: Final = _answers(
    200,
    IntakeSchemaOut,
    "A JSON Schema (draft 2020-12) of `intake` for this service.",
    {404: "No service citizens can book with this id."},
    media_type="application/schema+json",
)
SLOTS: Final = _answers(
    200,
    list[SlotOut],
    "Free slots, earliest first.",
    {404: "No service citizens can book with this id.", 422: INVALID},
)
CREATED: Final = _answers(
    201,
    AppointmentOut,
    "Booked; keep `manage_token`. A replay of the same `Idempotency-Key` and body gets this answer again.",
    {
        **SENT_A_BODY,
        409: "The slot was just taken: choose another (`code`: `slot_taken`).",
        422: INVALID + " Also a slot that is not offered, outside a legal term, too many bookings for one "
        "address (`code`), or an `Idempotency-Key` sent before with another body.",
    },
)
APPOINTMENT: Final = _answers(200, AppointmentOut, "The appointment.", {401: UNAUTHORIZED, 404: NOT_FOUND})
MANAGED: Final = _answers(
    200,
    AppointmentOut,
    "Done: the appointment as it is now.",
    {
        **SENT_A_BODY,
        401: UNAUTHORIZED,
        404: NOT_FOUND,
        409: "Taken meanwhile, started, or no longer booked (`code`: `slot_taken`, `not_changeable`).",
        422: INVALID,
    },
)
