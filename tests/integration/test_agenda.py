"""The agenda through HTTP, on SQLite and PostgreSQL: intake and the legal deadline, exceptions,
moving and cancelling with their emails, reminders exactly once, idempotent creates, no-shows."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.booking.deadlines import birth_registration_deadline
from backend.booking.tokens import hash_token
from backend.db.models import (
    Appointment,
    AuditEvent,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ScheduleException,
    SlotClaim,
)
from backend.housekeeping import mark_no_shows
from backend.timefmt import AMSTERDAM
from tests.live import CSRF_FIELD
from tests.support import count_rows, seed_agenda

CITIZEN = {"name": "Sanne de Boer", "email": "sanne@example.nl"}
BIRTH_QUESTION = {
    "key": "birth_date",
    "type": "date",
    "required": True,
    "not_future": True,
    "label": {"nl": "Geboortedatum van uw kind", "en": "Date of birth"},
}


def today() -> dt.date:
    return dt.datetime.now(AMSTERDAM).date()


async def csrf(client: Any, path: str) -> str:
    page = await client.get(path)
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:300]
    return found.group(1)


async def slots(client: Any, service_id: object, **query: str) -> list[dict[str, str]]:
    response = await client.get(f"/api/v1/services/{service_id}/slots", params=query)
    assert response.status_code == 200, response.text
    result: list[dict[str, str]] = response.json()
    return result


async def create(client: Any, service_id: object, start: str, **extra: Any) -> Any:
    headers = extra.pop("headers", None)
    body = {"service_id": str(service_id), "start": start, "citizen": CITIZEN, **extra}
    return await client.post("/api/v1/appointments", json=body, headers=headers)


async def outbox(session: AsyncSession, **where: Any) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.next_attempt_at)
    for field, value in where.items():
        query = query.where(getattr(OutboxMessage, field) == value)
    rows = list(await session.scalars(query.execution_options(populate_existing=True)))
    await session.commit()
    return rows


# -- intake and the legal deadline -----------------------------------------------------------------


@pytest.fixture
async def birth_service(session: AsyncSession) -> Any:
    return await seed_agenda(
        session,
        slug="deadlinestad",
        cbs_code="0363",
        intake=[BIRTH_QUESTION],
        deadline_rule="birth_registration",
    )


async def test_questions_come_first_and_the_deadline_limits_the_days(
    client: Any, birth_service: Any, session: AsyncSession
) -> None:
    service_id = birth_service.id
    assert (await client.get(f"/diensten/{service_id}")).headers[
        "location"
    ] == f"/diensten/{service_id}/vragen"

    token = await csrf(client, f"/diensten/{service_id}/vragen")
    future = (today() + dt.timedelta(days=2)).isoformat()
    refused = await client.post(
        f"/diensten/{service_id}/vragen", data={"_csrf_token": token, "birth_date": future}
    )
    assert refused.status_code == 422 and "Deze datum ligt in de toekomst" in refused.text
    typo = await client.post(
        f"/diensten/{service_id}/vragen", data={"_csrf_token": token, "birth_date": "31-02-2026"}
    )
    assert typo.status_code == 422 and "Dit is geen datum" in typo.text

    born = today()
    answered = await client.post(
        f"/diensten/{service_id}/vragen", data={"_csrf_token": token, "birth_date": born.strftime("%d-%m-%Y")}
    )
    assert answered.status_code == 303 and answered.headers["location"] == f"/diensten/{service_id}"
    page = await client.get(f"/diensten/{service_id}")
    assert "data-deadline-notice" in page.text and "binnen 3 dagen" in page.text
    offered = {
        dt.datetime.fromisoformat(s).astimezone(AMSTERDAM).date()
        for s in re.findall(r'data-start="([^"]+)"', page.text)
    }
    last = birth_registration_deadline(born)
    assert offered and max(offered) <= last and min(offered) >= born

    start = re.findall(r'data-start="([^"]+)"', page.text)[0]
    token = await csrf(client, f"/diensten/{service_id}/boeken?start={start.replace('+', '%2B')}")
    booked = await client.post(
        f"/diensten/{service_id}/boeken",
        data={
            "_csrf_token": token,
            "start": start,
            "name": "Sanne",
            "email": "s@example.nl",
            "consent": "yes",
        },
    )
    assert booked.status_code == 303
    appointment = (await session.scalars(select(Appointment))).one()
    assert appointment.intake == {"birth_date": born.isoformat()}
    await session.commit()


async def test_the_api_checks_intake_and_the_deadline(
    client: Any, birth_service: Any, session: AsyncSession
) -> None:
    born = today() - dt.timedelta(days=1)
    inside = await slots(client, birth_service.id, birth_date=born.isoformat())
    for wrong in ((today() + dt.timedelta(days=1)).isoformat(), "2026-02-31", "1850-01-01"):
        refused = await client.get(f"/api/v1/services/{birth_service.id}/slots", params={"birth_date": wrong})
        assert refused.status_code in (400, 422) and refused.headers["content-type"].startswith(
            "application/problem+json"
        ), (wrong, refused.text)
    last = birth_registration_deadline(born)
    assert inside and all(
        dt.datetime.fromisoformat(s["start"]).astimezone(AMSTERDAM).date() <= last for s in inside
    )
    later = [
        s
        for s in await slots(client, birth_service.id)
        if dt.datetime.fromisoformat(s["start"]).astimezone(AMSTERDAM).date() > last
    ]
    assert later, "the agenda has times after the deadline"

    outside = await create(
        client, birth_service.id, later[0]["start"], intake={"birth_date": born.isoformat()}
    )
    assert outside.status_code == 422
    assert (
        outside.json()["errors"][0]["field"] == "start"
        and "binnen 3 dagen" in outside.json()["errors"][0]["message"]
    )
    missing = await create(client, birth_service.id, inside[0]["start"])
    assert missing.status_code == 422 and missing.json()["errors"] == [
        {"field": "intake.birth_date", "message": "Vul dit in."}
    ]
    bad = await create(
        client, birth_service.id, inside[0]["start"], intake={"birth_date": "2026-02-31", "x": 1}
    )
    assert {e["field"] for e in bad.json()["errors"]} == {"intake.birth_date", "intake.x"}
    good = await create(client, birth_service.id, inside[0]["start"], intake={"birth_date": born.isoformat()})
    assert good.status_code == 201, good.text
    assert await count_rows(session, Appointment) == 1


async def test_a_term_that_has_passed_says_what_to_do(client: Any, birth_service: Any) -> None:
    token = await csrf(client, f"/diensten/{birth_service.id}/vragen")
    old = (today() - dt.timedelta(days=20)).isoformat()
    await client.post(f"/diensten/{birth_service.id}/vragen", data={"_csrf_token": token, "birth_date": old})
    page = await client.get(f"/diensten/{birth_service.id}")
    assert "data-no-times" in page.text and "De termijn is al voorbij" in page.text
    assert "data-start=" not in page.text


# -- exceptions to the week ------------------------------------------------------------------------


async def test_exceptions_close_a_day_and_open_another(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    tomorrow, after = today() + dt.timedelta(days=1), today() + dt.timedelta(days=2)
    session.add_all(
        [
            ScheduleException(team_id=seeded_service.team_id, day=tomorrow, blocks=[], note="Verkiezingen"),
            ScheduleException(
                team_id=seeded_service.team_id, day=after, blocks=[{"opens": "10:00", "closes": "11:00"}]
            ),
        ]
    )
    await session.commit()
    offered = await slots(
        client, seeded_service.id, **{"from": tomorrow.isoformat(), "to": after.isoformat()}
    )
    local = [dt.datetime.fromisoformat(s["start"]).astimezone(AMSTERDAM) for s in offered]
    assert [t.strftime("%H:%M") for t in local] == ["10:00", "10:20", "10:40"]
    assert {t.date() for t in local} == {after}


# -- moving and cancelling -------------------------------------------------------------------------


async def _book_via_api(client: Any, service_id: object, index: int = 0) -> dict[str, Any]:
    offered = await slots(client, service_id)
    created = await create(client, service_id, offered[index]["start"])
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def test_moving_frees_the_old_time_sends_new_links_and_new_reminders(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    booked = await _book_via_api(client, seeded_service.id)
    token = booked["manage_token"]
    appointment = (await session.scalars(select(Appointment))).one()
    old_join_hash = (await session.scalars(select(Participant.join_token_hash))).one()
    await session.commit()

    choose = await client.get(f"/afspraak/{token}/verzetten")
    assert choose.status_code == 200 and "no-store" in choose.headers["cache-control"]
    new_start = re.findall(r'data-start="([^"]+)"', choose.text)[3]
    confirm = await client.get(f"/afspraak/{token}/verzetten", params={"start": new_start})
    assert "Ja, verzetten" in confirm.text
    form = CSRF_FIELD.search(confirm.text)
    assert form
    moved = await client.post(
        f"/afspraak/{token}/verzetten", data={"_csrf_token": form.group(1), "start": new_start}
    )
    assert moved.status_code == 303 and moved.headers["location"] == f"/afspraak/{token}?gewijzigd=verzet"

    await session.refresh(appointment)
    assert appointment.start_at == dt.datetime.fromisoformat(new_start) and appointment.sequence == 1
    assert (await session.scalars(select(Participant.join_token_hash))).one() != old_join_hash
    claims = list(await session.scalars(select(SlotClaim.unit_start).order_by(SlotClaim.unit_start)))
    assert claims[0] == appointment.start_at and len(claims) == 4
    await session.commit()
    assert booked["start"] in [s["start"] for s in await slots(client, seeded_service.id)]  # free again

    kinds = [(m.kind, m.status, m.idempotency_key.rsplit(":", 1)[-1]) for m in await outbox(session)]
    assert ("rescheduled", OutboxStatus.PENDING, "1") in kinds
    for kind, status, sequence in kinds:
        if kind == "reminder":
            assert (status, sequence) in ((OutboxStatus.CANCELLED, "0"), (OutboxStatus.PENDING, "1"))
    again = await client.post(
        f"/api/v1/appointments/{booked['reference']}/reschedule",
        json={"start": new_start},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 422  # already at that time
    actions = list(await session.scalars(select(AuditEvent.action)))
    await session.commit()
    assert "appointment.rescheduled" in actions


async def test_cancelling_frees_the_slot_stops_reminders_and_the_links(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    booked = await _book_via_api(client, seeded_service.id)
    token, reference = booked["manage_token"], booked["reference"]
    wrong = await client.post(
        f"/api/v1/appointments/{reference}/cancel", json={}, headers={"Authorization": "Bearer " + "x" * 43}
    )
    assert wrong.status_code == 404
    cancelled = await client.post(
        f"/api/v1/appointments/{reference}/cancel",
        json={"reason": "Toch op het stadhuis"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert await count_rows(session, SlotClaim) == 0
    assert booked["start"] in [s["start"] for s in await slots(client, seeded_service.id)]
    rows = await outbox(session)
    assert {(m.kind, m.status) for m in rows if m.kind == "reminder"} <= {
        ("reminder", OutboxStatus.CANCELLED)
    }
    assert all(m.mime == b"" for m in rows if m.status == OutboxStatus.CANCELLED)
    assert [m.kind for m in rows if m.kind == "cancelled"] == ["cancelled"]

    page = await client.get(f"/afspraak/{token}")
    assert (
        page.status_code == 200
        and 'data-status="cancelled"' in page.text
        and 'data-action="cancel"' not in page.text
    )
    twice = await client.post(
        f"/api/v1/appointments/{reference}/cancel", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert twice.status_code == 409
    appointment = (await session.scalars(select(Appointment))).one()
    participant_hash = (await session.scalars(select(Participant.join_token_hash))).one()
    await session.commit()
    assert appointment.cancel_reason == "Toch op het stadhuis"
    assert participant_hash != hash_token("")


async def test_cancel_page_asks_first_and_keeps_the_reason_short(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    booked = await _book_via_api(client, seeded_service.id)
    token = booked["manage_token"]
    asking = await client.get(f"/afspraak/{token}/annuleren")
    assert asking.status_code == 200 and await count_rows(session, SlotClaim) == 4  # a GET changes nothing
    form = CSRF_FIELD.search(asking.text)
    assert form
    done = await client.post(
        f"/afspraak/{token}/annuleren", data={"_csrf_token": form.group(1), "reason": "x" * 5000}
    )
    assert done.status_code == 303
    appointment = (await session.scalars(select(Appointment))).one()
    await session.commit()
    assert appointment.status == "cancelled" and len(appointment.cancel_reason) == 500


async def test_manage_links_that_never_worked_or_no_longer_work_look_the_same(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    booked = await _book_via_api(client, seeded_service.id)
    appointment = (await session.scalars(select(Appointment))).one()
    appointment.start_at -= dt.timedelta(days=3)
    appointment.end_at -= dt.timedelta(days=3)
    await session.commit()
    expired = await client.get(f"/afspraak/{booked['manage_token']}")
    unknown = await client.get("/afspraak/" + "Z" * 43)
    assert expired.status_code == unknown.status_code == 404
    assert "Deze link werkt niet" in expired.text and "Deze link werkt niet" in unknown.text


# -- reminders exactly once ------------------------------------------------------------------------


async def test_reminders_are_due_at_their_moment_and_sent_once(
    client: Any,
    seeded_service: Any,
    session: AsyncSession,
    settings: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from backend.email.dev_sink import DevMailbox
    from backend.email.worker import OutboxWorker
    from backend.settings import EmailSettings
    from tests.support import free_port

    offered = await slots(client, seeded_service.id, **{"from": (today() + dt.timedelta(days=3)).isoformat()})
    created = await create(client, seeded_service.id, offered[0]["start"])
    start = dt.datetime.fromisoformat(created.json()["start"])
    reminders = await outbox(session, kind="reminder")
    assert [r.next_attempt_at for r in reminders] == [
        start - dt.timedelta(hours=24),
        start - dt.timedelta(hours=1),
    ]

    sink = DevMailbox(port=free_port(), server_hostname="sink.test")
    sink.start()
    try:
        worker_settings = type(settings)(
            **{**settings.__dict__, "email": EmailSettings(smtp_port=sink.port, dev_sink=False)}
        )
        clock = [dt.datetime.now(dt.UTC)]
        worker = OutboxWorker(sessionmaker, worker_settings, clock=lambda: clock[0])
        assert await worker.run_once() == 1  # the confirmation only
        clock[0] = start - dt.timedelta(hours=23)
        assert await worker.run_once() == 1  # the day-before reminder
        assert await worker.run_once() == 0
        clock[0] = start - dt.timedelta(minutes=30)
        assert await worker.run_once() == 1  # the hour-before reminder
        assert await worker.run_once() == 0
        subjects = [m.subject for m in sink.messages()]
        assert sum(s.startswith("Herinnering") for s in subjects) == 2 and len(subjects) == 3
    finally:
        sink.stop()


async def test_moves_and_cancellations_at_the_same_moment_take_turns(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    booked = await _book_via_api(client, seeded_service.id)
    offered = [s["start"] for s in await slots(client, seeded_service.id) if s["start"] != booked["start"]]
    auth = {"Authorization": f"Bearer {booked['manage_token']}"}
    base = f"/api/v1/appointments/{booked['reference']}"
    answers = await asyncio.gather(
        client.post(f"{base}/reschedule", json={"start": offered[2]}, headers=auth),
        client.post(f"{base}/cancel", json={}, headers=auth),
        client.post(f"{base}/reschedule", json={"start": offered[6]}, headers=auth),
        client.post(f"{base}/cancel", json={}, headers=auth),
        client.post(f"{base}/reschedule", json={"start": offered[9]}, headers=auth),
    )
    codes = [a.status_code for a in answers]
    assert set(codes) <= {200, 409}, [a.text for a in answers]
    moves, cancels = codes[0::2].count(200), codes[1::2].count(200)
    assert cancels <= 1
    appointment = (await session.scalars(select(Appointment))).one()
    await session.refresh(appointment)
    assert appointment.sequence == moves + cancels  # every change counted once, none lost
    claims = await count_rows(session, SlotClaim)
    cancelled_mails = len(await outbox(session, kind="cancelled"))
    if cancels:
        assert (appointment.status, claims, cancelled_mails) == ("cancelled", 0, 1)
    else:
        assert (appointment.status, claims, cancelled_mails) == ("booked", 4, 0)
    await session.commit()


async def test_a_move_made_from_a_stale_page_does_not_undo_a_cancellation(
    seeded_service: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Two requests read the appointment; the first cancels it; the second, still holding the
    appointment as it was, tries to move it: the move reads it again under a lock and is refused."""
    from backend.booking import service as booking

    now = dt.datetime.now(dt.UTC)
    async with sessionmaker() as setup:
        service = await setup.get(type(seeded_service), seeded_service.id)
        free = await booking.free_slots(setup, service, now.date(), now.date() + dt.timedelta(days=14), now)
        booked = await booking.book(setup, service, free[0], booking.Citizen("Piet", "p@example.nl"), now=now)
        appointment_id = booked.appointment.id
    async with sessionmaker() as stale_session, sessionmaker() as other:
        stale = await stale_session.get(Appointment, appointment_id)
        await stale_session.commit()  # the request read it and moved on (the object stays loaded)
        fresh = await other.get(Appointment, appointment_id)
        assert stale is not None and fresh is not None
        await booking.cancel(other, fresh, now=now)
        with pytest.raises(booking.NotChangeable):
            await booking.reschedule(stale_session, stale, free[5], now=now)
        await stale_session.rollback()
    async with sessionmaker() as check:
        appointment = await check.get(Appointment, appointment_id)
        assert appointment is not None and appointment.status == "cancelled" and appointment.sequence == 1
        assert await count_rows(check, SlotClaim) == 0


