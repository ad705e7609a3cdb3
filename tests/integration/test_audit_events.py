"""Each named audit event writes the row it promises: action, actor, object, municipality, result,
origin and details, exactly, as the first link of its municipality's hash chain. The table has a row
for every event backend.audit exports, so a new event comes with its expected row. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from litestar import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit.chain import GENESIS, event_hash
from backend.booking.tokens import hash_token, new_token
from backend.db.models import (
    Appointment,
    AuditEvent,
    Document,
    Fee,
    Mandate,
    Official,
    Participant,
    Payment,
    Service,
    StaffInvitation,
)
from tests.support import seed_agenda

IP = "203.0.113.7"
NOWHERE = uuid.UUID(int=7)
"""An appointment that does not exist."""
HELPERS = {
    "origin_of",
    "official_actor",
    "participant_actor",
    "official_municipality",
    "mandate_values",
    "verify_chains",
}
GRANTEE = uuid.UUID(int=11)
MANDATE = uuid.UUID(int=12)
INVITATION = uuid.UUID(int=13)
START = dt.datetime(2026, 12, 21, 9, 0, tzinfo=dt.UTC)
EXPIRES = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


@dataclass
class World:
    service: Service
    official: Official
    appointment: Appointment
    citizen: Participant
    partner: Participant
    document: Document
    request: Request[Any, Any, Any]

    @property
    def by_official(self) -> str:
        return f"official:{self.official.id}"

    @property
    def by_citizen(self) -> str:
        return f"participant:{self.citizen.id}"

    @property
    def by_booker(self) -> str:
        """The citizen with their own link (booking.flow)."""
        return f"citizen:{self.appointment.id}"

    @property
    def municipality(self) -> uuid.UUID:
        return self.appointment.municipality_id

    @property
    def document_details(self) -> dict[str, Any]:
        d = self.document
        return {
            "appointment": str(d.appointment_id),
            "type": d.content_type,
            "size": d.size,
            "sha256": d.sha256,
        }

    @property
    def partner_details(self) -> dict[str, str]:
        return {"participant": str(self.partner.id), "role": "partner"}


class Row(NamedTuple):
    actor: str
    action: str
    object_type: str
    object_id: object
    municipality_id: uuid.UUID | None = None
    result: str = "success"
    origin: str = ""
    details: dict[str, Any] = {}


@dataclass(frozen=True)
class Case:
    event: str
    """The name in backend.audit."""
    write: Callable[[AsyncSession, World], object]
    """Writes the event (a coroutine for the events that commit on their own)."""
    expect: Callable[[World], Row]


PAYMENT = uuid.UUID(int=21)
FEE = uuid.UUID(int=22)


def _fee(w: World) -> Fee:
    return Fee(
        id=FEE,
        service_id=w.service.id,
        description="Trouwboekje",
        amount_cents=3760,
        due="call",
        ordinance_article="",
    )


def _payment(w: World) -> Payment:  # not stored: the events only read it
    return Payment(
        id=PAYMENT,
        appointment_id=w.appointment.id,
        municipality_id=w.municipality,
        fee_id=FEE,
        description="Trouwboekje (T-1)",
        amount_cents=3760,
        due="call",
        provider="mollie",
        provider_payment_id="tr_abcdefghij",
        status="paid",
        refunded_cents=3760,
        refund_id="re_abcdefghij",
        refund_status="pending",
    )


def _payment_row(w: World, actor: str, action: str, origin: str = IP, **details: Any) -> Row:
    return Row(
        actor,
        action,
        "payment",
        PAYMENT,
        w.municipality,
        origin=origin,
        details={
            "appointment": str(w.appointment.id),
            "amount_cents": 3760,
            "provider": "mollie",
            "reference": "tr_abcdefghij",
            **details,
        },
    )


def _appointment(w: World, actor: str, action: str, **kw: Any) -> Row:
    return Row(actor, action, "appointment", w.appointment.id, w.municipality, **kw)


def _document(w: World, actor: str, action: str, origin: str = IP, **details: Any) -> Row:
    details = {**w.document_details, **details}
    return Row(actor, action, "document", w.document.id, w.municipality, origin=origin, details=details)


def _citizen(w: World, actor: str, action: str, **kw: Any) -> Row:
    return Row(actor, action, "participant", w.citizen.id, w.municipality, origin=IP, **kw)


def _mandate(w: World) -> Mandate:
    """A mandate of the world's municipality to another (not stored: the events only read it)."""
    return Mandate(
        id=MANDATE,
        grantor_id=w.municipality,
        grantee_id=GRANTEE,
        team_ids=[str(w.service.team_id)],
        official_ids=[],
        starts_at=START,
        ends_at=EXPIRES,
        reason="Oefening",
        granted_by=w.official.id,
    )


