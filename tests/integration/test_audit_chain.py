"""The audit trail is tamper-evident: every event is a link of its municipality's hash chain.

What the app writes verifies, from one transaction or from twenty at once. What the database's
owner changes past the app and the triggers (as anyone with the SQLite file, or the PostgreSQL
owner role, can) shows: an event rewritten, removed, or invented with a plausible hash, in the
middle or back-dated at the end. The triggers refuse what an INSERT-only writer could try (an
event that is not the chain's next, SQLite's INSERT OR REPLACE), and on PostgreSQL the app's own
role can only insert and read. ``balie audit verify`` and the audit page say so. Both databases.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
import structlog
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend import audit
from backend.audit.chain import GENESIS, HASHED, ChainReport, event_hash
from backend.cli import main
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Appointment, AuditEvent, Membership
from backend.settings import DatabaseSettings, Settings
from tests.live import sign_in_official
from tests.oidc import served_balie
from tests.support import seed_agenda

BOTH = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
TABLE = AuditEvent.__table__
SQLITE_TRIGGERS = (
    "audit_event_no_update",
    "audit_event_no_delete",
    "audit_event_no_replace",
    "audit_event_chain_next",
)
A = uuid.UUID("a0000000-0000-4000-8000-00000000000a")
B = uuid.UUID("b0000000-0000-4000-8000-00000000000b")


def write(session: AsyncSession, municipality_id: uuid.UUID | None, outcome: str = "completed") -> None:
    """One named event in ``municipality_id``'s chain (a call ended; the appointment is not stored)."""
    appointment = Appointment(id=uuid.uuid4(), municipality_id=municipality_id)
    audit.call_ended(session, appointment, uuid.uuid4(), outcome=outcome, origin="203.0.113.7")


async def write_events(sessionmaker: async_sessionmaker[AsyncSession], *chains: uuid.UUID | None) -> None:
    """One transaction per event, in this order."""
    for municipality_id in chains:
        async with sessionmaker() as db:
            write(db, municipality_id)
            await db.commit()


async def chain(
    sessionmaker: async_sessionmaker[AsyncSession], municipality_id: uuid.UUID | None
) -> list[Any]:
    async with sessionmaker() as db:
        column = AuditEvent.municipality_id
        where = column.is_(None) if municipality_id is None else column == municipality_id
        rows = list(await db.execute(select(*TABLE.c).where(where).order_by(AuditEvent.chain_seq)))
        await db.commit()
    return rows


async def reports(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[uuid.UUID | None, ChainReport]:
    async with sessionmaker() as db:
        found = {r.municipality_id: r for r in await audit.verify_chains(db)}
        await db.commit()
    return found


def breaks(report: ChainReport) -> list[tuple[str, int, uuid.UUID | None]]:
    return [(b.kind, b.seq, b.event_id) for b in report.breaks]


def invented(
    after: Any, *, seq: int, prev_hash: str, created_at: dt.datetime, event_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """An event nobody wrote, with the hash the rule gives it: all an attacker needs is this file."""
    fields = {name: getattr(after, name) for name in HASHED}
    fields |= {
        "id": event_id or uuid.uuid4(),
        "created_at": created_at,
        "action": "document.downloaded",
        "details": {"made": "up"},
        "chain_seq": seq,
        "prev_hash": prev_hash,
    }
    return {**fields, "hash": event_hash(SimpleNamespace(**fields)), "updated_at": created_at}


async def as_owner(engine: AsyncEngine, *statements: Any, drop_unique: bool = False) -> None:
    """What the database's owner can do: past the triggers (PostgreSQL: disabled for the change;
    SQLite: dropped, as anyone with the file can), optionally past the unique place per chain."""
    async with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            await connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            for name in SQLITE_TRIGGERS:
                await connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        if drop_unique:
            await connection.execute(text("DROP INDEX uq_audit_event_chain_seq"))
        for statement in statements:
            await connection.execute(statement)
        if postgres:
            await connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))


# -- what the app writes ------------------------------------------------------------------------


@BOTH
async def test_events_link_in_order_per_municipality(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await write_events(sessionmaker, A, None, A, B)
    async with sessionmaker() as db:  # three in one flush, two chains
        write(db, A)
        write(db, B)
        write(db, A)
        await db.commit()
    async with sessionmaker() as db:  # a rolled-back event takes no place
        write(db, A)
        await db.flush()
        await db.rollback()
    await write_events(sessionmaker, A)

    rows = await chain(sessionmaker, A)
    assert [r.chain_seq for r in rows] == [1, 2, 3, 4, 5]
    assert [r.prev_hash for r in rows] == [GENESIS, *(r.hash for r in rows[:-1])]
    assert all(r.hash == event_hash(r) for r in rows)
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)
    assert [r.chain_seq for r in await chain(sessionmaker, B)] == [1, 2]
    found = await reports(sessionmaker)
    assert {m: (r.ok, r.events) for m, r in found.items()} == {A: (True, 5), B: (True, 2), None: (True, 1)}
    assert found[A].head == rows[-1].hash


