"""The public JSON contract of /api/v1: what clients and tests rely on.

Descriptions here are what the OpenAPI document (``/schema/openapi.json``) says; the JSON Schema
keywords in ``extra_json_schema`` (``format``, ``enum``...) go there too (backend/api_reference.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal
from uuid import UUID

import msgspec

from backend.booking.intake import TYPES, Option, Question
from backend.db.models import AppointmentStatus
from backend.settings import LEVELS

SECURITY_SCHEME: Final = "manageToken"
"""The OpenAPI security scheme of the manage token (``Authorization: Bearer <manage_token>``)."""

DateTime = Annotated[
    str,
    msgspec.Meta(description="ISO 8601 with the Dutch offset.", extra_json_schema={"format": "date-time"}),
]
Name = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=200, description="As on the ID; control characters are dropped."),
]
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=254,
        description="One `@`, a dot in the domain; the confirmation and the join link go here.",
        extra_json_schema={"format": "email"},
    ),
]


class OptionOut(msgspec.Struct):
    value: str
    label: str


class QuestionOut(msgspec.Struct):
    """One intake question: send its answer as `intake[key]`."""

    key: str
    type: Annotated[
        str,
        msgspec.Meta(
            description="date: `YYYY-MM-DD`; text and email: a string; choice: one `options[].value`; "
            "checkbox: true or false.",
            extra_json_schema={"enum": sorted(TYPES)},
        ),
    ]
    label: str
    required: bool
    help: str = ""
    max_length: Annotated[int | None, msgspec.Meta(description="For text and email answers.")] = None
    not_future: Annotated[bool, msgspec.Meta(description="A date answer may not be after today.")] = False
    options: list[OptionOut] = msgspec.field(default_factory=list)


class ServiceOut(msgspec.Struct):
    """A service citizens can book, its texts in the request's language."""

    id: UUID
    slug: str
    name: str
    description: str
    team: str
    municipality: str
    duration: Annotated[int, msgspec.Meta(description="Minutes.")]
    digid_level: Annotated[
        str,
        msgspec.Meta(
            description="The DigiD level the citizen signs in with to join the call (`none`: no DigiD).",
            extra_json_schema={"enum": list(LEVELS)},
        ),
    ]
    documents: Annotated[list[str], msgspec.Meta(description="What the citizen should have ready.")]
    intake: Annotated[list[QuestionOut], msgspec.Meta(description="The questions `intake` answers.")]
    intake_schema: Annotated[
        str,
        msgspec.Meta(
            description="Where the JSON Schema of this service's `intake` is: "
            "`/api/v1/services/{id}/intake-schema`."
        ),
    ]


class SlotOut(msgspec.Struct):
    start: DateTime
    end: DateTime


class CitizenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email


class AppointmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """A booking; fields not named here are refused (422)."""

    service_id: UUID
    start: Annotated[
        dt.datetime,
        msgspec.Meta(
            description="One of the service's free slots (`GET /api/v1/services/{id}/slots`), with its "
            "offset, between 2000 and 2200."
        ),
    ]
    citizen: CitizenIn
    intake: Annotated[
        dict[str, Any],
        msgspec.Meta(
            max_length=50,
            description="Answers to the service's questions by key (`intake` of the service; its JSON "
            "Schema is at `intake_schema`). Questions of another service are refused.",
            extra_json_schema={"maxProperties": 50, "additionalProperties": {"type": ["string", "boolean"]}},
        ),
    ] = msgspec.field(default_factory=dict)
    locale: Annotated[
        Literal["nl", "en"],
        msgspec.Meta(description="The language of the e-mails and the pages of the call."),
    ] = "nl"


class RescheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    start: Annotated[
        dt.datetime, msgspec.Meta(description="A free slot of the same service, with its offset.")
    ]


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500, description="Shown to the team.")] = ""


class AppointmentOut(msgspec.Struct):
    reference: Annotated[str, msgspec.Meta(description="The appointment code, as in the e-mails.")]
    start: DateTime
    end: DateTime
    status: Annotated[str, msgspec.Meta(extra_json_schema={"enum": [s.value for s in AppointmentStatus]})]
    service_id: UUID
    manage_token: Annotated[
        str | None,
        msgspec.Meta(
            description="Only in the answer to the create call: keep it, it is the bearer token that "
            "reads, moves and cancels the appointment."
        ),
    ] = None


class FieldError(msgspec.Struct):
    field: Annotated[
        str,
        msgspec.Meta(
            description="As the client sent it: `citizen.email`, `intake.birth_date`, the query "
            "parameter `from`, the header `Idempotency-Key`; empty for the body as a whole."
        ),
    ]
    message: Annotated[str, msgspec.Meta(description="In the request's language.")]


class Problem(msgspec.Struct):
    """RFC 9457 problem details (`application/problem+json`): every error of the API.

    `title`, `detail` and `errors[].message` are in the request's language (`?lang=`, else
    `Accept-Language`; Dutch by default).
    """

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: Annotated[
        list[FieldError] | None, msgspec.Meta(description="For 422: each wrong field and why.")
    ] = None
    code: Annotated[
        str | None,
        msgspec.Meta(
            description="For a refused booking: why, for programs (`slot_taken`, `not_changeable`, "
            "`slot_not_offered`, `outside_deadline`, `too_many`, `invalid`)."
        ),
    ] = None


def question_out(question: Question, locale: str) -> QuestionOut:
    return QuestionOut(
        key=question.key,
        type=question.type,
        label=question.text(locale),
        required=question.required,
        help=question.help_text(locale),
        max_length={"text": question.max_length, "email": 254}.get(question.type),
        not_future=question.not_future,
        options=[OptionOut(o.value, _label(o, locale)) for o in question.options],
    )


class IntakeSchemaOut(
    msgspec.Struct, rename={"json_schema": "$schema", "additional_properties": "additionalProperties"}
):
    """A JSON Schema (draft 2020-12) of one service's `intake`: what the server checks, as far as a
    schema can say it (a date answer that may not be after today has `x-not-future`)."""

    json_schema: Literal["https://json-schema.org/draft/2020-12/schema"]
    title: str
    type: Literal["object"]
    properties: Annotated[
        dict[str, dict[str, Any]],
        msgspec.Meta(description="The JSON Schema of each question's answer, by question key."),
    ]
    required: list[str]
    additional_properties: Literal[False]


def intake_json_schema(questions: Sequence[Question], locale: str, title: str) -> IntakeSchemaOut:
    return IntakeSchemaOut(
        json_schema="https://json-schema.org/draft/2020-12/schema",
        title=title,
        type="object",
        properties={q.key: _answer_schema(q, locale) for q in questions},
        required=[q.key for q in questions if q.required],
        additional_properties=False,
    )


def _answer_schema(question: Question, locale: str) -> dict[str, Any]:
    described: dict[str, Any] = {"title": question.text(locale)}
    if help_text := question.help_text(locale):
        described["description"] = help_text
    least = {"minLength": 1} if question.required else {}
    if question.type == "checkbox":
        return described | ({"const": True} if question.required else {"type": "boolean"})
    if question.type == "date":
        latest = {"x-not-future": True} if question.not_future else {}
        return described | {"type": "string", "format": "date"} | latest
    if question.type == "email":
        return described | {"type": "string", "format": "email", "maxLength": 254} | least
    if question.type == "choice":
        options = [{"const": o.value, "title": _label(o, locale)} for o in question.options]
        return described | {"type": "string", "oneOf": options}
    return described | {"type": "string", "maxLength": question.max_length} | least


def _label(option: Option, locale: str) -> str:
    return option.label.get(locale) or option.label.get("nl") or option.value
