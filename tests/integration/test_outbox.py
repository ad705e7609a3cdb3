"""Outbox, worker and dev mailbox against a real SMTP server on loopback, on SQLite and PostgreSQL.

Each database kind gets a fresh, migrated database for this module (PostgreSQL: ``balie_t_<random>``,
dropped afterwards); every test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
import pytest
from litestar import Litestar
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.background import loop_lifespan
from backend.clock import ManualClock, system_clock
from backend.crypto import Keyring
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import (
    Appointment,
    Base,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Service,
    ServiceState,
    Team,
)
from backend.dependencies import provide
from backend.email.dev_sink import DevMailbox
from backend.email.lifecycle import dev_mailbox_for, dev_mailbox_lifespan
from backend.email.mailbox import DevMailboxController
from backend.email.messages import Tokens, queue_booking_confirmation
from backend.email.outbox import enqueue, message_id_for, outbox_keyring
from backend.email.worker import OutboxWorker
from backend.settings import WEB_DIR, DatabaseSettings, EmailSettings, Settings, WorkerSettings
from tests.support import die_with_parent

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SENDER = "Digitale Balie <noreply@balie.example.nl>"
KEYRING = outbox_keyring(Settings(env="test"))

Sessions = async_sessionmaker[AsyncSession]


# -- infrastructure ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _migrate(url: str) -> None:
    engine = create_engine(DatabaseSettings(url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('outbox') / 'balie.db'}"
        asyncio.run(_migrate(url))
        yield url
        return
    name = f"balie_t_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(DatabaseSettings(url=database_url, pool_size=6))
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
    yield create_sessionmaker(engine)
    await engine.dispose()


class SlowMailbox(DevMailbox):
    """A sink that takes a moment per message, so concurrent workers really overlap."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.003)
        return await super().handle_DATA(server, session, envelope)


class BouncingMailbox(DevMailbox):
    """Refuses every recipient whose address starts with ``bounce`` with a permanent 550."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[DevMailbox]:
    sink = DevMailbox(port=free_port(), server_hostname="sink.test")
    sink.start()
    yield sink
    sink.stop()


def settings_for(port: int, **worker: Any) -> Settings:
    return Settings(
        env="test",
        public_url="https://balie.example.nl",
        email=EmailSettings(smtp_port=port, sender=SENDER, dev_sink=False, local_hostname="worker.test"),
        worker=WorkerSettings(**{"in_process": False, "poll_seconds": 0.05, "batch_size": 5, **worker}),
    )


class FakeClock:
    """Starts a second after the real now (rows are enqueued at the real now) and moves when told."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    def __call__(self) -> dt.datetime:
        return self.now


def mail(subject: str = "Hallo", to: str = "inwoner@example.nl") -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Tekst")
    return message


async def queue(sessions: Sessions, key: str, to: str = "inwoner@example.nl") -> None:
    async with sessions() as session, session.begin():
        await enqueue(
            session, key=key, recipient=to, message=mail(key, to), keyring=KEYRING, meta={"kind": "test"}
        )


async def rows(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))).all())


# -- enqueue and send ----------------------------------------------------------------------------


async def test_enqueue_then_run_once_delivers_once(sessions: Sessions, smtp: DevMailbox) -> None:
    await queue(sessions, "test:one")
    worker = OutboxWorker(sessions, settings_for(smtp.port))
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    (received,) = smtp.messages()
    assert received.to == ("inwoner@example.nl",)
    assert received.message_id == message_id_for("test:one", SENDER)
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.locked_until, row.last_error) == (OutboxStatus.SENT, 1, None, "")
    assert row.sent_at is not None


async def test_same_key_twice_gives_one_email(sessions: Sessions, smtp: DevMailbox) -> None:
    async with sessions() as session, session.begin():
        first = await enqueue(
            session, key="test:twice", recipient="a@example.nl", message=mail(), keyring=KEYRING
        )
        again = await enqueue(
            session, key="test:twice", recipient="a@example.nl", message=mail(), keyring=KEYRING
        )
        assert again is first
    await queue(sessions, "test:twice")  # and once more in a later transaction
    assert len(await rows(sessions)) == 1
    worker = OutboxWorker(sessions, settings_for(smtp.port))
    assert await worker.run_once() == 1
    await queue(sessions, "test:twice")  # already sent: still nothing new
    assert await worker.run_once() == 0
    assert len(smtp.messages()) == 1


