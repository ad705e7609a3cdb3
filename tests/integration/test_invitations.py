"""Inviting a partner or an interpreter through the desk: own link by email, limits, errors, revoking.

Runs on SQLite and PostgreSQL (the seat count takes a row lock there).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import secrets
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.booking.tokens import hash_token, new_token
from backend.db.models import Appointment, AuditEvent, OutboxMessage, Participant, Service
from backend.email.messages import outgoing_bytes
from backend.participants import HARD_LIMIT, capacity
from tests.live import CSRF_FIELD, sign_in_official
from tests.oidc import served_balie
from tests.support import seed_agenda

JOIN_LINK = re.compile(r"https?://[^\s\"'<>]+/j/([A-Za-z0-9_-]{20,})")


async def appointment_now(
    session: AsyncSession, service: Service, *, citizen: str = "Fatima de Vries"
) -> Appointment:
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    appointment = Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name=citizen,
        citizen_email="fatima@example.org",
        manage_token_hash=hash_token(new_token()),
        participants=[
            Participant(
                role="citizen",
                name=citizen,
                email="fatima@example.org",
                join_token_hash=hash_token(new_token()),
            )
        ],
    )
    session.add(appointment)
    await session.commit()
    return appointment


@pytest.fixture
async def client(settings: Any, engine: Any, seeded_service: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app under uvicorn (sign-in goes through the development provider over real HTTP)."""
    async with served_balie(settings) as (app, http):
        http.app = app  # type: ignore[attr-defined]  # the hub, for the tests that publish
        yield http


async def sign_in(client: Any, subject: str = "official-testgemeente") -> str:
    """Sign in through the development provider; returns a CSRF token for the desk's forms."""
    await sign_in_official(client, subject)
    return await csrf_of(client, "/balie/")


async def csrf_of(client: Any, path: str) -> str:
    page = await client.get(path)
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:300]
    return found.group(1)


async def opened(row: OutboxMessage, settings: Any, session: AsyncSession) -> EmailMessage:
    """The email this outbox row sends (written now, as the worker would)."""
    raw = await outgoing_bytes(
        session,
        key=row.idempotency_key,
        sealed=row.mime,
        deferred=row.deferred,
        settings=settings,
        now=dt.datetime.now(dt.UTC),
    )
    assert raw is not None, "the worker would not send this row"
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


async def invite_form(client: Any, appointment: Appointment, **fields: str) -> Any:
    token = await csrf_of(client, f"/balie/afspraken/{appointment.id}/uitnodigen")
    data = {"_csrf_token": token, "name": "Yusuf Demir", "email": "tolk@example.nl", "role": "interpreter"}
    return await client.post(f"/balie/afspraken/{appointment.id}/uitnodigen", data={**data, **fields})


async def test_an_interpreter_gets_an_own_link_by_email(
    client: Any, seeded_service: Service, session: AsyncSession, settings: Any
) -> None:
    appointment = await appointment_now(session, seeded_service)
    await sign_in(client)
    form = await client.get(f"/balie/afspraken/{appointment.id}/uitnodigen")
    assert (
        form.status_code == 200
        and "Fatima de Vries" in form.text
        and "no-store" in form.headers["cache-control"]
    )

    response = await invite_form(client, appointment)
    assert response.status_code == 303
    assert response.headers["location"] == f"/balie/afspraken/{appointment.id}/uitnodigen?verstuurd=true"
    assert "De uitnodiging is verstuurd" in (await client.get(response.headers["location"])).text

    interpreter = await session.scalar(
        select(Participant).where(
            Participant.appointment_id == appointment.id, Participant.role == "interpreter"
        )
    )
    assert interpreter is not None and interpreter.state == "invited" and interpreter.name == "Yusuf Demir"
    row = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == f"invitation:{interpreter.id}")
    )
    assert row is not None and row.recipient == "tolk@example.nl"
    assert b"/j/" not in row.mime  # sealed while it waits

    message = await opened(row, settings, session)
    text, html = parts(message)
    assert appointment.reference in str(message["Subject"]) and "Uitnodiging" in str(message["Subject"])
    link = JOIN_LINK.search(text)
    assert link and hash_token(link.group(1)) == interpreter.join_token_hash  # only the hash is stored
    assert link.group(0) in html and "/apparaattest" in text and "/apparaattest" in html
    assert "U doet mee als tolk." in text and "Test uw camera en microfoon" in html
    assert "/afspraak/" not in text  # no manage link: the appointment is the citizen's
    assert [p.get_content_type() for p in message.iter_attachments()] == ["text/calendar"]
    await session.commit()  # SQLite: every transaction holds the write lock, even a read

    landing = await client.get(f"/j/{link.group(1)}")
    assert landing.status_code == 200 and "Yusuf Demir" in landing.text

    (event,) = await session.scalars(select(AuditEvent).where(AuditEvent.action == "participant.invite"))
    assert event.details == {"participant": str(interpreter.id), "role": "interpreter"}
    assert "Yusuf" not in repr(event.details) and "tolk@" not in repr(event.details)
    await session.commit()


