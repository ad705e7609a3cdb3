"""Two app nodes: ``create_app`` processes that share a database and Redis or PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend import calls
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Appointment
from backend.settings import ROOT, Settings
from signalling.hub import channels_plugin, hub_for
from signalling.live import HubPages
from tests.integration.signalling_support import Peer, seed
from tests.support import free_port, postgres_database


class Node:
    """``create_app`` under uvicorn in its own process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        env = {**env, "BALIE_PUBLIC_URL": f"http://{self.url}"}  # its own development identity provider
        self.log = log
        command = [
            sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(self.port), "--ws-per-message-deflate", "false", "--log-level", "warning",
        ]  # fmt: skip
        with log.open("w") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    async def ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(150):
                if self.process.poll() is not None:
                    raise AssertionError(f"node on {self.port} exited:\n{self.log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://{self.url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"node on {self.port} did not start:\n{self.log.read_text()[-3000:]}")

    async def desk_cookie(self, subject: str = "official-testgemeente") -> str:
        """Sign in through the development identity provider, as a browser would."""
        from tests.live import sign_in_official

        async with httpx.AsyncClient(base_url=f"http://{self.url}") as client:
            await sign_in_official(client, subject)
            return f"balie_session={client.cookies['balie_session']}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def node_env(tmp_path: Path, database_url: str, channels: str) -> dict[str, str]:
    return {
        **os.environ,
        "BALIE_ENV": "test",
        "BALIE_SECRET_KEY": "multi-node-test-secret",
        "BALIE_DATA_DIR": str(tmp_path),
        "BALIE_DATABASE_URL": database_url,
        "BALIE_CHANNELS": channels,
        "BALIE_DEMO_DATA": "false",
        "BALIE_WORKER_IN_PROCESS": "false",
        "BALIE_DEV_MAILBOX": "false",
        "BALIE_RATE_LIMIT_PER_MINUTE": "0",
    }


async def two_nodes_one_call(tmp_path: Path, database_url: str, channels: str, extra_sdp: list[str]) -> None:
    """The citizen on node A, the official on node B, the admission from a third process."""
    world = await seed(database_url)
    env = node_env(tmp_path, database_url, channels)
    nodes = [Node(env, tmp_path / f"node-{i}.log") for i in range(2)]
    settings = Settings.from_env(env)
    plugin = channels_plugin(settings)
    try:
        await asyncio.gather(*(n.ready() for n in nodes))
        a, b = nodes
        cookie = await b.desk_cookie()
        async with plugin:
            hub = HubPages(hub_for(settings, plugin))
            desk = await Peer.open(b.url, "/ws/desk", {"session": "desk-1"}, cookie)
            await desk.receive("welcome")
            await desk.receive("queue")
            citizen = await Peer.open(
                a.url, "/ws/citizen", {"session": "page-1", "token": world.tokens["citizen"]}
            )
            assert (await citizen.receive("welcome"))["state"] == "invited"
            await citizen.send({"type": "enter"})
            assert await citizen.receive() == {"type": "state", "state": "waiting"}

            def citizen_waits(message: dict[str, Any]) -> bool:
                return any(p["state"] == "waiting" for p in message["appointments"][0]["participants"])

            await desk.receive_until("queue", citizen_waits)  # node A's change reached node B
            call = await Peer.open(b.url, f"/ws/call/{world.appointment_id}", {"session": "call-1"}, cookie)
            await call.receive("welcome")

            engine = create_engine(settings.database)
            try:
                async with create_sessionmaker(engine)() as db:
                    appointment = await db.get(Appointment, world.appointment_id)
                    assert appointment is not None
                    await calls.admit(db, hub, appointment, world.official_id)
            finally:
                await engine.dispose()
            assert await citizen.receive() == {"type": "state", "state": "admitted"}
            await citizen.send({"type": "join-call"})
            assert await citizen.receive() == {"type": "state", "state": "in_call"}
            assert (await call.receive("peer-joined"))["peer"]["id"] == str(world.citizen_id)

            for sdp in extra_sdp:
                offer = {"description": {"type": "offer", "sdp": sdp}}
                await call.send({"type": "signal", "to": str(world.citizen_id), "data": offer})
                received = await citizen.receive("signal")
                assert received["data"] == offer and received["from"] == f"official:{world.official_id}"
            answer = {"description": {"type": "answer", "sdp": sdp_like(3000)}}
            await citizen.send({"type": "signal", "to": f"official:{world.official_id}", "data": answer})
            assert (await call.receive("signal"))["data"] == answer

            await citizen.ws.close()  # the citizen's network drops; the page comes back on node B
            assert (await call.receive("peer-left"))["reason"] == "disconnected"
            citizen = await Peer.open(
                b.url, "/ws/citizen", {"session": "page-1", "token": world.tokens["citizen"]}
            )
            assert (await citizen.receive("welcome"))["state"] == "in_call"
            await citizen.send({"type": "join-call"})
            assert await citizen.receive() == {"type": "state", "state": "in_call"}
            assert (await call.receive())["type"] == "peer-reconnected"
            for peer in (citizen, call, desk):
                await peer.ws.close()
    finally:
        for node in nodes:
            node.stop()


def sdp_like(size: int, seed: int = 1) -> str:
    """SDP-shaped text of ``size`` bytes with random candidates, fingerprints and ICE credentials."""
    rng = random.Random(seed)
    lines = ["v=0", f"o=- {rng.getrandbits(62)} 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1 2"]
    while sum(len(line) + 2 for line in lines) < size:
        port = rng.randint(1024, 65535)
        lines += [
            f"a=candidate:{rng.getrandbits(32)} 1 udp {rng.getrandbits(31)} 127.0.0.1 {port} typ host",
            f"a=ice-ufrag:{secrets.token_urlsafe(6)}",
            f"a=ice-pwd:{secrets.token_urlsafe(18)}",
            f"a=fingerprint:sha-256 {':'.join(f'{rng.getrandbits(8):02X}' for _ in range(32))}",
        ]
    return ("\r\n".join(lines) + "\r\n")[:size]


@pytest.mark.redis
async def test_two_nodes_share_redis(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    await two_nodes_one_call(tmp_path, database_url, "redis", [sdp_like(6500)])


@pytest.mark.postgres
async def test_two_nodes_share_postgres(tmp_path: Path) -> None:
    incompressible = base64.b64encode(os.urandom(15_000)).decode()  # needs numbered NOTIFY parts
    async with postgres_database() as database_url:
        await two_nodes_one_call(tmp_path, database_url, "postgres", [sdp_like(6500), incompressible])