async def test_waiting_mail_is_sealed_and_wiped_once_sent(sessions: Sessions, smtp: DevMailbox) -> None:
    secret_link = "https://balie.example.nl/j/" + "t" * 43
    message = mail("Uw afspraak")
    message.set_content(f"Naar de wachtkamer: {secret_link}")
    async with sessions() as session, session.begin():
        await enqueue(session, key="test:sealed", recipient="a@example.nl", message=message, keyring=KEYRING)
    (waiting,) = await rows(sessions)
    assert secret_link.encode() not in waiting.mime and b"wachtkamer" not in waiting.mime
    assert await OutboxWorker(sessions, settings_for(smtp.port)).run_once() == 1
    (received,) = smtp.messages()
    assert secret_link in received.text
    (sent,) = await rows(sessions)
    assert sent.status == OutboxStatus.SENT and sent.mime == b""


async def test_mail_sealed_under_another_secret_fails_for_good_unsent(
    sessions: Sessions, smtp: DevMailbox
) -> None:
    other = Keyring.derived("a secret key from before a rotation", "outbox-message")
    async with sessions() as session, session.begin():
        await enqueue(session, key="test:old-key", recipient="a@example.nl", message=mail(), keyring=other)
    assert await OutboxWorker(sessions, settings_for(smtp.port)).run_once() == 0
    (row,) = await rows(sessions)
    assert (row.status, row.mime) == (OutboxStatus.FAILED, b"")
    assert "SealError" in row.last_error
    assert smtp.messages() == []


async def test_enqueue_is_part_of_the_callers_transaction(sessions: Sessions) -> None:
    async with sessions() as session:
        await enqueue(
            session, key="test:rolled-back", recipient="a@example.nl", message=mail(), keyring=KEYRING
        )
        await session.rollback()
    assert await rows(sessions) == []


async def test_smtp_down_charges_nothing_and_the_mail_goes_out_once_the_server_is_back(
    sessions: Sessions,
) -> None:
    port = free_port()  # nothing listens here yet
    clock = FakeClock()
    worker = OutboxWorker(sessions, settings_for(port), clock=clock, backoff_base=60)  # not used
    await queue(sessions, "test:down")
    (before,) = await rows(sessions)
    assert await worker.run_once() == 0
    (row,) = await rows(sessions)
    # An unreachable server is not the message's fault: no attempt is charged, and it stays due.
    assert (row.status, row.attempts, row.locked_until) == (OutboxStatus.PENDING, 0, None)
    assert row.next_attempt_at == before.next_attempt_at
    assert "SMTPConnect" in row.last_error
    assert worker.server_retry_at == clock.now + dt.timedelta(seconds=2)  # a probe, soon

    sink = DevMailbox(port=port, server_hostname="sink.test")
    sink.start()
    try:
        assert await worker.run_once() == 0  # the worker waits for its next probe of the server
        clock.now += dt.timedelta(seconds=3)
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0
        assert [m.subject for m in sink.messages()] == ["test:down"]
    finally:
        sink.stop()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)


async def test_a_long_outage_gives_nothing_up_and_probes_every_15_seconds(sessions: Sessions) -> None:
    port = free_port()
    clock = FakeClock()
    worker = OutboxWorker(sessions, settings_for(port, max_attempts=2), clock=clock, backoff_base=1)
    await queue(sessions, "test:outage")
    waits = []
    for _ in range(10):
        assert await worker.run_once() == 0
        (row,) = await rows(sessions)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
        assert worker.server_retry_at is not None
        waits.append((worker.server_retry_at - clock.now).total_seconds())
        clock.now += dt.timedelta(hours=1)
    assert waits == sorted(waits) and waits[0] == 2 and waits[-1] == 15  # probes, at most 15 s apart
    sink = DevMailbox(port=port, server_hostname="sink.test")
    sink.start()
    try:
        assert await worker.run_once() == 1
    finally:
        sink.stop()
    assert [m.subject for m in sink.messages()] == ["test:outage"]