@POSTGRES
async def test_concurrent_writers_make_one_unbroken_chain(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Twenty transactions at once, each writing five events with flushes in between (so they
    interleave), every fifth one rolled back."""

    async def writer(number: int) -> None:
        async with sessionmaker() as db:
            for _ in range(5):
                write(db, A)
                await db.flush()
                await asyncio.sleep(0)
            if number % 5 == 0:
                await db.rollback()
            else:
                await db.commit()

    await asyncio.gather(*(writer(n) for n in range(20)))
    rows = await chain(sessionmaker, A)
    assert [r.chain_seq for r in rows] == list(range(1, 81))
    report = (await reports(sessionmaker))[A]
    assert (report.ok, report.events) == (True, 80)


# -- what the owner changes past the app ----------------------------------------------------------


@pytest.fixture
async def trail(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Any]:
    """Four events of A (and B's, which nothing touches)."""
    await write_events(sessionmaker, A, B, A, A, B, A)
    return await chain(sessionmaker, A)


def _rewritten(rows: list[Any]) -> tuple[list[Any], list[tuple[str, int, Any]]]:
    second = rows[1]
    statement = update(TABLE).where(TABLE.c.id == second.id).values(details={"outcome": "no_show"})
    return [statement], [("rewritten", 2, second.id)]


def _rewritten_and_rehashed(rows: list[Any]) -> tuple[list[Any], list[tuple[str, int, Any]]]:
    """The owner recomputes the changed event's hash, so the next event no longer links to it."""
    second = rows[1]
    changed = SimpleNamespace(**{**second._mapping, "details": {"outcome": "no_show"}})
    statement = (
        update(TABLE).where(TABLE.c.id == second.id).values(details=changed.details, hash=event_hash(changed))
    )
    return [statement], [("broken_link", 3, rows[2].id)]


def _deleted(rows: list[Any]) -> tuple[list[Any], list[tuple[str, int, Any]]]:
    return [delete(TABLE).where(TABLE.c.id == rows[1].id)], [("gap", 2, None)]


def _inserted_in_the_middle(rows: list[Any]) -> tuple[list[Any], list[tuple[str, int, Any]]]:
    """Back-dated between the first and second event, linked to the first, its hash right."""
    between = rows[0].created_at + (rows[1].created_at - rows[0].created_at) / 2
    values = invented(rows[0], seq=2, prev_hash=rows[0].hash, created_at=between)
    return [insert(TABLE).values(**values)], [("inserted", 2, values["id"])]


def _appended_back_dated(rows: list[Any]) -> tuple[list[Any], list[tuple[str, int, Any]]]:
    """The chain's next link in every way but its date: last week."""
    last_week = rows[0].created_at - dt.timedelta(days=7)
    values = invented(rows[-1], seq=5, prev_hash=rows[-1].hash, created_at=last_week)
    return [insert(TABLE).values(**values)], [("inserted", 5, values["id"])]


TAMPERING = {
    "rewritten": _rewritten,
    "rewritten_and_rehashed": _rewritten_and_rehashed,
    "deleted": _deleted,
    "inserted_in_the_middle": _inserted_in_the_middle,
    "appended_back_dated": _appended_back_dated,
}


@BOTH
@pytest.mark.parametrize("tampering", list(TAMPERING))
async def test_verification_shows_each_kind_of_tampering(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], trail: list[Any], tampering: str
) -> None:
    assert all(r.ok for r in (await reports(sessionmaker)).values())
    statements, expected = TAMPERING[tampering](trail)
    await as_owner(engine, *statements, drop_unique=tampering == "inserted_in_the_middle")
    found = await reports(sessionmaker)
    assert breaks(found[A]) == expected
    assert found[B].ok and found[B].events == 2


@BOTH
async def test_the_database_refuses_an_event_that_is_not_the_chains_next(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], trail: list[Any]
) -> None:
    last = trail[-1]
    wrong = {
        "seq skipped": invented(last, seq=6, prev_hash=last.hash, created_at=last.created_at),
        "seq taken": invented(last, seq=3, prev_hash=trail[1].hash, created_at=last.created_at),
        "not linked": invented(last, seq=5, prev_hash="f" * 64, created_at=last.created_at),
        "back-dated": invented(last, seq=5, prev_hash=last.hash, created_at=trail[0].created_at),
        "no hash": {**invented(last, seq=5, prev_hash=last.hash, created_at=last.created_at), "hash": "x"},
    }
    for what, values in wrong.items():
        with pytest.raises(DBAPIError, match="not the next event of its chain"):
            async with engine.begin() as connection:
                await connection.execute(insert(TABLE).values(**values))
        assert len(await chain(sessionmaker, A)) == 4, what
    # The right next link goes in (an INSERT-only writer can append, and only that way).
    async with engine.begin() as connection:
        await connection.execute(
            insert(TABLE).values(**invented(last, seq=5, prev_hash=last.hash, created_at=last.created_at))
        )
    assert (await reports(sessionmaker))[A].ok


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_refuses_insert_or_replace(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], trail: list[Any]
) -> None:
    """REPLACE deletes the row it replaces without firing BEFORE DELETE: the loophole, closed."""
    second = trail[1]
    same_place = SimpleNamespace(**{**second._mapping, "details": {"outcome": "no_show"}})
    replacing = {**second._mapping, "details": same_place.details, "hash": event_hash(same_place)}
    last = trail[-1]
    next_link = invented(last, seq=5, prev_hash=last.hash, created_at=last.created_at, event_id=second.id)
    for values, refusal in (
        (replacing, "append-only|not the next event"),  # the same row, rewritten
        (next_link, "append-only"),  # a right next link, in the second event's row
        ({**replacing, "id": uuid.uuid4()}, "not the next event"),  # another row in the same place
    ):
        with pytest.raises(DBAPIError, match=refusal):
            async with engine.begin() as connection:
                await connection.execute(insert(TABLE).prefix_with("OR REPLACE").values(**values))
    rows = await chain(sessionmaker, A)
    assert [(r.id, r.details) for r in rows] == [(r.id, r.details) for r in trail]
    assert (await reports(sessionmaker))[A].ok

    # Without that trigger (anyone with the file can drop it) the second event goes unseen by the
    # DELETE trigger, and the chain shows the hole.
    async with engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER audit_event_no_replace"))
        await connection.execute(insert(TABLE).prefix_with("OR REPLACE").values(**next_link))
    assert [r.chain_seq for r in await chain(sessionmaker, A)] == [1, 3, 4, 5]
    assert breaks((await reports(sessionmaker))[A]) == [("gap", 2, None)]