# -- Idempotency-Key ----------------------------------------------------------------


async def test_idempotency_key_replays_the_answer_and_refuses_another_body(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    offered = await slots(client, seeded_service.id)
    key = {"Idempotency-Key": "7d0c1f4e-2b5a-4c8e-9f1a-0a1b2c3d4e5f"}
    first = await create(client, seeded_service.id, offered[0]["start"], headers=key)
    replay = await create(client, seeded_service.id, offered[0]["start"], headers=key)
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json() and first.json()["manage_token"]
    other = await create(client, seeded_service.id, offered[1]["start"], headers=key)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    bad = await create(
        client, seeded_service.id, offered[1]["start"], headers={"Idempotency-Key": "met spaties"}
    )
    assert bad.status_code == 422
    assert await count_rows(session, Appointment) == 1
    assert len(await outbox(session, kind="confirmation")) == 1


async def test_one_idempotency_key_sent_many_times_at_once_books_once(
    client: Any, seeded_service: Any, session: AsyncSession
) -> None:
    offered = await slots(client, seeded_service.id)
    key = {"Idempotency-Key": "gelijktijdig-1"}
    answers = await asyncio.gather(
        *(create(client, seeded_service.id, offered[0]["start"], headers=key) for _ in range(8))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["reference"] for a in answers}) == 1
    assert await count_rows(session, Appointment) == 1
    assert len(await outbox(session, kind="confirmation")) == 1