async def test_an_english_invitation(
    client: Any, seeded_service: Service, session: AsyncSession, settings: Any
) -> None:
    appointment = await appointment_now(session, seeded_service)
    await sign_in(client)
    assert (await invite_form(client, appointment, role="partner", locale="en")).status_code == 303
    row = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.like("invitation:%"))
    )
    assert row is not None
    text, html = parts(await opened(row, settings, session))
    assert "You take part as a partner." in text and "Go to the waiting room" in html
    await session.commit()


async def test_bad_input_gets_clear_errors_and_stores_nothing(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    appointment = await appointment_now(session, seeded_service)
    await sign_in(client)
    response = await invite_form(client, appointment, name="  \u202e ", email="tolk-at-example", role="boss")
    assert response.status_code == 422
    assert "Vul de naam in van wie u uitnodigt." in response.text
    assert "Dit e-mailadres klopt niet." in response.text
    assert "Kies of u een partner of een tolk uitnodigt." in response.text
    assert 'value="tolk-at-example"' in response.text  # what was typed is kept

    token = await csrf_of(client, f"/balie/afspraken/{appointment.id}/uitnodigen")
    as_json = await client.post(
        f"/balie/afspraken/{appointment.id}/uitnodigen?lang=en",
        data={"_csrf_token": token, "name": "", "email": "x@example.nl", "role": "partner"},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 422 and as_json.headers["content-type"].startswith(
        "application/problem+json"
    )
    body = as_json.json()
    assert body["title"] == "Please check what you entered."
    assert body["errors"] == {"name": "Enter the name of the person you invite."}

    without_csrf = await client.post(
        f"/balie/afspraken/{appointment.id}/uitnodigen",
        data={"name": "Yusuf", "email": "tolk@example.nl", "role": "partner"},
    )
    assert without_csrf.status_code == 403
    people = list(
        await session.scalars(select(Participant).where(Participant.appointment_id == appointment.id))
    )
    outbox = list(await session.scalars(select(OutboxMessage)))
    await session.commit()
    assert [p.role for p in people] == ["citizen"] and outbox == []


async def test_the_call_is_full_at_the_services_limit(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    assert capacity(Service(max_participants=9)) == HARD_LIMIT == 4
    assert capacity(Service(max_participants=1)) == 2
    seeded_service.max_participants = 3  # the official, the citizen and one more
    await session.commit()
    appointment = await appointment_now(session, seeded_service)
    await sign_in(client)
    assert (await invite_form(client, appointment)).status_code == 303
    full = await invite_form(client, appointment, name="Sem", email="sem@example.nl", role="partner")
    assert full.status_code == 409 and "Het gesprek is vol. Er passen hoogstens 3 mensen" in full.text
    token = await csrf_of(client, f"/balie/afspraken/{appointment.id}/uitnodigen")
    as_json = await client.post(
        f"/balie/afspraken/{appointment.id}/uitnodigen",
        data={"_csrf_token": token, "name": "Sem", "email": "sem@example.nl", "role": "partner"},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 409 and as_json.json()["code"] == "call_full"
    count = len(
        list(await session.scalars(select(Participant).where(Participant.appointment_id == appointment.id)))
    )
    assert count == 2
    await session.commit()


async def test_another_teams_appointment_is_not_found_and_audited(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    other = await seed_agenda(session, cbs_code="0363", slug="amsterdam")
    foreign = await appointment_now(session, other, citizen="Piet Jansen")
    token = await sign_in(client)
    assert (await client.get(f"/balie/afspraken/{foreign.id}/uitnodigen")).status_code == 404
    response = await client.post(
        f"/balie/afspraken/{foreign.id}/uitnodigen",
        data={"_csrf_token": token, "name": "X", "email": "x@example.nl", "role": "partner"},
    )
    assert response.status_code == 404
    denied = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")))
    assert len(denied) == 2 and all(e.object_id == str(foreign.id) for e in denied)
    assert list(await session.scalars(select(OutboxMessage))) == []
    await session.commit()


async def test_revoking_stops_the_link_and_frees_the_seat(
    client: Any, seeded_service: Service, session: AsyncSession, settings: Any
) -> None:
    seeded_service.max_participants = 3
    await session.commit()
    appointment = await appointment_now(session, seeded_service)
    await sign_in(client)
    await invite_form(client, appointment)
    interpreter = await session.scalar(select(Participant).where(Participant.role == "interpreter"))
    row = await session.scalar(select(OutboxMessage))
    assert interpreter is not None and row is not None
    token = JOIN_LINK.search(parts(await opened(row, settings, session))[0])
    assert token
    await session.commit()

    csrf = await csrf_of(client, f"/balie/afspraken/{appointment.id}/uitnodigen")
    revoked = await client.post(
        f"/balie/afspraken/{appointment.id}/deelnemers/{interpreter.id}/intrekken",
        data={"_csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert revoked.status_code == 200, revoked.text
    assert (await client.get(f"/j/{token.group(1)}")).status_code == 404  # the link no longer works
    assert (await invite_form(client, appointment, name="Sem", email="sem@example.nl")).status_code == 303

    citizen = await session.scalar(select(Participant).where(Participant.role == "citizen"))
    assert citizen is not None
    await session.commit()
    refused = await client.post(
        f"/balie/afspraken/{appointment.id}/deelnemers/{citizen.id}/intrekken", data={"_csrf_token": csrf}
    )
    assert (
        refused.status_code == 409 and "De inwoner van de afspraak kunt u niet verwijderen." in refused.text
    )
    actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.created_at)))
    assert actions.count("participant.invite") == 2 and actions.count("participant.revoke") == 1
    await session.commit()


async def test_admitting_one_person_from_the_call_page(
    client: Any, seeded_service: Service, session: AsyncSession
) -> None:
    from backend import calls

    appointment = await appointment_now(session, seeded_service)
    await sign_in(client)
    await invite_form(client, appointment, role="partner", name="Sem", email="sem@example.nl")
    people = list(
        await session.scalars(select(Participant).where(Participant.appointment_id == appointment.id))
    )
    await session.commit()
    hub = client.app.state.live
    for person in people:
        await calls.enter_waiting_room(session, hub, person)
    partner = next(p for p in people if p.role == "partner")

    token = await csrf_of(client, f"/balie/afspraken/{appointment.id}/uitnodigen")
    admitted = await client.post(
        f"/balie/afspraken/{appointment.id}/toelaten",
        data={"_csrf_token": token, "participant_id": str(partner.id)},
        headers={"Accept": "application/json"},
    )
    assert admitted.status_code == 200 and admitted.json() == {"admitted": [str(partner.id)]}
    states = dict((await session.execute(select(Participant.role, Participant.state))).all())
    await session.commit()
    assert states == {"partner": "admitted", "citizen": "waiting"}  # only that one went in

    mangled = await client.post(
        f"/balie/afspraken/{appointment.id}/toelaten",
        data={"_csrf_token": token, "participant_id": "not-a-uuid"},
        headers={"Accept": "application/json"},
    )
    assert mangled.status_code == 409 and mangled.json()["title"] == "Er wacht niemand"


async def test_a_booking_can_invite_the_partner_in_its_own_transaction(
    seeded_service: Service, session: AsyncSession, settings: Any
) -> None:
    """What an ondertrouw booking will do: the partner's link and email come with the booking, or
    nothing does."""
    from backend import participants
    from backend.booking.service import Booking, Citizen, book, free_slots
    from backend.timefmt import AMSTERDAM

    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(AMSTERDAM).date()
    starts = await free_slots(session, seeded_service, today, today + dt.timedelta(days=2), now)

    async def with_partner(db: AsyncSession, booking: Booking) -> None:
        await participants.invite(
            db,
            booking.appointment,
            name="Sem de Vries",
            email="sem@example.nl",
            role="partner",
            settings=settings,
        )

    booking = await book(
        session,
        seeded_service,
        starts[0],
        Citizen("Fatima de Vries", "f@example.nl"),
        now=now,
        on_booked=with_partner,
    )
    roles = sorted(
        p.role
        for p in await session.scalars(
            select(Participant).where(Participant.appointment_id == booking.appointment.id)
        )
    )
    keys = list(await session.scalars(select(OutboxMessage.idempotency_key)))
    await session.commit()
    assert roles == ["citizen", "partner"]
    assert [k.split(":")[0] for k in keys] == ["invitation"]  # (the confirmation is the flow's, not book()'s)

    async def with_bad_partner(db: AsyncSession, booking: Booking) -> None:
        await participants.invite(
            db, booking.appointment, name="Sem", email="not-an-address", role="partner", settings=settings
        )

    try:
        await book(
            session,
            seeded_service,
            starts[1],
            Citizen("Anna", "a@example.nl"),
            now=now,
            on_booked=with_bad_partner,
        )
    except participants.InvalidInvite as exc:
        assert exc.errors == {
            "email": "Dit e-mailadres klopt niet. Een e-mailadres ziet eruit als naam@voorbeeld.nl."
        }
        await session.rollback()
    else:
        raise AssertionError("a bad partner address must stop the booking")
    count = len(list(await session.scalars(select(Appointment))))
    await session.commit()
    assert count == 1  # the second booking did not happen at all
