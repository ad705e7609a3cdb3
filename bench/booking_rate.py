"""Benchmark: bookings per second on PostgreSQL, beside a raw asyncpg insert-commit loop.

The product path is what a citizen's POST does below HTTP: load the rules, check the slot, count the
email's bookings, insert the appointment, its participant and its seat claims under the unique key,
seal the confirmation and reminder requests into the outbox (written when sent), write the audit
event, commit.
Baseline, measured in the same run with the same number of concurrent connections: one INSERT of a
row with a unique key per transaction, committed, with raw asyncpg.

    python -m bench.booking_rate --bookings 600 --concurrency 10
    python -m bench.booking_rate --quick   # a few bookings: that it runs (tests/test_benchmarks.py)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
import uuid

import asyncpg

from backend.booking import service as booking
from backend.booking.flow import book_and_confirm
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Municipality, OpeningHours, Service, Team
from backend.notify import Notify
from backend.settings import DatabaseSettings, Secret, Settings
from backend.timefmt import AMSTERDAM
from tests.support import postgres_database


async def seed(url: str) -> Service:
    engine = create_engine(DatabaseSettings(url=url))
    await upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        municipality = Municipality(cbs_code="0599", name="Gemeente Bench", slug="bench")
        team = Team(
            municipality=municipality,
            name="Burgerzaken",
            slug="burgerzaken",
            desks=50,
            lead_minutes=0,
            horizon_days=60,
            closed_on_public_holidays=False,
            opening_hours=[
                OpeningHours(weekday=d, opens=dt.time(0), closes=dt.time(23, 55)) for d in range(7)
            ],
        )
        service = Service(
            team=team, name="Geboorteaangifte", slug="geboorte", duration_minutes=20, max_active_per_email=999
        )
        session.add_all([municipality, team, service])
        await session.commit()
    await engine.dispose()
    return service


async def baseline(url: str, total: int, concurrency: int) -> float:
    pool = await asyncpg.create_pool(url.replace("+asyncpg", ""), min_size=concurrency, max_size=concurrency)
    try:
        await pool.execute("CREATE TABLE bench_insert (id uuid PRIMARY KEY, key text UNIQUE, at timestamptz)")
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(total):
            queue.put_nowait(n)

        async def worker() -> None:
            async with pool.acquire() as connection:
                while not queue.empty():
                    n = queue.get_nowait()
                    async with connection.transaction():
                        await connection.execute(
                            "INSERT INTO bench_insert VALUES ($1, $2, now())", uuid.uuid4(), f"k{n}"
                        )

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - began)
    finally:
        await pool.close()


async def bookings(url: str, service_id: uuid.UUID, total: int, concurrency: int) -> float:
    settings = Settings(
        env="test",
        secret_key=Secret("bench-secret"),
        database=DatabaseSettings(url=url, pool_size=concurrency),
    )
    engine = create_engine(settings.database)
    sessions = create_sessionmaker(engine)
    notify = Notify()  # no live pages, no in-process outbox: the rows are what is measured
    now = dt.datetime.now(AMSTERDAM)
    async with sessions() as session:
        service = await session.get_one(Service, service_id)
        starts = await booking.free_slots(
            session, service, now.date(), now.date() + dt.timedelta(days=40), now
        )
    # Spread the bookings over the free times: each time takes up to 50 (one per desk).
    targets = [starts[n % len(starts)] for n in range(total)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            async with sessions() as session:
                svc = await session.get_one(Service, service_id)
                await book_and_confirm(
                    session,
                    settings,
                    notify,
                    svc,
                    targets[n],
                    booking.Citizen(f"Inwoner {n}", f"inwoner{n}@example.nl"),
                )

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = total / (time.perf_counter() - began)
    await engine.dispose()
    return rate


async def main(total: int, concurrency: int) -> None:
    async with postgres_database() as url:
        service = await seed(url)
        raw = await baseline(url, total * 4, concurrency)
        product = await bookings(url, service.id, total, concurrency)
    print(f"concurrency {concurrency}")
    print(f"baseline: raw asyncpg insert+commit   {raw:8.0f} /s")
    print(f"bookings (with outbox and audit)      {product:8.0f} /s")
    print(f"ratio: bookings are {raw / product:.1f}x slower than a bare insert-commit")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="20 bookings, 4 at a time: that it runs")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.bookings, arguments.concurrency = 20, 4
    asyncio.run(main(arguments.bookings, arguments.concurrency))