def _mandate_row(w: World, action: str, **details: Any) -> Row:
    return Row(w.by_official, action, "mandate", MANDATE, w.municipality, origin=IP, details=details)


CASES = [
    Case(
        "mandate_changed",
        lambda s, w: audit.mandate_changed(
            s, _mandate(w), w.official, "mandate.granted", before=None, origin=IP
        ),
        lambda w: _mandate_row(
            w,
            "mandate.granted",
            before=None,
            after={
                "grantor": str(w.municipality),
                "grantee": str(GRANTEE),
                "teams": [str(w.service.team_id)],
                "officials": [],
                "starts_at": START.isoformat(),
                "ends_at": EXPIRES.isoformat(),
                "reason": "Oefening",
                "accepted_at": None,
                "declined_at": None,
                "revoked_at": None,
            },
        ),
    ),
    Case(
        "acting_started",
        lambda s, w: audit.acting_started(s, _mandate(w), w.official, origin=IP),
        lambda w: _mandate_row(w, "mandate.acting"),
    ),
    Case(
        "access_denied",
        lambda s, w: audit.access_denied(s, w.official, "team", w.service.team_id, w.request),
        lambda w: Row(w.by_official, "access.denied", "team", w.service.team_id, result="denied", origin=IP),
    ),
    Case(
        "appointment_access_denied",
        lambda s, w: audit.appointment_access_denied(
            s, w.official.id, w.appointment.id, w.appointment, via="ws/call", origin=IP
        ),
        lambda w: _appointment(
            w, w.by_official, "access.denied", result="denied", origin=IP, details={"via": "ws/call"}
        ),
    ),
    Case(
        "appointment_access_denied",
        lambda s, w: audit.appointment_access_denied(
            s, w.official.id, NOWHERE, None, via="ws/desk", origin=IP
        ),
        lambda w: Row(
            w.by_official, "access.denied", "appointment", NOWHERE, None, "denied", IP, {"via": "ws/desk"}
        ),
    ),
    Case(
        "signed_in",
        lambda s, w: audit.signed_in(s, w.official, w.request, "urn:balie:dev"),
        lambda w: Row(
            w.by_official,
            "session.sign_in",
            "official",
            w.official.id,
            w.municipality,
            origin=IP,
            details={"method": "oidc", "issuer": "urn:balie:dev", "teams": 1},
        ),
    ),
    Case(
        "sign_in_failed",
        lambda s, w: audit.sign_in_failed(s, w.request, reason="state_mismatch"),
        lambda w: Row(
            "anonymous", "session.sign_in", "official", "", None, "failure", IP, {"reason": "state_mismatch"}
        ),
    ),
    Case(
        "signed_out",
        lambda s, w: audit.signed_out(s, w.official.id, w.request),
        lambda w: Row(w.by_official, "session.sign_out", "official", w.official.id, origin=IP),
    ),
    Case(
        "signed_out_by_provider",
        lambda s, w: audit.signed_out_by_provider(s, w.official.id, "https://idp.example.nl", "sid"),
        lambda w: Row(
            "provider",
            "session.sign_out",
            "official",
            w.official.id,
            details={"by": "sid", "issuer": "https://idp.example.nl"},
        ),
    ),
    Case(
        "identity_verified",
        lambda s, w: audit.identity_verified(s, w.citizen, "basis", w.request),
        lambda w: _citizen(
            w,
            w.by_citizen,
            "identity.verify",
            details={"level": "basis", "appointment": str(w.appointment.id)},
        ),
    ),
    Case(
        "identity_failed",
        lambda s, w: audit.identity_failed(
            s,
            w.request,
            reason="level",
            participant=w.citizen,
            result="refused",
            details={"needed": "midden"},
        ),
        lambda w: _citizen(
            w,
            w.by_citizen,
            "identity.verify",
            result="refused",
            details={"reason": "level", "needed": "midden"},
        ),
    ),
    Case(
        "identity_requested",
        lambda s, w: audit.identity_requested(s, w.official.id, w.citizen, w.request),
        lambda w: _citizen(w, w.by_official, "identity.request"),
    ),
    Case(
        "document_shared",
        lambda s, w: audit.document_shared(s, w.by_official, w.document, w.municipality, IP),
        lambda w: _document(w, w.by_official, "document.shared", by="partner"),
    ),
    Case(
        "document_downloaded",
        lambda s, w: audit.document_downloaded(s, w.by_official, w.document, w.municipality, IP),
        lambda w: _document(w, w.by_official, "document.downloaded"),
    ),
    Case(
        "document_kept",
        lambda s, w: audit.document_kept(s, w.by_official, w.document, w.municipality, IP),
        lambda w: _document(w, w.by_official, "document.kept", expires_at=EXPIRES.isoformat()),
    ),
    Case(
        "document_deleted",
        lambda s, w: audit.document_deleted(s, "system", w.document, w.municipality, reason="expired"),
        lambda w: _document(w, "system", "document.purged", "", reason="expired"),
    ),
    Case(
        "document_deleted",
        lambda s, w: audit.document_deleted(
            s, w.by_official, w.document, w.municipality, reason="removed", origin=IP
        ),
        lambda w: _document(w, w.by_official, "document.removed", reason="removed"),
    ),
    Case(
        "document_refused",
        lambda s, w: audit.document_refused(
            s, w.by_official, w.appointment.id, w.municipality, "too_large", IP
        ),
        lambda w: _appointment(
            w, w.by_official, "document.refused", result="refused", origin=IP, details={"reason": "too_large"}
        ),
    ),
    Case(
        "agenda_changed",
        lambda s, w: audit.agenda_changed(
            s, w.request, w.official, w.service.team, "exception", day="2026-12-24"
        ),
        lambda w: Row(
            w.by_official,
            "agenda.changed",
            "team",
            w.service.team_id,
            w.municipality,
            origin=IP,
            details={"what": "exception", "day": "2026-12-24"},
        ),
    ),
    Case(
        "service_changed",
        lambda s, w: audit.service_changed(
            s, w.request, w.official, w.service, "question_added", question="q"
        ),
        lambda w: Row(
            w.by_official,
            "service.changed",
            "service",
            w.service.id,
            w.municipality,
            origin=IP,
            details={"what": "question_added", "team": str(w.service.team_id), "question": "q"},
        ),
    ),
    Case(
        "staff_changed",
        lambda s, w: audit.staff_changed(
            s, w.request, w.official, w.service.team, "role", membership="m", role="admin"
        ),
        lambda w: Row(
            w.by_official,
            "staff.changed",
            "team",
            w.service.team_id,
            w.municipality,
            origin=IP,
            details={"what": "role", "membership": "m", "role": "admin"},
        ),
    ),
    Case(
        "invitation_accepted",
        lambda s, w: audit.invitation_accepted(
            s,
            w.request,
            w.official,
            StaffInvitation(id=INVITATION, team_id=w.service.team_id, team=w.service.team, role="admin"),
        ),
        lambda w: Row(
            w.by_official,
            "staff.invitation_accepted",
            "team",
            w.service.team_id,
            w.municipality,
            origin=IP,
            details={"invitation": str(INVITATION), "role": "admin"},
        ),
    ),
    Case(
        "invitation_accepted",  # a platform admin's invitation: no team, the municipality to manage
        lambda s, w: audit.invitation_accepted(
            s,
            w.request,
            w.official,
            StaffInvitation(
                id=INVITATION, team_id=None, municipality_id=w.municipality, role="municipality_admin"
            ),
        ),
        lambda w: Row(
            w.by_official,
            "staff.invitation_accepted",
            "municipality",
            w.municipality,
            w.municipality,
            origin=IP,
            details={"invitation": str(INVITATION), "role": "municipality_admin"},
        ),
    ),
    Case(
        "municipality_changed",
        lambda s, w: audit.municipality_changed(
            s,
            w.request,
            w.official,
            w.service.team.municipality,
            "profile",
            {"phone": ("14 010", "14 099"), "website": ("", "https://www.testgemeente.example")},
        ),
        lambda w: Row(
            w.by_official,
            "municipality.changed",
            "municipality",
            w.municipality,
            w.municipality,
            origin=IP,
            details={
                "what": "profile",
                "before": {"phone": "14 010", "website": ""},
                "after": {"phone": "14 099", "website": "https://www.testgemeente.example"},
            },
        ),
    ),
    Case(
        "manager_invited",
        lambda s, w: audit.manager_invited(
            s,
            w.request,
            w.official,
            StaffInvitation(
                id=INVITATION, team_id=None, municipality_id=w.municipality, role="municipality_admin"
            ),
        ),
        lambda w: Row(
            w.by_official,
            "municipality.manager_invited",
            "municipality",
            w.municipality,
            w.municipality,
            origin=IP,
            details={"invitation": str(INVITATION)},
        ),
    ),
    Case(
        "team_created",
        lambda s, w: audit.team_created(s, w.request, w.official, w.service.team),
        lambda w: Row(w.by_official, "team.created", "team", w.service.team_id, w.municipality, origin=IP),
    ),
    Case(
        "appointment_booked",
        lambda s, w: audit.appointment_booked(
            s, w.appointment, actor=w.by_booker, service_id=w.service.id, by_official=False, origin=IP
        ),
        lambda w: _appointment(
            w,
            w.by_booker,
            "appointment.booked",
            origin=IP,
            details={"by_official": False, "service": str(w.service.id)},
        ),
    ),
    Case(
        "appointment_rescheduled",
        lambda s, w: audit.appointment_rescheduled(
            s, w.appointment, actor=w.by_booker, moved_from=START - dt.timedelta(days=1), origin=IP
        ),
        lambda w: _appointment(
            w,
            w.by_booker,
            "appointment.rescheduled",
            origin=IP,
            details={"from": "2026-12-20T09:00:00+00:00", "to": "2026-12-21T09:00:00+00:00"},
        ),
    ),
    Case(
        "appointment_cancelled",
        lambda s, w: audit.appointment_cancelled(
            s, w.appointment, actor=w.by_official, with_reason=True, origin=IP
        ),
        lambda w: _appointment(
            w, w.by_official, "appointment.cancelled", origin=IP, details={"with_reason": True}
        ),
    ),
    Case(
        "no_show_marked",
        lambda s, w: audit.no_show_marked(s, w.appointment),
        lambda w: _appointment(w, "system", "appointment.no_show", details={"automatic": True}),
    ),
    Case(
        "participant_invited",
        lambda s, w: audit.participant_invited(
            s, w.appointment, w.partner, invited_by=w.official.id, origin=IP
        ),
        lambda w: _appointment(w, w.by_official, "participant.invite", origin=IP, details=w.partner_details),
    ),
    Case(
        "participant_invited",
        lambda s, w: audit.participant_invited(s, w.appointment, w.partner, invited_by=None),
        lambda w: _appointment(w, "system", "participant.invite", details=w.partner_details),
    ),
    Case(
        "participant_revoked",
        lambda s, w: audit.participant_revoked(s, w.appointment, w.partner, w.official.id, origin=IP),
        lambda w: _appointment(w, w.by_official, "participant.revoke", origin=IP, details=w.partner_details),
    ),
    Case(
        "waiting_room_entered",
        lambda s, w: audit.waiting_room_entered(s, w.appointment, w.citizen),
        lambda w: _appointment(w, w.by_citizen, "call.enter"),
    ),
    Case(
        "participants_admitted",
        lambda s, w: audit.participants_admitted(
            s, w.appointment, w.official.id, [w.citizen, w.partner], origin=IP
        ),
        lambda w: _appointment(
            w,
            w.by_official,
            "call.admit",
            origin=IP,
            details={"participants": [str(w.citizen.id), str(w.partner.id)]},
        ),
    ),
    Case(
        "admission_refused",
        lambda s, w: audit.admission_refused(s, w.appointment, w.official.id, reason="call_full", origin=IP),
        lambda w: _appointment(
            w, w.by_official, "call.admit", result="refused", origin=IP, details={"reason": "call_full"}
        ),
    ),
    Case(
        "call_joined",
        lambda s, w: audit.call_joined(s, w.appointment, w.citizen),
        lambda w: _appointment(w, w.by_citizen, "call.join"),
    ),
    Case(
        "call_left",
        lambda s, w: audit.call_left(s, w.appointment, w.citizen),
        lambda w: _appointment(w, w.by_citizen, "call.leave"),
    ),
    Case(
        "call_ended",
        lambda s, w: audit.call_ended(s, w.appointment, w.official.id, outcome="completed", origin=IP),
        lambda w: _appointment(w, w.by_official, "call.end", origin=IP, details={"outcome": "completed"}),
    ),
    Case(
        "forgotten_call_closed",
        lambda s, w: audit.forgotten_call_closed(s, w.appointment, outcome="no_show"),
        lambda w: _appointment(
            w, "system", "call.end", details={"automatic": True, "outcome": "no_show", "left_open": True}
        ),
    ),
    Case(
        "fee_changed",
        lambda s, w: audit.fee_changed(s, w.by_official, _fee(w), w.municipality, "created", IP),
        lambda w: Row(
            w.by_official,
            "fee.changed",
            "fee",
            FEE,
            w.municipality,
            origin=IP,
            details={
                "what": "created",
                "service": str(w.service.id),
                "amount_cents": 3760,
                "min_cents": None,
                "max_cents": None,
                "due": "call",
                "article": "",
            },
        ),
    ),
    Case(
        "payment_requested",
        lambda s, w: audit.payment_requested(s, w.by_official, _payment(w), IP),
        lambda w: _payment_row(w, w.by_official, "payment.requested", fee=str(FEE), due="call", retry_of=""),
    ),
    Case(
        "payment_status_changed",
        lambda s, w: audit.payment_status_changed(s, _payment(w), "open", source="webhook", origin=IP),
        lambda w: _payment_row(
            w, "provider:mollie", "payment.status", before="open", after="paid", source="webhook"
        ),
    ),
    Case(
        "payment_refunded",
        lambda s, w: audit.payment_refunded(s, w.by_official, _payment(w), IP),
        lambda w: _payment_row(
            w,
            w.by_official,
            "payment.refunded",
            refunded_cents=3760,
            refund="re_abcdefghij",
            refund_status="pending",
        ),
    ),
    Case(
        "payment_key_changed",
        lambda s, w: audit.payment_key_changed(s, w.by_official, w.municipality, mode="test", origin=IP),
        lambda w: Row(
            w.by_official,
            "payments.key_changed",
            "municipality",
            w.municipality,
            w.municipality,
            origin=IP,
            details={"mode": "test"},
        ),
    ),
    Case(
        "call_taken_over",
        lambda s, w: audit.call_taken_over(s, w.appointment, w.official.id, before=None, origin=IP),
        lambda w: _appointment(w, w.by_official, "call.take_over", origin=IP, details={"before": "None"}),
    ),
]


