"""A service published on one app node is bookable on the other at once, and withdrawn there at
once: the catalogue is read from the shared database on every request (PostgreSQL, Redis channels),
no restart and no cache to wait for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Membership, Official
from backend.settings import Settings
from tests.integration.test_service_editor import EDITOR_FORM, _book, _bookable, _new_draft
from tests.integration.test_signalling_nodes import Node, node_env
from tests.live import post_form, sign_in_official
from tests.support import postgres_database, seed_agenda


@pytest.mark.postgres
@pytest.mark.redis
async def test_published_on_one_node_bookable_on_the_other(tmp_path: Path) -> None:
    async with postgres_database() as database_url:
        env = node_env(tmp_path, database_url, "redis")
        engine = create_engine(Settings.from_env(env).database)
        try:
            await upgrade(engine)
            async with create_sessionmaker(engine)() as session:
                existing = await seed_agenda(session)
                head = Official(issuer="urn:balie:dev", subject="teamleider", name="Teamleider")
                session.add(Membership(official=head, team_id=existing.team_id, role="admin"))
                await session.commit()
                team_id = existing.team_id
        finally:
            await engine.dispose()
        nodes = [Node(env, tmp_path / f"node-{i}.log") for i in range(2)]
        try:
            await asyncio.gather(*(n.ready() for n in nodes))
            a, b = nodes
            async with (
                httpx.AsyncClient(base_url=f"http://{a.url}", timeout=20) as admin,
                httpx.AsyncClient(base_url=f"http://{b.url}", timeout=20) as citizen,
            ):
                await sign_in_official(admin, "teamleider")
                service_id = await _new_draft(admin, team_id)
                base = f"/balie/diensten/{service_id}"
                assert (await post_form(admin, base, base, EDITOR_FORM)).status_code == 303
                assert service_id not in await _bookable(citizen)

                assert (await post_form(admin, base, f"{base}/publiceren")).status_code == 303
                assert service_id in await _bookable(citizen)  # node B, the very next request
                booked = await _book(citizen, service_id, "iris@example.org")
                assert booked.status_code == 201, booked.text

                assert (await post_form(admin, base, f"{base}/intrekken")).status_code == 303
                assert service_id not in await _bookable(citizen)
                assert (await citizen.get(f"/api/v1/services/{service_id}/slots")).status_code == 404
        finally:
            for node in nodes:
                node.stop()