async def test_mail_queued_during_a_short_outage_goes_out_within_seconds_of_its_end(
    sessions: Sessions,
) -> None:
    """A one-minute outage with bookings all through it (every booking wakes the worker): once the
    server answers again, all of it goes out at the next probe, 15 s later at most (it used to
    wait up to an hour: each failed poll pushed the rows further out)."""
    port = free_port()
    clock = FakeClock()
    worker = OutboxWorker(sessions, settings_for(port, batch_size=100), clock=clock)
    for second in range(0, 60, 5):
        await queue(sessions, f"test:booking-{second}")
        await worker.run_once()  # the booking's wake(): fails, or waits for the next try
        clock.now += dt.timedelta(seconds=5)
    sink = DevMailbox(port=port, server_hostname="sink.test")
    sink.start()
    try:
        clock.now += dt.timedelta(seconds=15)
        assert await worker.run_once() == 12
    finally:
        sink.stop()
    assert len(sink.messages()) == 12
    assert {row.status for row in await rows(sessions)} == {OutboxStatus.SENT}


class GreylistingMailbox(DevMailbox):
    """Answers every recipient with a temporary 451, as a greylisting server does."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "451 4.7.1 try again later"


async def test_gives_up_after_max_attempts(sessions: Sessions, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sink = GreylistingMailbox(port=free_port(), server_hostname="sink.test")
    worker = OutboxWorker(sessions, settings_for(sink.port, max_attempts=2), clock=clock, backoff_base=1)
    await queue(sessions, "test:never", to="geheim@example.nl")
    sink.start()
    try:
        with caplog.at_level(logging.WARNING, logger="backend.email.worker"):
            for _ in range(3):
                await worker.run_once()
                clock.now += dt.timedelta(hours=1)
    finally:
        sink.stop()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 2)
    assert any(str(row.id) in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert "geheim" not in caplog.text


async def test_permanent_refusal_fails_at_once_and_the_rest_is_sent(sessions: Sessions) -> None:
    sink = BouncingMailbox(port=free_port(), server_hostname="sink.test")
    sink.start()
    try:
        await queue(sessions, "test:bounce", to="bounce@example.nl")
        await queue(sessions, "test:fine", to="fine@example.nl")
        assert await OutboxWorker(sessions, settings_for(sink.port)).run_once() == 1
        assert [m.to for m in sink.messages()] == [("fine@example.nl",)]
    finally:
        sink.stop()
    status = {row.idempotency_key: (row.status, row.attempts) for row in await rows(sessions)}
    assert status == {"test:bounce": (OutboxStatus.FAILED, 1), "test:fine": (OutboxStatus.SENT, 1)}


def test_backoff_grows_exponentially_with_jitter() -> None:
    worker = OutboxWorker(async_sessionmaker(), Settings(env="test"), backoff_base=10, backoff_cap=100)
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {worker.backoff(attempts) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


async def test_stop_before_the_loop_starts_still_stops_it() -> None:
    worker = OutboxWorker(async_sessionmaker(), Settings(env="test"))
    worker.stop()
    await asyncio.wait_for(worker.run_forever(), timeout=1)


# -- several workers -----------------------------------------------------------------------------


async def test_a_leased_row_is_left_alone_until_the_lease_ends(sessions: Sessions, smtp: DevMailbox) -> None:
    await queue(sessions, "test:leased")
    clock = FakeClock()
    async with sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).values(locked_until=clock.now + dt.timedelta(minutes=5)))
    worker = OutboxWorker(sessions, settings_for(smtp.port), clock=clock)
    assert await worker.run_once() == 0  # another worker holds it (or crashed while holding it)
    clock.now += dt.timedelta(minutes=6)
    assert await worker.run_once() == 1
    assert len(smtp.messages()) == 1


async def _unsent(sessions: Sessions) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
        return int(await session.scalar(query) or 0)


async def test_concurrent_workers_never_send_a_row_twice(sessions: Sessions) -> None:
    sink = SlowMailbox(port=free_port(), server_hostname="sink.test")
    sink.start()
    try:
        keys = [f"test:many:{i}" for i in range(40)]
        for key in keys:
            await queue(sessions, key)
        settings = settings_for(sink.port, batch_size=4)
        workers = [OutboxWorker(sessions, settings) for _ in range(4)]
        counts = [0] * len(workers)

        async def drain(index: int) -> None:
            while await _unsent(sessions):
                counts[index] += await workers[index].run_once()
                await asyncio.sleep(0)

        async with asyncio.timeout(60):
            await asyncio.gather(*(drain(i) for i in range(len(workers))))
        received = [m.message_id for m in sink.messages()]
    finally:
        sink.stop()
    assert sum(counts) == len(keys)
    assert sorted(received) == sorted(message_id_for(key, SENDER) for key in keys)


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True, scope="module"
)
async def test_postgres_claims_skip_rows_locked_by_another_worker(
    sessions: Sessions, smtp: DevMailbox
) -> None:
    await queue(sessions, "test:locked")
    await queue(sessions, "test:free")
    async with sessions() as holder, holder.begin():
        # Another worker is in the middle of claiming this row.
        await holder.execute(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "test:locked").with_for_update()
        )
        worker = OutboxWorker(sessions, settings_for(smtp.port))
        assert await asyncio.wait_for(worker.run_once(), timeout=10) == 1
    assert [m.subject for m in smtp.messages()] == ["test:free"]


# -- the booking confirmation, end to end --------------------------------------------------------


async def _book(session: AsyncSession, *, locale: str = "nl") -> tuple[Appointment, Participant]:
    municipality = Municipality(cbs_code="0599", name="Voorbeeldstad", slug="voorbeeldstad")
    team = Team(municipality=municipality, name="Burgerzaken", slug="burgerzaken")
    service = Service(
        state=ServiceState.PUBLISHED,
        team=team,
        name="Geboorteaangifte",
        slug="geboorte",
        documents=["Uw ID-bewijs"],
    )
    session.add_all([municipality, team, service])
    await session.flush()
    start = dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC)
    appointment = Appointment(
        reference=f"DB-{secrets.token_hex(3).upper()}",
        service_id=service.id,
        team_id=team.id,
        municipality_id=municipality.id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name="Fatima de Vries",
        citizen_email="fatima@example.nl",
        locale=locale,
        manage_token_hash=secrets.token_hex(32),
    )
    participant = Participant(
        appointment=appointment,
        name="Fatima de Vries",
        email="fatima@example.nl",
        join_token_hash=secrets.token_hex(32),
    )
    session.add_all([appointment, participant])
    return appointment, participant


async def test_booking_confirmation_is_queued_once_and_delivered(
    sessions: Sessions, smtp: DevMailbox
) -> None:
    settings = settings_for(smtp.port)
    async with sessions() as session, session.begin():
        appointment, participant = await _book(session)
        for _ in range(2):
            await queue_booking_confirmation(
                session,
                appointment,
                participant,
                tokens=Tokens("J" * 43, "M" * 43),
                settings=settings,
                now=system_clock(),
            )
    (row,) = await rows(sessions)  # the appointment lies in the past: no reminder is queued
    assert row.idempotency_key == f"confirmation:{participant.id}:0"
    assert (row.kind, row.appointment_id, row.deferred) == ("confirmation", appointment.id, True)
    assert b"J" * 43 not in row.mime  # a sealed request: written when the worker sends it
    assert await OutboxWorker(sessions, settings).run_once() == 1
    (received,) = smtp.messages()
    assert received.subject == f"Uw video-afspraak op dinsdag 3 maart 2026, 10:30 ({appointment.reference})"
    assert received.to == ("fatima@example.nl",)
    assert "https://balie.example.nl/j/" + "J" * 43 in received.text
    assert [(a.filename, a.content_type) for a in received.attachments] == [("afspraak.ics", "text/calendar")]
    assert f"UID:{appointment.id}@digitale-balie" in received.attachments[0].content.decode()


# -- running inside the app ----------------------------------------------------------------------


def _template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=Path(WEB_DIR / "templates"), engine=JinjaTemplateEngine)


async def test_lifespan_runs_sink_and_worker_and_wake_sends_at_once(
    database_url: str, sessions: Sessions
) -> None:
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=database_url),
        email=EmailSettings(smtp_port=free_port(), dev_sink=True, local_hostname="worker.test"),
        worker=WorkerSettings(in_process=True, poll_seconds=30),  # only wake() can make it quick
    )
    engine = create_engine(settings.database)
    worker, sink = OutboxWorker(create_sessionmaker(engine), settings), dev_mailbox_for(settings)
    assert sink is not None
    app = Litestar(
        route_handlers=[DevMailboxController],
        lifespan=[dev_mailbox_lifespan(sink), loop_lifespan("outbox-worker", worker)],
        dependencies={"dev_mailbox": provide(sink)},
        template_config=_template_config(),
        on_shutdown=[engine.dispose],
    )
    async with AsyncTestClient(app) as client:
        assert sink.running
        await asyncio.sleep(0.1)  # let the worker finish its first (empty) look
        await queue(sessions, "test:wake")
        worker.wake()
        async with asyncio.timeout(5):
            while not (await client.get("/dev/mailbox/messages.json")).json():
                await asyncio.sleep(0.02)
    assert not sink.running


# -- the development mailbox ---------------------------------------------------------------------


async def _send_directly(port: int) -> None:
    message = mail("Uw video-afspraak", "fatima@example.nl")
    message.set_content("Platte tekst")
    message.add_alternative("<p>Hallo <b>Fatima</b></p><script>alert(1)</script>", subtype="html")
    message.add_attachment(b"BEGIN:VCALENDAR", maintype="text", subtype="calendar", filename="afspraak.ics")
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, local_hostname="test.local")


async def test_mailbox_json_and_pages(smtp: DevMailbox) -> None:
    await _send_directly(smtp.port)
    app = Litestar(
        route_handlers=[DevMailboxController],
        dependencies={"dev_mailbox": provide(smtp)},
        template_config=_template_config(),
    )
    async with AsyncTestClient(app) as client:
        listing = await client.get("/dev/mailbox/messages.json")
        assert listing.status_code == 200
        (item,) = listing.json()
        assert item["to"] == ["fatima@example.nl"]
        assert item["subject"] == "Uw video-afspraak"
        assert item["text"].strip() == "Platte tekst"
        assert "<b>Fatima</b>" in item["html"]
        assert item["attachments"] == [{"filename": "afspraak.ics", "content_type": "text/calendar"}]
        assert dt.datetime.fromisoformat(item["received_at"]).tzinfo is not None

        index = await client.get("/dev/mailbox")
        assert index.status_code == 200
        assert "Uw video-afspraak" in index.text and f'href="/dev/mailbox/{item["id"]}"' in index.text

        page = await client.get(f"/dev/mailbox/{item['id']}")
        assert page.status_code == 200
        assert "<iframe" in page.text and " sandbox " in page.text
        assert 'srcdoc="&lt;p&gt;Hallo &lt;b&gt;Fatima&lt;/b&gt;' in page.text
        assert "<script>alert" not in page.text  # only escaped, inside the sandboxed srcdoc
        assert "Platte tekst" in page.text
        policy = page.headers["content-security-policy"]  # the srcdoc inherits it: styles yes, scripts no
        assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy

        raw = await client.get(f"/dev/mailbox/{item['id']}/html")
        assert raw.headers["content-security-policy"].startswith("sandbox")
        ics = await client.get(f"/dev/mailbox/{item['id']}/attachments/0")
        assert ics.content == b"BEGIN:VCALENDAR"
        assert "attachment" in ics.headers["content-disposition"]

        assert (await client.get("/dev/mailbox/nope")).status_code == 404
        assert (await client.get(f"/dev/mailbox/{item['id']}/attachments/5")).status_code == 404


async def test_mailbox_is_404_without_a_sink() -> None:
    app = Litestar(
        route_handlers=[DevMailboxController],
        dependencies={"dev_mailbox": provide(None)},
        template_config=_template_config(),
    )
    async with AsyncTestClient(app) as client:
        assert (await client.get("/dev/mailbox/messages.json")).status_code == 404
        assert (await client.get("/dev/mailbox")).status_code == 404


async def test_sink_keeps_only_the_newest_messages() -> None:
    sink = DevMailbox(port=free_port(), server_hostname="sink.test", keep=3)
    sink.start()
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, local_hostname="t.local") as client:
            for i in range(5):
                await client.send_message(mail(f"bericht {i}"))
    finally:
        sink.stop()
    assert [m.subject for m in sink.messages()] == ["bericht 4", "bericht 3", "bericht 2"]


async def test_a_worker_stopped_mid_batch_gives_its_rows_back_at_once(sessions: Sessions) -> None:
    """Cancelled while the SMTP server keeps it waiting (shutdown): the rows are not left locked
    for the whole lease, and no attempt is charged."""
    stalled: list[asyncio.StreamWriter] = []

    async def never_greet(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)  # accept, and say nothing: the worker waits for the greeting

    server = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    worker = OutboxWorker(sessions, settings_for(port), clock=FakeClock())
    await queue(sessions, "test:stopped")
    try:
        running = asyncio.create_task(worker.run_once())
        for _ in range(200):
            if stalled:
                break
            await asyncio.sleep(0.01)
        (held,) = await rows(sessions)
        assert held.locked_until is not None  # claimed, and waiting for the server
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    finally:
        for writer in stalled:
            writer.close()
        server.close()
        await server.wait_closed()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.locked_until) == (OutboxStatus.PENDING, 0, None)


# -- short leases, renewed while the worker lives ------------------------------------------------


class GatedMailbox(DevMailbox):
    """Keeps every message waiting for its answer (after the data, before the 250) until the gate
    opens: a slow batch, or a server whose answer does not come."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrived = threading.Event()
        self.gate = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)

    async def first_message_waits(self) -> None:
        assert await asyncio.to_thread(self.arrived.wait, 15), "no message reached the server"


