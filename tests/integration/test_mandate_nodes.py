"""A revoked mandate stops the official on every app node: PostgreSQL and Redis channels shared."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Mandate
from backend.settings import Settings
from tests.integration.signalling_support import Peer
from tests.integration.test_mandates import Towns, _post
from tests.integration.test_signalling_nodes import Node, node_env
from tests.live import cookie_header, sign_in_official
from tests.support import postgres_database


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_revocation_on_one_node_closes_the_desk_on_the_other(tmp_path: Path) -> None:
    async with postgres_database() as database_url:
        env = node_env(tmp_path, database_url, "redis")
        engine = create_engine(Settings.from_env(env).database)
        try:
            await upgrade(engine)
            async with create_sessionmaker(engine)() as session:
                towns = await Towns().seed(session)
                mandate = Mandate(
                    grantor_id=towns.ids["rotterdam"],
                    grantee_id=towns.ids["schiedam"],
                    team_ids=[str(towns.ids["burgerzaken"])],
                    official_ids=[],
                    starts_at=towns.now - towns.hour,
                    ends_at=towns.now + 24 * towns.hour,
                    reason="Storing",
                    granted_by=towns.ids["admin_rotterdam"],
                    accepted_at=towns.now - towns.hour,
                )
                session.add(mandate)
                await session.commit()
                mandate_id = mandate.id
        finally:
            await engine.dispose()
        nodes = [Node(env, tmp_path / f"node-{i}.log") for i in range(2)]
        try:
            await asyncio.gather(*(n.ready() for n in nodes))
            a, b = nodes
            async with (
                httpx.AsyncClient(base_url=f"http://{a.url}", timeout=20) as admin,
                httpx.AsyncClient(base_url=f"http://{b.url}", timeout=20) as helper,
            ):
                await sign_in_official(helper, "official-schiedam")
                switched = await _post(
                    helper, "/balie/namens", {"mandate": str(mandate_id)}, form_page="/balie/"
                )
                assert switched.status_code == 303
                theirs = f"/balie/afspraken/{towns.ids['theirs']}/gesprek"
                assert (await helper.get(theirs)).status_code == 200
                desk = await Peer.open(b.url, "/ws/desk", {"session": "desk-1"}, cookie_header(helper))
                queue = await desk.receive_until("queue")
                assert [entry["id"] for entry in queue["appointments"]] == [str(towns.ids["theirs"])]

                await sign_in_official(admin, "admin-rotterdam")
                revoked = await _post(admin, f"/balie/mandaten/{mandate_id}/intrekken", {})
                assert revoked.status_code == 303
                assert await desk.closed_with() == 4403  # node A's revocation reached node B
                assert (await helper.get(theirs)).status_code == 404
        finally:
            for node in nodes:
                node.stop()
