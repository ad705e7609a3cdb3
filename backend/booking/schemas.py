"""The public JSON contract of /api/v1 (see README): what clients and tests rely on."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]


class ServiceOut(msgspec.Struct):
    id: UUID
    slug: str
    name: str
    team: str
    municipality: str
    duration: int
    """Minutes."""


class SlotOut(msgspec.Struct):
    start: str
    end: str


class CitizenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email


class AppointmentIn(msgspec.Struct, forbid_unknown_fields=True):
    service_id: UUID
    start: dt.datetime
    citizen: CitizenIn
    intake: Annotated[dict[str, Any], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=dict)
    """Answers to the service's intake questions, by question key (dates as YYYY-MM-DD)."""
    locale: Annotated[str, msgspec.Meta(pattern="^(nl|en)$")] = "nl"


class RescheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    start: dt.datetime


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class AppointmentOut(msgspec.Struct):
    reference: str
    start: str
    end: str
    status: str
    service_id: UUID
    manage_token: str | None = None
    """Only in the answer to the create call: keep it to read or change the appointment."""


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct):
    """RFC 9457 problem details, as every error on the API answers (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None
    """For 422: which field is wrong and why (in Dutch)."""