def test_every_named_event_has_a_case() -> None:
    assert {case.event for case in CASES} == set(audit.__all__) - HELPERS


@pytest.fixture
async def world(session: AsyncSession) -> World:
    service = await seed_agenda(session)
    official = await session.scalar(select(Official))
    assert official is not None
    citizen, partner = (
        Participant(
            role=role,
            name=f"Fatima de Vries ({role})",
            email="fatima@example.org",
            join_token_hash=hash_token(new_token()),
        )
        for role in ("citizen", "partner")
    )
    appointment = Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=START,
        end_at=START + dt.timedelta(minutes=20),
        citizen_name="Fatima de Vries",
        citizen_email="fatima@example.org",
        manage_token_hash=hash_token(new_token()),
        participants=[citizen, partner],
    )
    session.add(appointment)
    await session.commit()
    document = Document(  # not stored: the events only read it
        id=uuid.uuid4(),
        appointment_id=appointment.id,
        shared_by_role="partner",
        name="paspoort.pdf",
        content_type="application/pdf",
        size=48213,
        sha256="ab" * 32,
        storage_key="k",
        wrapped_key=b"",
        expires_at=EXPIRES,
        kept_for_case=True,
    )
    scope: Any = {"type": "http", "client": (IP, 51234), "headers": [], "path": "/", "method": "POST"}
    return World(service, official, appointment, citizen, partner, document, Request(scope))


@pytest.mark.parametrize("case", CASES, ids=[c.event for c in CASES])
async def test_the_event_writes_its_row(session: AsyncSession, world: World, case: Case) -> None:
    written = case.write(session, world)
    if inspect.isawaitable(written):
        await written
    await session.commit()
    (event,) = await session.scalars(select(AuditEvent))
    expected = case.expect(world)
    stored = Row(
        event.actor,
        event.action,
        event.object_type,
        event.object_id,
        event.municipality_id,
        event.result,
        event.origin,
        event.details,
    )
    assert stored == expected._replace(object_id=str(expected.object_id))
    # Ids, codes, types, sizes, hashes and outcomes only: nobody's name or address, no file name
    # (nor a BSN, which no event takes).
    shown = json.dumps(event.details)
    assert "Fatima" not in shown and "@" not in shown and "paspoort" not in shown
    # The first link of its chain, hashed over what was stored.
    assert (event.chain_seq, event.prev_hash, event.hash) == (1, GENESIS, event_hash(event))
    assert [r.ok for r in await audit.verify_chains(session)] == [True]