# -- limits and no-shows ----------------------------------------------------------------


async def test_one_email_address_holds_at_most_the_services_maximum(client: Any, seeded_service: Any) -> None:
    offered = await slots(client, seeded_service.id)
    for index in (0, 1):
        assert (await create(client, seeded_service.id, offered[index * 3]["start"])).status_code == 201
    third = await create(client, seeded_service.id, offered[6]["start"])
    assert third.status_code == 422 and third.json()["errors"][0]["field"] == "citizen.email"


async def test_nobody_came_becomes_no_show_after_the_grace_window(
    client: Any, seeded_service: Any, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for index in (0, 3):
        await _book_via_api(client, seeded_service.id, index)
    first, second = (await session.scalars(select(Appointment).order_by(Appointment.start_at))).all()
    second.status = "waiting"  # someone came: not a no-show, whatever the time
    await session.commit()
    grace = dt.timedelta(minutes=30)
    async with sessionmaker() as db:
        assert await mark_no_shows(db, now=first.end_at + grace - dt.timedelta(minutes=1), grace=grace) == []
    async with sessionmaker() as db:
        marked = await mark_no_shows(db, now=second.end_at + grace + dt.timedelta(minutes=1), grace=grace)
    assert [a.id for a in marked] == [first.id]
    statuses = dict((await session.execute(select(Appointment.id, Appointment.status))).all())
    audited = await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "appointment.no_show")
    )
    await session.commit()
    assert statuses == {first.id: "no_show", second.id: "waiting"} and audited == 1


