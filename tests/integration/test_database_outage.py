"""A database outage on PostgreSQL, with a cluster this test owns and stops: every answer is a
clear 503 with Retry-After (never a 500, no traceback per request), /healthz fails so a load
balancer takes the node out, and the node serves again as soon as the database is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import book_first_slot, live_server
from tests.pg_cluster import Cluster, own_cluster

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with own_cluster() as owned:
        yield owned


async def book_at(client: httpx.AsyncClient, service_id: str, start: str, email: str) -> httpx.Response:
    citizen = {"name": "Sanne de Boer", "email": email}
    return await client.post(
        "/api/v1/appointments", json={"service_id": service_id, "start": start, "citizen": citizen}
    )


async def test_an_outage_answers_503_and_fails_the_health_check(tmp_path: Path, cluster: Cluster) -> None:
    async with live_server(tmp_path, database_url=cluster.url) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            health = await client.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok", "database": "ok"})
            await book_first_slot(client, server.service_id, "voor@example.nl")
            slots = (await client.get(f"/api/v1/services/{server.service_id}/slots")).json()

            cluster.stop()
            health = await client.get("/healthz")
            assert health.status_code == 503 and health.json()["database"] == "unavailable"
            assert int(health.headers["retry-after"]) > 0
            assert (await client.get("/livez")).status_code == 200  # the process itself is fine

            booking = await book_at(client, server.service_id, slots[0]["start"], "storing@example.nl")
            assert booking.status_code == 503, booking.text
            assert booking.headers["content-type"].startswith("application/problem+json")
            assert int(booking.headers["retry-after"]) > 0
            assert "niets opgeslagen" in booking.json()["detail"]

            page = await client.get(f"/api/v1/services/{server.service_id}/slots")
            assert page.status_code == 503
            html = await client.get("/", headers={"Accept": "text/html"})
            assert html.status_code == 503 and "text/html" in html.headers["content-type"]
            assert "Er is bij ons een storing" in html.text and int(html.headers["retry-after"]) > 0
            english = await client.get("/", headers={"Accept": "text/html", "Accept-Language": "en"})
            assert "We have a technical problem" in english.text

            cluster.start()
            assert (await client.get("/healthz")).status_code == 200
            again = await book_at(client, server.service_id, slots[0]["start"], "na@example.nl")
            assert again.status_code == 201, again.text
        log = server.log()
        assert "Traceback" not in log, log[-3000:]
        assert "database unavailable" in log
