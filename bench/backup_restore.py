"""Benchmark: backup and restore of the database, the RPO and RTO of docs/operations.md.

N real bookings (each with its participant, seat claims, outbox rows and audit event, through the
same code a citizen's POST runs: bench.booking_rate) in a fresh PostgreSQL database; then the
backup job's own command (``pg_dump -Fc``) and a restore into an empty database (``pg_restore``,
then ``balie migrate`` finding nothing to do), with every table's row count compared.
Baseline, in the same run: the same tables written out and read back with plain ``COPY`` (the
least a dump and a restore can cost).

    python -m bench.backup_restore --bookings 2000
    python -m bench.backup_restore --quick   # 20 bookings: that it runs (test_benchmarks.py)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from backend.db.engine import create_engine
from backend.db.migrate import upgrade
from backend.settings import DatabaseSettings
from bench.booking_rate import bookings, seed
from tests.support import postgres_database


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """``-h -p -U -d`` for the command-line tools, and the password in their environment."""
    parts = urlsplit(url.replace("+asyncpg", ""))
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or ""]
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    return [*args, "-d", parts.path.lstrip("/")], env


async def row_counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        tables = [
            r["tablename"]
            for r in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return {t: int(await connection.fetchval(f'SELECT count(*) FROM "{t}"')) for t in sorted(tables)}
    finally:
        await connection.close()


async def copy_baseline(url: str, tables: list[str], folder: Path) -> tuple[float, float]:
    """Seconds to COPY every table out to files, and to COPY them into a same-shaped scratch schema."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        began = time.perf_counter()
        for table in tables:
            await connection.copy_from_table(table, output=str(folder / f"{table}.copy"), format="binary")
        out = time.perf_counter() - began
        await connection.execute("CREATE SCHEMA scratch")
        for table in tables:
            await connection.execute(f'CREATE TABLE scratch."{table}" (LIKE public."{table}")')
        began = time.perf_counter()
        for table in tables:
            await connection.copy_to_table(
                table, source=str(folder / f"{table}.copy"), format="binary", schema_name="scratch"
            )
        back = time.perf_counter() - began
        await connection.execute("DROP SCHEMA scratch CASCADE")
        return out, back
    finally:
        await connection.close()


async def main(total: int) -> None:
    async with postgres_database() as source, postgres_database() as target:
        service = await seed(source)
        await bookings(source, service.id, total, concurrency=8)
        before = await row_counts(source)
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            dump = folder / "balie.dump"
            args, env = _libpq(source)
            began = time.perf_counter()
            subprocess.run(["pg_dump", *args, "-Fc", "-f", str(dump)], env=env, check=True)
            dumped = time.perf_counter() - began
            target_args, target_env = _libpq(target)
            began = time.perf_counter()
            subprocess.run(
                ["pg_restore", *target_args, "--no-owner", "--exit-on-error", str(dump)],
                env=target_env,
                check=True,
            )
            engine = create_engine(DatabaseSettings(url=target))
            await upgrade(engine)  # what a node does at start: nothing left to do after a restore
            await engine.dispose()
            restored = time.perf_counter() - began
            after = await row_counts(target)
            raw_out, raw_back = await copy_baseline(source, [t for t in before if before[t]], folder)
            size = dump.stat().st_size
    assert after == before, f"restore differs: {before} != {after}"
    appointments, events = before.get("appointment", 0), before.get("audit_event", 0)
    print(f"{total} bookings: {appointments} appointments, {events} audit events")
    print(f"dump (pg_dump -Fc)        {dumped:7.2f} s   {size / 1024:8.0f} KiB")
    print(f"restore (pg_restore + migrate) {restored:7.2f} s   every table's rows equal")
    print(f"baseline: COPY out {raw_out:.2f} s, COPY in {raw_back:.2f} s")
    ratio_out, ratio_back = dumped / max(raw_out, 1e-6), restored / max(raw_back, 1e-6)
    print(f"ratio: dump {ratio_out:.1f}x, restore {ratio_back:.1f}x a bare COPY")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="20 bookings: that it runs")
    arguments = parser.parse_args()
    asyncio.run(main(20 if arguments.quick else arguments.bookings))
