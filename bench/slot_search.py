"""Benchmark: the free slots of a team with 10 desks over 8 weeks, about 60% booked, on PostgreSQL.

Baseline, measured in the same run: the one query the search needs (the seats held per unit in the
team's pools over those weeks, counted in SQL) with raw asyncpg. The ratio shows what the ORM,
loading the rules and walking the agenda in Python add to fetching the data.

    python -m bench.slot_search --rounds 30
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import time
import uuid

import asyncpg

from backend.booking import service as booking
from backend.booking import slots
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Municipality, OpeningHours, Service, SlotClaim, Team
from backend.settings import DatabaseSettings
from backend.timefmt import AMSTERDAM
from tests.support import postgres_database

DESKS = 10
WEEKS = 8
FILL = 0.6


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{name:<34} p50 {statistics.median(ordered) * 1000:8.2f} ms   p95 {p95 * 1000:8.2f} ms"


async def seed(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_engine(DatabaseSettings(url=url))
    await upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        municipality = Municipality(cbs_code="0599", name="Gemeente Bench", slug="bench")
        blocks = ((dt.time(8, 30), dt.time(12, 30)), (dt.time(13, 0), dt.time(17, 0)))
        team = Team(
            municipality=municipality,
            name="Burgerzaken",
            slug="burgerzaken",
            desks=DESKS,
            lead_minutes=0,
            horizon_days=WEEKS * 7,
            opening_hours=[OpeningHours(weekday=d, opens=o, closes=c) for d in range(5) for o, c in blocks],
        )
        service = Service(team=team, name="Geboorteaangifte", slug="geboorte", duration_minutes=20)
        session.add_all([municipality, team, service])
        await session.flush()
        # Fill about 60% of the seats the way bookings would: whole 20-minute appointments.
        rules = await booking.load_rules(session, service)
        today = dt.datetime.now(AMSTERDAM).date()
        rng = random.Random(5)
        appointment_ids = []
        claims = []
        for day in range(WEEKS * 7):
            for candidate in slots.candidates(rules.agenda, rules.service, today + dt.timedelta(days=day)):
                for seat in range(DESKS):
                    if rng.random() < FILL:
                        appointment_ids.append(uuid.uuid4())
                        claims.extend(
                            (unit, seat, appointment_ids[-1])
                            for unit in slots.units(candidate.start, candidate.start + rules.service.span)
                        )
        await session.commit()
    await engine.dispose()
    raw = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        now = dt.datetime.now(dt.UTC)
        await raw.executemany(
            "INSERT INTO appointment (id, reference, service_id, team_id, municipality_id, start_at,"
            " end_at, status, citizen_name, citizen_email, locale, intake, manage_token_hash, sequence,"
            " cancel_reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, 'booked', 'x',"
            " 'x@example.nl', 'nl', '{}', $2, 0, '', $6, $6)",
            [(a, f"B{a.hex[:14]}", service.id, team.id, municipality.id, now) for a in appointment_ids],
        )
        await raw.copy_records_to_table(
            SlotClaim.__tablename__,
            records=[(uuid.uuid4(), team.id, team.id, unit, seat, a, now, now) for unit, seat, a in claims],
            columns=[
                "id",
                "pool_id",
                "team_id",
                "unit_start",
                "seat",
                "appointment_id",
                "created_at",
                "updated_at",
            ],
        )
    finally:
        await raw.close()
    return team.id, service.id


async def main(rounds: int) -> None:
    async with postgres_database() as url:
        team_id, service_id = await seed(url)
        today = dt.datetime.now(AMSTERDAM).date()
        last = today + dt.timedelta(days=WEEKS * 7 - 1)
        start = dt.datetime.combine(today, dt.time(), AMSTERDAM).astimezone(dt.UTC)
        end = start + dt.timedelta(days=WEEKS * 7 + 1)

        raw = await asyncpg.connect(url.replace("+asyncpg", ""))
        baseline = []
        for _ in range(rounds):
            began = time.perf_counter()
            rows = await raw.fetch(
                "SELECT pool_id, unit_start, count(*) FROM slot_claim WHERE team_id = $1"
                " AND pool_id = ANY($4) AND unit_start >= $2 AND unit_start < $3"
                " GROUP BY pool_id, unit_start",
                team_id,
                start,
                end,
                [team_id, service_id],
            )
            baseline.append(time.perf_counter() - began)
        await raw.close()

        engine = create_engine(DatabaseSettings(url=url))
        sessions = create_sessionmaker(engine)
        product = []
        found = 0
        for _ in range(rounds):
            async with sessions() as session:
                began = time.perf_counter()
                service = await session.get_one(Service, service_id)
                free = await booking.free_slots(session, service, today, last, dt.datetime.now(dt.UTC))
                product.append(time.perf_counter() - began)
                found = len(free)
        await engine.dispose()

    print(f"team with {DESKS} desks, {WEEKS} weeks, {len(rows)} units held, {found} free start times")
    print(summary("baseline: raw held-seats query", baseline))
    print(summary("free_slots (rules + walk)", product))
    print(f"ratio (p50): {statistics.median(product) / statistics.median(baseline):.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="3 rounds: that it runs")
    arguments = parser.parse_args()
    asyncio.run(main(3 if arguments.quick else arguments.rounds))