@POSTGRES
async def test_postgres_refuses_truncate_even_to_the_owner(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], trail: list[Any]
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text("TRUNCATE audit_event"))
    assert len(await chain(sessionmaker, A)) == 4


# -- the app's role on PostgreSQL ------------------------------------------------------------------


@pytest.fixture
async def app_role(database_url: str) -> AsyncIterator[str]:
    """A role with what docs/operations.md grants the app on audit_event, dropped afterwards."""
    role = f"balie_app_{uuid.uuid4().hex[:10]}"
    url = make_url(database_url)
    owner = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{url.database}")
    try:
        await owner.execute(f'CREATE ROLE "{role}" LOGIN')
        await owner.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        await owner.execute(f'GRANT SELECT, INSERT ON audit_event TO "{role}"')
        yield role
    finally:
        await owner.execute(f'DROP OWNED BY "{role}"')  # its grants in this database
        await owner.execute(f'DROP ROLE "{role}"')
        await owner.close()


@POSTGRES
async def test_the_app_role_may_only_insert_and_read_the_trail(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], trail: list[Any], app_role: str
) -> None:
    app_url = make_url(database_url).set(username=app_role)
    app_engine = create_engine(DatabaseSettings(url=app_url.render_as_string(hide_password=False)))
    try:
        async with create_sessionmaker(app_engine)() as db:  # the app's writer, under this role
            write(db, A)
            await db.commit()
            assert (await audit.verify_chains(db, [A]))[0].events == 5
            await db.commit()
    finally:
        await app_engine.dispose()

    connection = await asyncpg.connect(
        f"postgresql://{app_role}@127.0.0.1:5432/{make_url(database_url).database}"
    )
    try:
        counted = await connection.fetchval("SELECT count(*) FROM audit_event WHERE municipality_id = $1", A)
        assert counted == 5
        for statement in (
            "TRUNCATE audit_event",
            "DROP TABLE audit_event",
            "UPDATE audit_event SET details = '{}'",
            "DELETE FROM audit_event",
            "DROP TRIGGER audit_event_append_only ON audit_event",
            "ALTER TABLE audit_event DISABLE TRIGGER USER",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute(statement)
    finally:
        await connection.close()
    assert (await reports(sessionmaker))[A].ok


# -- the migration fills the chain for the events already there -----------------------------------


@BOTH
async def test_the_migration_chains_existing_events_in_order(database_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        await upgrade(engine, "a3d9f6c1e850")
        start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        legacy = [(A, 3), (None, 1), (A, 1), (B, 2), (A, 2), (None, 0)]  # written in this order, dated by n
        async with engine.begin() as connection:
            for number, (municipality_id, minutes) in enumerate(legacy):
                when = start + dt.timedelta(minutes=minutes)
                values = {
                    "id": uuid.uuid4(),
                    "actor": "system",
                    "action": "test.legacy",
                    "object_type": "x",
                    "object_id": str(number),
                    "municipality_id": municipality_id,
                    "result": "success",
                    "origin": "",
                    "details": {"n": number},
                    "created_at": when,
                    "updated_at": when,
                }
                await connection.execute(insert(TABLE).values(**values))  # no chain columns yet
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        assert [r.object_id for r in await chain(sessionmaker, A)] == ["2", "4", "0"]  # by date
        assert [r.object_id for r in await chain(sessionmaker, None)] == ["5", "1"]
        found = {m: (r.ok, r.events) for m, r in (await reports(sessionmaker)).items()}
        assert found == {A: (True, 3), B: (True, 1), None: (True, 2)}
        await write_events(sessionmaker, A)  # the app goes on where the migration ended
        assert [r.chain_seq for r in await chain(sessionmaker, A)] == [1, 2, 3, 4]
        assert (await reports(sessionmaker))[A].ok
        with pytest.raises(DBAPIError, match="append-only"):  # the trigger it lifted is back
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE audit_event SET result = 'changed'"))
    finally:
        await engine.dispose()


# -- balie audit verify ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BALIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BALIE_DATABASE_URL", database_url)
    monkeypatch.setenv("BALIE_SECRET_KEY", "test-secret-key-for-digitale-balie")
    yield
    structlog.reset_defaults()  # ``main`` configures logging onto the captured stderr


@BOTH
async def test_balie_audit_verify_says_ok_or_what_changed(
    engine: AsyncEngine,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = await seed_agenda(session)
    town = service.team.municipality_id
    await session.commit()
    await write_events(sessionmaker, town, None, town, town)
    assert await asyncio.to_thread(main, ["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "Gemeente Testgemeente (0599): OK, 3 events, last hash" in out
    assert "Events without a municipality: OK, 1 events" in out

    rows = await chain(sessionmaker, town)
    await as_owner(engine, delete(TABLE).where(TABLE.c.id == rows[1].id))
    assert await asyncio.to_thread(main, ["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert "Gemeente Testgemeente (0599): CHANGED, 1 problem(s) in 2 events" in captured.out
    assert "  gap: seq 2: 1 event(s) missing (removed)" in captured.out
    assert "Events without a municipality: OK" in captured.out
    assert "changed outside the app" in captured.err


# -- the audit page -------------------------------------------------------------------------------


@BOTH
async def test_the_audit_page_says_whether_the_trail_was_changed(
    settings: Settings,
    engine: AsyncEngine,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    service = await seed_agenda(session)
    town = service.team.municipality_id
    elsewhere = (await seed_agenda(session, cbs_code="0363", slug="elders")).team.municipality_id
    await session.execute(update(Membership).values(role="admin"))
    await session.commit()
    await write_events(sessionmaker, town, town, elsewhere)
    async with served_balie(settings) as (_, client):
        await sign_in_official(client, "official-testgemeente")
        page = (await client.get("/balie/logboek")).text
        events = len(await chain(sessionmaker, town))  # with the sign-in
        assert f"Logboek gecontroleerd: {events} gebeurtenissen, niets veranderd." in page
        assert "Let op" not in page

        other = (await chain(sessionmaker, elsewhere))[0]
        await as_owner(engine, update(TABLE).where(TABLE.c.id == other.id).values(origin="198.51.100.1"))
        page = (await client.get("/balie/logboek")).text
        assert "niets veranderd" in page  # another municipality's chain is not this reader's

        first = (await chain(sessionmaker, town))[0]
        await as_owner(engine, update(TABLE).where(TABLE.c.id == first.id).values(origin="198.51.100.1"))
        page = (await client.get("/balie/logboek")).text
        assert 'data-audit-check="changed"' in page and 'role="alert"' in page
        assert "Let op: het logboek is veranderd buiten de Digitale Balie om." in page
        assert "Het gaat om het logboek van Gemeente Testgemeente. Aantal plekken waar het niet" in page
        assert "klopt: 1." in page
        assert "niets veranderd" not in page
        english = (await client.get("/balie/logboek", params={"lang": "en"})).text
        assert "Warning: the audit log was changed outside Digitale Balie." in english
