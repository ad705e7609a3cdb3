"""Helpers shared by the tests: settings, throwaway databases, agenda fixtures."""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    Appointment,
    Membership,
    Municipality,
    Official,
    OpeningHours,
    Participant,
    Service,
    ServiceState,
    Team,
)
from backend.settings import (
    DatabaseSettings,
    EmailSettings,
    JoinSettings,
    Secret,
    Settings,
    WorkerSettings,
)

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: object) -> Settings:
    base = Settings(
        env="test",
        secret_key=Secret("test-secret-key-for-digitale-balie"),
        data_dir=tmp_path,
        demo_data=False,
        rate_limit_per_minute=0,
        database=DatabaseSettings(url=database_url or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"),
        email=EmailSettings(dev_sink=False, smtp_port=free_port()),
        worker=WorkerSettings(in_process=False, poll_seconds=0.2),
        join=JoinSettings(opens_minutes_before=60),  # the first slot may be 40 min away (tests.live)
    )
    return Settings(**{**base.__dict__, **overrides})  # type: ignore[arg-type]


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    name = f"balie_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


ALL_DAY = (dt.time(0, 0), dt.time(23, 55))


async def seed_agenda(
    session: AsyncSession,
    *,
    desks: int = 1,
    duration: int = 20,
    lead_minutes: int = 0,
    all_week: bool = True,
    cbs_code: str = "0599",
    slug: str = "testgemeente",
    max_participants: int = 4,
    **service_options: Any,
) -> Service:
    """A municipality whose team is open every day, all day (so tests work at any hour)."""
    municipality = Municipality(cbs_code=cbs_code, name=f"Gemeente {slug.title()}", slug=slug)
    team = Team(
        municipality=municipality,
        name="Burgerzaken",
        slug="burgerzaken",
        desks=desks,
        lead_minutes=lead_minutes,
        horizon_days=14,
        closed_on_public_holidays=False,
        opening_hours=[
            OpeningHours(weekday=d, opens=ALL_DAY[0], closes=ALL_DAY[1]) for d in range(7 if all_week else 5)
        ],
    )
    service = Service(
        state=ServiceState.PUBLISHED,
        team=team,
        name="Geboorteaangifte",
        slug="geboorteaangifte",
        duration_minutes=duration,
        documents=["Uw identiteitsbewijs"],
        max_participants=max_participants,
        **service_options,
    )
    official = Official(issuer="urn:balie:dev", subject=f"official-{slug}", name=f"Medewerker {slug.title()}")
    session.add_all([service, official, Membership(official=official, team=team, role="official")])
    await session.commit()
    return service


def citizen_appointment(service: Service, start: dt.datetime, *, join_token: str, manage_token: str) -> Any:
    """A booked appointment of Fatima de Vries at ``start`` with these tokens (not yet added)."""
    from backend.booking.tokens import hash_token

    return Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name="Fatima de Vries",
        citizen_email="fatima@example.nl",
        manage_token_hash=hash_token(manage_token),
        participants=[
            Participant(
                role="citizen",
                name="Fatima de Vries",
                email="f@example.nl",
                join_token_hash=hash_token(join_token),
            )
        ],
    )


async def count_rows(session: AsyncSession, model: type) -> int:
    """Count rows and end the transaction at once (on SQLite every transaction holds the write lock)."""
    from sqlalchemy import func, select

    value = await session.scalar(select(func.count()).select_from(model))
    await session.commit()
    return int(value or 0)


def die_with_parent() -> None:
    """``preexec_fn`` for helper processes (servers, namespace holders, coturn): the kernel ends them
    when the test process dies, even by a crash. An orphaned server would keep polling a database
    path that a later run (with the same temporary folder name) uses, and take its email."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
