"""Monitoring: ``/readyz`` (database and channels), ``/metrics`` behind its token, and what the
metrics count (docs/operations.md, "Monitoring")."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import calls, metrics
from backend.app import create_app
from backend.db.models import AppointmentStatus, OutboxMessage, OutboxStatus, Participant
from backend.email.dev_sink import DevMailbox
from backend.settings import ChannelsSettings, Secret, SessionSettings, Settings
from backend.settings.monitoring import MonitoringSettings
from signalling.hub import LiveChannels
from tests.oidc import served_balie
from tests.pg_cluster import Cluster, own_cluster
from tests.recording import RecordingPages
from tests.support import citizen_appointment, free_port, make_settings


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only (the PostgreSQL outage tests own a cluster of their own)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


TOKEN = "metrics-" + "t" * 24
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def watched(settings: Settings) -> Settings:
    return dataclasses.replace(settings, monitoring=MonitoringSettings(metrics_token=Secret(TOKEN)))


@pytest.fixture
async def scraped(
    settings: Settings, engine: Any, seeded_service: Any
) -> AsyncIterator[AsyncTestClient[Any]]:
    """A client on an app with ``BALIE_METRICS_TOKEN`` set."""
    async with AsyncTestClient(app=create_app(watched(settings)), base_url="http://127.0.0.1:8000") as client:
        client.follow_redirects = False
        yield client


async def scrape(client: Any) -> list[Sample]:
    response = await client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    for sample in samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return float(sample.value)
    return None


# -- /readyz -----------------------------------------------------------------------------------------


async def test_readyz_answers_when_the_database_and_the_channels_do(client: Any) -> None:
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok", "channels": "ok"})
    assert ready.headers["cache-control"] == "no-store"
    assert (await client.get("/healthz")).json() == {"status": "ok", "database": "ok"}  # as it was


async def test_readyz_fails_while_redis_does_not_answer(settings: Settings) -> None:
    port = free_port()  # nothing listens there
    away = dataclasses.replace(
        settings,
        channels=ChannelsSettings(backend="redis", redis_url=f"redis://127.0.0.1:{port}/0"),
        sessions=SessionSettings(store="database"),
    )
    async with AsyncTestClient(app=create_app(away)) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "ok", "channels": "unavailable"}
        assert int(ready.headers["retry-after"]) > 0
        assert "127.0.0.1" not in ready.text and str(port) not in ready.text  # no hosts, no ports
        assert (await client.get("/livez")).status_code == 200


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with own_cluster() as owned:
        yield owned


@pytest.mark.postgres
async def test_readyz_fails_while_the_database_is_away_and_recovers(tmp_path: Path, cluster: Cluster) -> None:
    app = create_app(make_settings(tmp_path, cluster.url))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/readyz")).status_code == 200
        cluster.stop()
        ready = await client.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json() == {"status": "unavailable", "database": "unavailable", "channels": "ok"}
        assert int(ready.headers["retry-after"]) > 0
        assert str(cluster.port) not in ready.text
        cluster.start()
        again = await client.get("/readyz")
        assert (again.status_code, again.json()["database"]) == (200, "ok")


@pytest.mark.postgres
async def test_readyz_names_postgres_channels_while_their_server_is_away(
    tmp_path: Path, cluster: Cluster
) -> None:
    settings = make_settings(tmp_path, cluster.url, channels=ChannelsSettings(backend="postgres"))
    async with served_balie(settings) as (app, client):  # one event loop: the test may publish
        ready = await client.get("/readyz")
        assert ready.json() == {"status": "ok", "database": "ok", "channels": "ok"}
        cluster.stop()
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unavailable", "channels": "unavailable"}
        cluster.start()
        # The node listens again by itself (no restart), and hears what is published after.
        for _ in range(100):
            ready = await client.get("/readyz")
            if ready.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert ready.json() == {"status": "ok", "database": "ok", "channels": "ok"}
        plugin = app.plugins.get(LiveChannels)
        subscriber = await plugin.subscribe(["drill"])
        try:
            await plugin.wait_published("na de storing", "drill")
            heard = await asyncio.wait_for(subscriber.iter_events().__anext__(), 10)
        finally:
            await plugin.unsubscribe(subscriber)
        assert heard == b"na de storing"


# -- /metrics: who may read it -----------------------------------------------------------------------


async def test_metrics_are_not_there_without_a_token(client: Any) -> None:
    assert (await client.get("/metrics")).status_code == 404
    assert (await client.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 404


async def test_metrics_need_the_token(scraped: Any) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": TOKEN}):
        refused = await scraped.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.content == b""
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert (await scraped.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})).status_code == 200
    samples = await scrape(scraped)
    assert value(samples, "balie_scrape_database_up") == 1.0
    assert value(samples, "process_resident_memory_bytes") is not None


# -- what is counted ---------------------------------------------------------------------------------


async def test_requests_count_by_route_template_not_by_path(scraped: Any, seeded_service: Any) -> None:
    service_id = str(seeded_service.id)
    route = "/api/v1/services/{service_id}/slots"
    # The registry is the process's: other tests in this process may have counted this route too.
    earlier = await scrape(scraped)
    counted = value(earlier, "balie_http_requests_total", method="GET", route=route, status="2xx") or 0
    timed = value(earlier, "balie_http_request_duration_seconds_count", method="GET", route=route) or 0
    assert (await scraped.get(f"/api/v1/services/{service_id}/slots")).status_code == 200
    token = secrets.token_urlsafe(24)
    await scraped.get(f"/j/{token}")  # a join link that does not exist
    await scraped.get(f"/nergens/{token}")
    response = await scraped.get("/metrics", headers=BEARER)
    assert service_id not in response.text and token not in response.text
    samples = await scrape(scraped)
    assert value(samples, "balie_http_requests_total", method="GET", route=route, status="2xx") == counted + 1
    assert value(samples, "balie_http_request_duration_seconds_count", method="GET", route=route) == timed + 1
    assert (value(samples, "balie_http_requests_total", route="unmatched", status="4xx") or 0) >= 1
    routes = {s.labels["route"] for s in samples if s.name == "balie_http_requests_total"}
    assert all(r == "unmatched" or r.startswith("/") for r in routes), routes


async def test_an_outbox_row_shows_in_depth_and_age(
    scraped: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await scrape(scraped)
    assert value(before, "balie_outbox_pending_messages") == 0.0
    assert value(before, "balie_outbox_oldest_due_age_seconds") == 0.0
    now = dt.datetime.now(dt.UTC)
    async with sessionmaker() as db, db.begin():
        db.add_all(
            [
                OutboxMessage(
                    idempotency_key="test:late",
                    recipient="a@example.nl",
                    subject="Te laat",
                    mime=b"",
                    next_attempt_at=now - dt.timedelta(minutes=7),
                ),
                OutboxMessage(
                    idempotency_key="test:later",
                    recipient="b@example.nl",
                    subject="Later",
                    mime=b"",
                    next_attempt_at=now + dt.timedelta(hours=1),
                ),
                OutboxMessage(
                    idempotency_key="test:sent",
                    recipient="c@example.nl",
                    subject="Weg",
                    mime=b"",
                    status=OutboxStatus.SENT,
                    next_attempt_at=now - dt.timedelta(hours=1),
                ),
            ]
        )
    after = await scrape(scraped)
    assert value(after, "balie_outbox_pending_messages") == 2.0
    age = value(after, "balie_outbox_oldest_due_age_seconds")
    assert age is not None and 7 * 60 <= age < 8 * 60


async def test_a_sign_in_failure_counts_by_its_reason(scraped: Any) -> None:
    def failures(samples: list[Sample]) -> float:
        found = value(samples, "balie_sign_ins_total", outcome="failure", reason="missing_state")
        return found or 0.0

    before = failures(await scrape(scraped))
    refused = await scraped.get("/balie/inloggen/terug", params={"code": "abc"})  # no sign-in started
    assert refused.status_code == 400
    assert failures(await scrape(scraped)) == before + 1


async def test_a_waiting_participant_shows_in_their_team_gauge(
    scraped: Any, seeded_service: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    team = str(seeded_service.team_id)
    before = await scrape(scraped)
    assert value(before, "balie_waiting_participants", team=team) == 0.0
    assert value(before, "balie_calls_in_progress", team=team) == 0.0
    assert value(before, "balie_team_info", team=team, municipality="testgemeente", slug="burgerzaken") == 1.0
    now = dt.datetime.now(dt.UTC)
    async with sessionmaker() as db, db.begin():
        waiting = citizen_appointment(seeded_service, now, join_token=new_token(), manage_token=new_token())
        waiting.status = AppointmentStatus.WAITING
        (citizen,) = waiting.participants
        citizen.state, citizen.waiting_since = "waiting", now
        citizen.present_until = now + dt.timedelta(seconds=60)  # their page is open (backend/presence.py)
        gone = citizen_appointment(seeded_service, now, join_token=new_token(), manage_token=new_token())
        gone.status = AppointmentStatus.WAITING
        gone.participants[0].state = "waiting"  # their page closed: not counted
        talking = citizen_appointment(seeded_service, now, join_token=new_token(), manage_token=new_token())
        talking.status = AppointmentStatus.IN_CALL
        db.add_all([waiting, gone, talking])
    after = await scrape(scraped)
    assert value(after, "balie_waiting_participants", team=team) == 1.0
    assert value(after, "balie_calls_in_progress", team=team) == 1.0
    response = await scraped.get("/metrics", headers=BEARER)
    assert "Fatima" not in response.text and "example.nl" not in response.text


def new_token() -> str:
    return secrets.token_urlsafe(24)


async def test_admission_observes_how_long_the_participant_waited(
    seeded_service: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    team = str(seeded_service.team_id)

    def observed() -> tuple[float, float]:
        count = metrics.REGISTRY.get_sample_value("balie_admission_wait_seconds_count", {"team": team})
        total = metrics.REGISTRY.get_sample_value("balie_admission_wait_seconds_sum", {"team": team})
        return count or 0.0, total or 0.0

    count, total = observed()
    now = dt.datetime.now(dt.UTC)
    async with sessionmaker() as db:
        appointment = citizen_appointment(
            seeded_service, now, join_token=new_token(), manage_token=new_token()
        )
        appointment.status = AppointmentStatus.WAITING
        appointment.participants[0].state = "waiting"
        appointment.participants[0].waiting_since = now - dt.timedelta(seconds=90)
        db.add(appointment)
        await db.commit()
        official_id = await official_of(db)
        await calls.admit(db, RecordingPages(), appointment, official_id)
    new_count, new_total = observed()
    assert new_count == count + 1
    assert 90 <= new_total - total < 120


async def official_of(db: AsyncSession) -> uuid.UUID:
    from sqlalchemy import select

    from backend.db.models import Official

    found = await db.scalar(select(Official.id))
    assert found is not None
    return found


async def test_sockets_open_count_by_kind(tmp_path: Path) -> None:
    from tests.integration.signalling_support import start_balie

    def open_now(kind: str) -> float:
        return metrics.REGISTRY.get_sample_value("balie_websockets_open", {"kind": kind}) or 0.0

    node, _ = await start_balie(tmp_path)
    async with node.serving():
        before = open_now("citizen")
        peer = await node.citizen()
        assert open_now("citizen") == before + 1
        await peer.ws.close()
        for _ in range(100):
            if open_now("citizen") == before:
                break
            await _pause()
        assert open_now("citizen") == before


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.05)


# -- the worker's own port -----------------------------------------------------------------------------


async def test_the_worker_reports_its_health_and_metrics(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    import asyncio

    from backend.worker_status import serving_status

    port = free_port()
    settings = MonitoringSettings(metrics_token=Secret(TOKEN), worker_status_port=port)
    loop = asyncio.create_task(asyncio.Event().wait())
    try:
        async with (
            serving_status(settings, sessionmaker, [loop]),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
        ):
            health = await client.get("/healthz")
            assert (health.status_code, health.json()) == (
                200,
                {"status": "ok", "loops": "ok", "database": "ok"},
            )
            assert (await client.get("/metrics")).status_code == 401
            scraped = await client.get("/metrics", headers=BEARER)
            assert scraped.status_code == 200
            names = {family.name for family in text_string_to_metric_families(scraped.text)}
            assert "balie_email_sends" in names and "balie_outbox_pending_messages" not in names
            assert (await client.get("/anders")).status_code == 404
            loop.cancel()
            await asyncio.sleep(0)
            stopped = await client.get("/healthz")
            assert stopped.status_code == 503 and stopped.json()["loops"] == "stopped"
            assert int(stopped.headers["retry-after"]) > 0
    finally:
        loop.cancel()


async def test_the_worker_without_a_token_serves_health_only(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    import asyncio

    from backend.worker_status import serving_status

    port = free_port()
    loop = asyncio.create_task(asyncio.Event().wait())
    try:
        async with (
            serving_status(MonitoringSettings(worker_status_port=port), sessionmaker, [loop]),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
        ):
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/metrics", headers=BEARER)).status_code == 404
        async with serving_status(MonitoringSettings(), sessionmaker, [loop]) as none:
            assert none is None  # port 0: no port
    finally:
        loop.cancel()


async def test_participants_of_revoked_links_do_not_wait(
    scraped: Any, seeded_service: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    team = str(seeded_service.team_id)
    now = dt.datetime.now(dt.UTC)
    async with sessionmaker() as db, db.begin():
        appointment = citizen_appointment(
            seeded_service, now, join_token=new_token(), manage_token=new_token()
        )
        appointment.status = AppointmentStatus.WAITING
        db.add(appointment)
        await db.flush()
        await db.execute(
            update(Participant)
            .where(Participant.appointment_id == appointment.id)
            .values(state="waiting", present_until=now + dt.timedelta(minutes=1), revoked_at=now)
        )
    assert value(await scrape(scraped), "balie_waiting_participants", team=team) == 0.0


class _PickyMailbox(DevMailbox):
    """Refuses ``bounce*`` for good (550) and ``later*`` for now (450)."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("later"):
            return "450 4.2.1 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def test_the_outbox_worker_counts_each_outcome(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from email.message import EmailMessage

    from backend.email.outbox import enqueue, outbox_keyring
    from backend.email.worker import OutboxWorker

    def sends(outcome: str) -> float:
        return metrics.REGISTRY.get_sample_value("balie_email_sends_total", {"outcome": outcome}) or 0.0

    before = {outcome: sends(outcome) for outcome in ("sent", "deferred", "failed")}
    async with sessionmaker() as db, db.begin():
        for to in ("inwoner@example.nl", "bounce@example.nl", "later@example.nl"):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = settings.email.sender, to, "Hallo"
            message.set_content("Tekst")
            await enqueue(
                db, key=f"test:{to}", recipient=to, message=message, keyring=outbox_keyring(settings)
            )
    sink = _PickyMailbox(port=settings.email.smtp_port, server_hostname="sink.test")
    sink.start()
    try:
        assert await OutboxWorker(sessionmaker, settings).run_once() == 1
    finally:
        sink.stop()
    assert {outcome: sends(outcome) - before[outcome] for outcome in before} == {
        "sent": 1,
        "deferred": 1,
        "failed": 1,
    }


async def test_balie_worker_answers_on_its_status_port(tmp_path: Path) -> None:
    import asyncio
    import os
    import subprocess
    import sys
    import time

    from tests.live import prepare_database
    from tests.support import die_with_parent

    url = f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}"
    await prepare_database(url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    env |= {
        "BALIE_ENV": "development",
        "BALIE_DATA_DIR": str(tmp_path),
        "BALIE_DATABASE_URL": url,
        "BALIE_SMTP_PORT": str(free_port()),
        "BALIE_WORKER_STATUS_PORT": str(port),
        "BALIE_METRICS_TOKEN": TOKEN,
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            while True:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
                try:
                    health = await client.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the worker's status port did not open"
                    await asyncio.sleep(0.2)
            assert (health.status_code, health.json()["loops"]) == (200, "ok"), health.text
            assert (await client.get("/metrics", headers=BEARER)).status_code == 200
    finally:
        worker.terminate()
        worker.wait(15)
        log.close()