@pytest.fixture
def gated() -> Iterator[GatedMailbox]:
    sink = GatedMailbox(port=free_port(), server_hostname="sink.test")
    sink.start()
    yield sink
    sink.gate.set()
    sink.stop()


async def _locks(sessions: Sessions) -> list[dt.datetime | None]:
    async with sessions() as session:
        query = select(OutboxMessage.locked_until).where(OutboxMessage.status == OutboxStatus.PENDING)
        locks = list((await session.scalars(query)).all())
        await session.commit()
    return locks


@contextlib.asynccontextmanager
async def _cancelled_at_the_end(task: asyncio.Task[int]) -> AsyncIterator[None]:
    """A worker's run that a failing assertion would leave behind is stopped (its rows given back)."""
    try:
        yield
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _renewed_until(sessions: Sessions, moment: dt.datetime) -> None:
    """Wait for the heartbeat to have moved the lease of every pending row to ``moment``."""
    async with asyncio.timeout(15):
        while set(await _locks(sessions)) != {moment}:
            await asyncio.sleep(0.02)


def test_the_lease_is_short_and_renewed_every_third_of_it() -> None:
    worker = OutboxWorker(async_sessionmaker(), Settings(env="test"))
    assert (worker._lease_seconds, worker._renew_seconds) == (30.0, 10.0)
    with pytest.raises(ValueError, match="every third"):
        OutboxWorker(async_sessionmaker(), Settings(env="test"), lease_seconds=30, renew_seconds=11)


