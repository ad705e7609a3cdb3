"""Booking on SQLite and PostgreSQL: the database keeps one booking per seat, whatever races."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.booking import service as booking
from backend.booking.tokens import hash_token, participant_for_join_token
from backend.db.models import Appointment, SlotClaim
from tests.support import seed_agenda

CITIZEN = booking.Citizen(name="Sanne de Boer", email="sanne@example.nl")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def first_free(session: AsyncSession, service_id: object) -> dt.datetime:
    service = await booking.get_service(session, service_id)  # type: ignore[arg-type]
    assert service is not None
    today = dt.datetime.now(dt.UTC).date()
    starts = await booking.free_slots(session, service, today, today + dt.timedelta(days=2), now())
    return starts[0]


async def test_book_stores_hashed_tokens_and_claims(session: AsyncSession) -> None:
    service = await seed_agenda(session)
    start = await first_free(session, service.id)
    result = await booking.book(session, service, start, CITIZEN, now=now())
    appointment = result.appointment
    assert appointment.reference.startswith("DB-")
    assert appointment.end_at - appointment.start_at == dt.timedelta(minutes=20)
    assert appointment.manage_token_hash == hash_token(result.manage_token)
    assert result.join_token not in str(appointment.__dict__)
    claims = await session.scalar(
        select(func.count()).select_from(SlotClaim).where(SlotClaim.appointment_id == appointment.id)
    )
    assert claims == 4  # 20 minutes = four 5-minute units
    found = await participant_for_join_token(session, result.join_token)
    assert found is not None and found.id == result.participant.id
    assert await participant_for_join_token(session, result.join_token[:-2] + "xx") is None
    assert await participant_for_join_token(session, "../../etc/passwd") is None


async def test_taken_slot_is_refused_and_not_offered(session: AsyncSession) -> None:
    service = await seed_agenda(session)
    start = await first_free(session, service.id)
    await booking.book(session, service, start, CITIZEN, now=now())
    with pytest.raises(booking.SlotTaken):
        await booking.book(session, service, start, CITIZEN, now=now())
    overlapping = start + dt.timedelta(minutes=10)
    assert overlapping not in await booking.free_slots(
        session, service, start.date(), start.date() + dt.timedelta(days=1), now()
    )


async def test_slots_outside_rules_are_refused(session: AsyncSession) -> None:
    service = await seed_agenda(session)
    start = await first_free(session, service.id)
    for bad in (start - dt.timedelta(days=1), start + dt.timedelta(minutes=3), start + dt.timedelta(days=30)):
        with pytest.raises(booking.SlotNotOffered):
            await booking.book(session, service, bad, CITIZEN, now=now())


def citizen(n: int) -> booking.Citizen:
    return booking.Citizen(name=f"Inwoner {n}", email=f"inwoner{n}@example.nl")


async def test_desks_give_capacity(session: AsyncSession) -> None:
    service = await seed_agenda(session, desks=2)
    start = await first_free(session, service.id)
    await booking.book(session, service, start, citizen(1), now=now())
    await booking.book(session, service, start, citizen(2), now=now())
    with pytest.raises(booking.SlotTaken):
        await booking.book(session, service, start, citizen(3), now=now())


@pytest.mark.parametrize("skip_the_python_check", [False, True])
async def test_fifty_concurrent_bookings_for_the_last_slot(
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    skip_the_python_check: bool,
) -> None:
    if skip_the_python_check:
        # Every booking believes seat 0 is free: only the database's unique key can stop the others.
        async def always_seat_zero(
            _session: object, _pool: object, units: list[object], _capacity: int
        ) -> list[int]:
            return [0] * len(units)

        monkeypatch.setattr(booking, "_free_seats", always_seat_zero)

    async with sessionmaker() as session:
        service = await seed_agenda(session)
        start = await first_free(session, service.id)

    async def attempt(i: int) -> str:
        async with sessionmaker() as session:
            svc = await booking.get_service(session, service.id)
            assert svc is not None
            try:
                await booking.book(
                    session,
                    svc,
                    start,
                    booking.Citizen(name=f"Inwoner {i}", email=f"i{i}@example.nl"),
                    now=now(),
                )
            except booking.SlotTaken:
                return "taken"
            return "booked"

    results = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert results.count("booked") == 1
    assert results.count("taken") == 49
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Appointment)) == 1


async def test_database_refuses_a_second_claim_even_without_the_python_check(session: AsyncSession) -> None:
    from sqlalchemy.exc import IntegrityError

    service = await seed_agenda(session)
    start = await first_free(session, service.id)
    first = await booking.book(session, service, start, CITIZEN, now=now())
    session.add(
        SlotClaim(
            pool_id=service.team_id,
            team_id=service.team_id,
            unit_start=start,
            seat=0,
            appointment_id=first.appointment.id,
        )
    )
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()