async def test_calls_left_open_are_ended_by_housekeeping(
    client: Any,
    seeded_service: Any,
    session: AsyncSession,
    settings: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from backend.housekeeping import Housekeeper

    for index in (0, 3):
        await _book_via_api(client, seeded_service.id, index)
    talked, waited = (await session.scalars(select(Appointment).order_by(Appointment.start_at))).all()
    talked.status, talked.participants[0].state = "in_call", "in_call"
    waited.status, waited.participants[0].state = "waiting", "waiting"
    await session.commit()
    told: list[tuple[Any, str | None]] = []

    async def notify(appointment: Appointment, outcome: str | None) -> None:
        told.append((appointment.id, outcome))

    after = dt.timedelta(minutes=settings.join.close_after_minutes)
    clock = [talked.end_at + after - dt.timedelta(minutes=1)]
    keeper = Housekeeper(sessionmaker, settings, notify=notify, clock=lambda: clock[0])
    assert await keeper.run_once() == 0  # a call that runs late is left alone
    clock[0] = waited.end_at + after + dt.timedelta(minutes=1)
    assert await keeper.run_once() == 2
    assert sorted(told, key=str) == sorted([(talked.id, "completed"), (waited.id, "no_show")], key=str)
    rows = (await session.execute(select(Appointment.id, Appointment.status, Appointment.ended_at))).all()
    states = set(await session.scalars(select(Participant.state)))
    ends = list(await session.scalars(select(AuditEvent.details).where(AuditEvent.action == "call.end")))
    await session.commit()
    assert {(i, s) for i, s, _ in rows} == {(talked.id, "completed"), (waited.id, "no_show")}
    assert all(ended is not None for _, _, ended in rows) and states == {"ended"}
    assert sorted(d["outcome"] for d in ends) == ["completed", "no_show"]
    assert all(d["automatic"] for d in ends)


async def test_a_reminder_for_an_appointment_that_no_longer_runs_is_not_sent(
    client: Any,
    seeded_service: Any,
    session: AsyncSession,
    settings: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from backend.email.dev_sink import DevMailbox
    from backend.email.worker import OutboxWorker
    from backend.settings import EmailSettings
    from tests.support import free_port

    offered = await slots(client, seeded_service.id, **{"from": (today() + dt.timedelta(days=3)).isoformat()})
    created = await create(client, seeded_service.id, offered[0]["start"])
    start = dt.datetime.fromisoformat(created.json()["start"])
    appointment = (await session.scalars(select(Appointment))).one()
    appointment.status = "no_show"  # stopped running by a path that did not cancel the reminders
    await session.commit()

    sink = DevMailbox(port=free_port(), server_hostname="sink.test")
    sink.start()
    try:
        worker_settings = type(settings)(
            **{**settings.__dict__, "email": EmailSettings(smtp_port=sink.port, dev_sink=False)}
        )
        worker = OutboxWorker(sessionmaker, worker_settings, clock=lambda: start - dt.timedelta(minutes=30))
        assert await worker.run_once() == 0
        assert sink.messages() == []
    finally:
        sink.stop()
    rows = await outbox(session)  # the confirmation and both reminders: none of them goes out now
    assert sorted(r.kind for r in rows) == ["confirmation", "reminder", "reminder"]
    assert [(r.status, r.mime) for r in rows] == [(OutboxStatus.CANCELLED, b"")] * 3


async def test_a_booking_that_names_a_partner_invites_them_with_an_own_link(
    client: Any, session: AsyncSession, settings: Any
) -> None:
    import email
    import email.policy

    from backend.email.messages import outgoing_bytes

    partner_questions = [
        {"key": "partner_name", "type": "text", "required": True, "label": "Naam van uw partner"},
        {"key": "partner_email", "type": "email", "required": True, "label": "E-mailadres van uw partner"},
    ]
    service = await seed_agenda(session, slug="trouwstad", cbs_code="0344", intake=partner_questions)
    offered = await slots(client, service.id, **{"from": (today() + dt.timedelta(days=3)).isoformat()})
    intake = {"partner_name": "Kim de Wit", "partner_email": "kim@example.nl"}
    created = await create(client, service.id, offered[0]["start"], intake=intake, locale="en")
    assert created.status_code == 201, created.text

    people = {p.role: p for p in (await session.scalars(select(Participant))).all()}
    rows = await outbox(session)
    await session.commit()
    assert set(people) == {"citizen", "partner"} and people["partner"].email == "kim@example.nl"
    kinds = sorted(r.kind for r in rows)
    assert kinds == ["confirmation", "invitation", "reminder", "reminder", "reminder", "reminder"]
    invitation = next(r for r in rows if r.kind == "invitation")
    assert invitation.recipient == "kim@example.nl"
    raw = await outgoing_bytes(
        session,
        key=invitation.idempotency_key,
        sealed=invitation.mime,
        deferred=invitation.deferred,
        settings=settings,
        now=dt.datetime.now(dt.UTC),
    )
    assert raw is not None
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "You take part as a partner" in text and "/j/" in text and "/afspraak/" not in text
    ics = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    appointment = (
        await session.scalars(select(Appointment).where(Appointment.service_id == service.id))
    ).one()
    await session.commit()
    assert f"UID:{appointment.id}@digitale-balie" in ics.get_content()  # the same event as the booker's