async def test_a_long_batch_keeps_its_rows_and_nobody_sends_them_twice(
    sessions: Sessions, gated: GatedMailbox
) -> None:
    """The server keeps the batch waiting for two whole leases: the heartbeat renews the rows it
    still holds, so a second worker looking all the while finds nothing to take."""
    clock = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    settings = settings_for(gated.port)
    holder = OutboxWorker(sessions, settings, clock=clock, renew_seconds=0.05)
    other = OutboxWorker(sessions, settings, clock=clock)
    keys = [f"test:long:{i}" for i in range(3)]
    for key in keys:
        await queue(sessions, key)
    sending = asyncio.create_task(holder.run_once())
    async with _cancelled_at_the_end(sending):
        await gated.first_message_waits()
        assert set(await _locks(sessions)) == {clock() + dt.timedelta(seconds=30)}  # one short lease
        for _ in range(4):
            clock.advance(dt.timedelta(seconds=15))  # without renewals the lease would end at the 3rd
            await _renewed_until(sessions, clock() + dt.timedelta(seconds=30))
            assert await other.run_once() == 0
        gated.gate.set()
        assert await sending == 3
    assert await other.run_once() == 0
    assert sorted(m.message_id for m in gated.messages()) == sorted(message_id_for(k, SENDER) for k in keys)
    assert {(row.status, row.attempts, row.locked_until) for row in await rows(sessions)} == {
        (OutboxStatus.SENT, 1, None)
    }


async def test_a_renewal_that_fails_ends_the_batch_and_gives_the_rest_back(
    sessions: Sessions, gated: GatedMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message on its way (well within the lease) goes out; nothing after it is sent on a lease
    that could not be renewed, and the rest is given back without an attempt."""
    worker = OutboxWorker(sessions, settings_for(gated.port), clock=FakeClock(), renew_seconds=0.05)
    failed = asyncio.Event()

    async def database_away(_: object) -> None:
        failed.set()
        raise ConnectionRefusedError("the database is away")

    monkeypatch.setattr(worker, "_renew", database_away)
    for i in range(3):
        await queue(sessions, f"test:renewal:{i}")
    sending = asyncio.create_task(worker.run_once())
    async with _cancelled_at_the_end(sending):
        await gated.first_message_waits()
        async with asyncio.timeout(15):
            await failed.wait()
        gated.gate.set()
        assert await sending == 1
    status = {
        row.idempotency_key: (row.status, row.attempts, row.locked_until) for row in await rows(sessions)
    }
    assert status == {
        "test:renewal:0": (OutboxStatus.SENT, 1, None),
        "test:renewal:1": (OutboxStatus.PENDING, 0, None),
        "test:renewal:2": (OutboxStatus.PENDING, 0, None),
    }
    monkeypatch.undo()
    assert await worker.run_once() == 2
    assert sorted(m.subject for m in gated.messages()) == [f"test:renewal:{i}" for i in range(3)]


async def test_a_send_still_on_its_way_when_the_lease_nearly_ends_is_cut_off(
    sessions: Sessions, gated: GatedMailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Renewals fail and the server's answer does not come: the worker gives up on the message a
    sixth of the lease before its end (before another worker may take the row), charges nothing and
    gives the row back."""
    worker = OutboxWorker(sessions, settings_for(gated.port), clock=FakeClock(), lease_seconds=3)

    async def database_away(_: object) -> None:
        raise ConnectionRefusedError("the database is away")

    monkeypatch.setattr(worker, "_renew", database_away)
    await queue(sessions, "test:cut-off")
    with caplog.at_level(logging.WARNING, logger="backend.email.worker"):
        assert await worker.run_once() == 0
    assert gated.arrived.is_set()  # it was on its way: the data went, the answer never came
    assert "lease ran out while sending" in caplog.text
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.locked_until) == (OutboxStatus.PENDING, 0, None)
    assert gated.messages() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True, scope="module")
async def test_a_killed_worker_leaves_its_rows_for_one_short_lease(
    database_url: str, sessions: Sessions, smtp: DevMailbox, tmp_path: Path
) -> None:
    """``balie worker`` claims a batch, the server keeps it waiting, and the process is killed
    (SIGKILL: nothing given back). Its rows are taken by the next worker that looks once the
    short lease ran out, half a minute at most after the kill, and sent once."""
    stalled: list[asyncio.StreamWriter] = []

    async def never_greet(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)

    server = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    keys = [f"test:killed:{i}" for i in range(3)]
    for key in keys:
        await queue(sessions, key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    env.update(
        {
            "BALIE_ENV": "test",
            "BALIE_SECRET_KEY": Settings(env="test").secret_key.reveal(),
            "BALIE_DATA_DIR": str(tmp_path),
            "BALIE_DATABASE_URL": database_url,
            "BALIE_SMTP_PORT": str(server.sockets[0].getsockname()[1]),
            "BALIE_WORKER_POLL_SECONDS": "0.1",
        }
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "worker"], env=env, preexec_fn=die_with_parent
    )
    try:
        async with asyncio.timeout(30):
            while not (stalled and None not in await _locks(sessions)):
                assert worker.poll() is None, "balie worker exited"
                await asyncio.sleep(0.05)
        worker.kill()
        worker.wait(10)
        killed_at = dt.datetime.now(dt.UTC)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        for writer in stalled:
            writer.close()
        server.close()
        await server.wait_closed()
    (lease_end,) = set(await _locks(sessions))
    assert lease_end is not None and lease_end <= killed_at + dt.timedelta(seconds=30)

    clock = ManualClock(lease_end - dt.timedelta(seconds=1))
    next_worker = OutboxWorker(sessions, settings_for(smtp.port), clock=clock)
    assert await next_worker.run_once() == 0  # still the dead worker's, for the rest of its lease
    clock.set(lease_end + dt.timedelta(microseconds=1))
    assert await next_worker.run_once() == 3
    assert sorted(m.message_id for m in smtp.messages()) == sorted(message_id_for(k, SENDER) for k in keys)
    assert {(row.status, row.attempts) for row in await rows(sessions)} == {(OutboxStatus.SENT, 1)}
