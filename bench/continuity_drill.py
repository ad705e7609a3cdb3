"""Continuity drill: what citizens, bookings and email go through when a part of a deployment fails.

Everything runs on loopback and belongs to the drill: a PostgreSQL cluster of its own
(``tests/pg_cluster.py``, never the shared server on 5432), a private ``redis-server``, an SMTP
sink it stops and starts (aiosmtpd), two app nodes (``balie run`` with ``BALIE_CHANNELS=redis``
and ``BALIE_WORKER_IN_PROCESS=false``) and one ``balie worker``. Then three drills:

(a) **A node dies.** N citizens book through the API, take their join link from the confirmation
    email and wait in the waiting room (``/ws/citizen``, hello + enter), half on each node; M of
    node A's are admitted into a call with an official whose call socket is on node B. Baseline,
    in the same run: one fresh page alone on the healthy node B, from connect to ``waiting`` (three,
    one after the other; also shown: node A's pages losing their network and coming back to node A).
    Then node A is killed with SIGKILL: its pages reconnect at once, and after the refused attempt,
    0.2-0.5 s later to node B (what a proxy in front of both gives them). Measured: seconds until
    every page is waiting (or in its call) again, and whether each place was kept (``state`` and
    ``waiting_since`` in the database, unchanged). Node A is then started again for (b) and (c).
(b) **The database stops** for 30 s (``pg_ctl stop -m fast``) while a client keeps loading pages
    and booking (each booking with an ``Idempotency-Key``, retried on 503 or no answer, like an API
    client that follows the docs). Counted: every answer by status (503 with ``Retry-After``
    expected, never a 500), the bookings the client got 201 for against the database afterwards
    (lost, duplicated, booked without the client knowing), the seconds until the first success
    after the restart.
(c) **The SMTP server stops** for 60 s during 200 bookings. Counted at the SMTP server by
    Message-ID against the outbox rows: emails lost or duplicated, and the seconds until the outbox
    had nothing due any more after the server came back.

    python -m bench.continuity_drill --citizens 30 --calls 2
    python -m bench.continuity_drill --quick   # 6 citizens, 3 s outages: that it runs (test_benchmarks.py)

Exits 1 when a correctness check fails (a 500, a lost or duplicated booking or email, a citizen who
did not come back or lost their place); timings are printed, never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import calls
from backend.booking.tokens import hash_token
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Appointment, Official, OutboxMessage, OutboxStatus, Participant
from backend.email.dev_sink import DevMailbox
from backend.email.outbox import message_id_for
from backend.settings import DatabaseSettings, Settings
from signalling.hub import channels_plugin, hub_for
from signalling.live import HubPages
from tests.live import join_token_from, prepare_database, server_env, sign_in_official
from tests.pg_cluster import Cluster, own_cluster
from tests.support import die_with_parent, free_port

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL_SUBJECT = "official-testgemeente"  # seeded by tests.support.seed_agenda
FATAL_CLOSES = {4401, 4403, 4404, 4409}
HEARTBEAT = 20.0


def now() -> float:
    return time.monotonic()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- processes ---------------------------------------------------------------------------------------


@dataclass
class Proc:
    """A helper process in its own process group (so that it and anything it starts can be ended)."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: the machine under the node is gone."""
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout: float = 10) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group
            os.killpg(self.popen.pid, signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


async def wait_http(url: str, proc: Proc, timeout: float = 60) -> float:
    """Seconds until ``url`` answers 200 (the process must keep running)."""
    began = now()
    async with httpx.AsyncClient(timeout=2) as client:
        while now() - began < timeout:
            if not proc.running:
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return now() - began
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not answer {url} within {timeout} s:\n{proc.tail()}")


@dataclass
class Node:
    proc: Proc
    port: int

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    async def ready(self) -> float:
        return await wait_http(f"{self.base}/readyz", self.proc)


@dataclass
class World:
    folder: Path
    cluster: Cluster
    redis_url: str
    mailbox: DevMailbox
    nodes: list[Node]
    worker: Proc
    service_id: str
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, what: str, ok: bool) -> bool:
        self.checks.append((what, ok))
        return ok

    def urls(self) -> list[str]:
        return [node.base for node in self.nodes]


def node_env(folder: Path, port: int, database_url: str, smtp_port: int, redis_url: str) -> dict[str, str]:
    extra = {
        "BALIE_CHANNELS": "redis",
        "BALIE_REDIS_URL": redis_url,
        "BALIE_WORKER_IN_PROCESS": "false",
    }
    data = folder / f"data-{port}"
    data.mkdir(exist_ok=True)
    return server_env(data, port, database_url, smtp_port, extra)


def app_node(folder: Path, name: str, port: int, env: dict[str, str]) -> Node:
    command = [sys.executable, "-m", "backend.cli", "run", "--host", "127.0.0.1", "--port", str(port)]
    return Node(Proc(name, command, env, folder / f"{name}.log"), port)


@contextlib.asynccontextmanager
async def world(folder: Path, desks: int) -> Any:
    """Start everything; end every process, the cluster and the mailbox whatever happens."""
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(own_cluster())
        redis_port = free_port()
        redis = Proc(
            "redis",
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            dict(os.environ),
            folder / "redis.log",
        )
        stack.callback(redis.stop)
        redis.start()
        mailbox = DevMailbox(port=free_port(), keep=1_000_000, server_hostname="drill.test")
        stack.callback(mailbox.stop)
        await mailbox.astart()
        service_id = await prepare_database(cluster.url, desks=desks)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        nodes = []
        for name in ("node-a", "node-b"):
            port = free_port()
            node = app_node(folder, name, port, node_env(folder, port, cluster.url, mailbox.port, redis_url))
            stack.callback(node.proc.stop)
            nodes.append(node)
        status_port = free_port()
        worker_env = {
            **node_env(folder, status_port, cluster.url, mailbox.port, redis_url),
            "BALIE_WORKER_STATUS_PORT": str(status_port),
            "BALIE_PUBLIC_URL": nodes[0].base,  # the links in the emails it writes
        }
        worker = Proc(
            "worker", [sys.executable, "-m", "backend.cli", "worker"], worker_env, folder / "worker.log"
        )
        stack.callback(worker.stop)
        for node in nodes:
            node.proc.start()
        worker.start()
        await asyncio.gather(*(node.ready() for node in nodes))
        await wait_http(f"http://127.0.0.1:{status_port}/healthz", worker)
        settings = Settings.from_env(nodes[0].proc.env)
        engine = create_engine(DatabaseSettings(url=cluster.url, pool_size=4))
        try:
            yield World(
                folder,
                cluster,
                redis_url,
                mailbox,
                nodes,
                worker,
                service_id,
                settings,
                create_sessionmaker(engine),
            )
        finally:
            await engine.dispose()


# -- the citizens' pages -----------------------------------------------------------------------------


async def pings(ws: Any) -> None:
    """What every page sends every heartbeat (a silent socket is closed after 60 s)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.sleep(HEARTBEAT)
            await ws.send(json.dumps({"type": "ping"}))


class Page:
    """A waiting-room page's socket (``/ws/citizen``), reconnecting like web/static/js/signalling.js
    does behind a proxy: at once when the socket closes, and when an attempt fails, 0.2-0.5 s later
    to the other node. It sends ``enter`` when it finds itself invited and ``join-call`` when it is
    admitted or comes back to a call (as room.js does after every ``welcome``)."""

    def __init__(self, label: str, token: str, hosts: list[str], home: int, want: str = "waiting") -> None:
        self.label, self.token, self.hosts, self.node = label, token, hosts, home
        self.want = want
        self.session = secrets.token_hex(16)
        self.state = ""
        self.ready = asyncio.Event()
        self.connected_node: int | None = None
        self.opened_at = 0.0
        self.first_ready: float | None = None  # seconds from the first connect to the wanted state
        self.closed_at: float | None = None
        self.back_at: float | None = None
        self.closes = 0
        self.failed_attempts = 0
        self.tries: list[tuple[float, int]] = []  # when each connection attempt began, to which node
        self.fatal: int | None = None
        self.close_code: int | None = None
        self.errors: list[dict[str, Any]] = []
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    def start(self) -> None:
        self.opened_at = now()
        self.task = asyncio.create_task(self.run(), name=f"page-{self.label}")

    async def stop(self) -> None:
        self.stopping = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    def drop(self) -> None:
        """The page's network goes: the TCP connection is cut without a close handshake."""
        if self.ws is not None:
            self.ws.transport.abort()

    async def run(self) -> None:
        while not self.stopping:
            self.close_code = None
            try:
                await self.connection()
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                if isinstance(exc, websockets.ConnectionClosed) and exc.rcvd is not None:
                    self.close_code = exc.rcvd.code
            finally:
                self.ready.clear()
                self.ws = None
            if self.stopping:
                return
            if self.close_code in FATAL_CLOSES:
                self.fatal = self.close_code
                return
            if self.connected_node is not None:  # it had a welcome: the socket closed
                self.connected_node = None
                self.closed_at, self.back_at = now(), None
                self.closes += 1
                continue  # at once, to the same node
            self.failed_attempts += 1
            self.node = (self.node + 1) % len(self.hosts)
            await asyncio.sleep(random.uniform(0.2, 0.5))

    async def connection(self) -> None:
        """One socket, until it closes (``connected_node`` is set once it got a ``welcome``)."""
        url = f"ws://{self.hosts[self.node]}/ws/citizen"
        self.tries.append((now(), self.node))
        async with websockets.connect(url, open_timeout=5, compression=None, close_timeout=2) as ws:
            self.ws = ws
            await ws.send(json.dumps({"type": "hello", "session": self.session, "token": self.token}))
            heartbeat = asyncio.create_task(pings(ws))
            try:
                async for raw in ws:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "welcome":
                        self.connected_node = self.node
                        await self.on_state(ws, str(message["state"]), welcome=True)
                    elif kind == "state":
                        await self.on_state(ws, str(message["state"]), welcome=False)
                    elif kind == "error":
                        self.errors.append(message)
            finally:
                heartbeat.cancel()
                self.close_code = ws.close_code

    async def on_state(self, ws: Any, state: str, *, welcome: bool) -> None:
        self.state = state
        if state in ("invited", "left"):
            await ws.send(json.dumps({"type": "enter"}))
        elif self.want == "in_call" and (state == "admitted" or (welcome and state == "in_call")):
            await ws.send(json.dumps({"type": "join-call"}))  # a page in the call joins again
        elif state == self.want and (self.want == "waiting" or not welcome):
            if self.first_ready is None:
                self.first_ready = now() - self.opened_at
            if self.closed_at is not None and self.back_at is None:
                self.back_at = now()
            self.ready.set()


class OfficialCall:
    """The official's call page (``/ws/call/{id}``): keeps what it hears, with the time."""

    def __init__(self, host: str, appointment_id: uuid.UUID, cookie: str) -> None:
        self.host, self.appointment_id, self.cookie = host, appointment_id, cookie
        self.heard: list[tuple[float, dict[str, Any]]] = []
        self.welcomed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.ws: Any = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        url = f"ws://{self.host}/ws/call/{self.appointment_id}"
        async with websockets.connect(
            url, additional_headers={"Cookie": self.cookie}, compression=None
        ) as ws:
            self.ws = ws
            await ws.send(json.dumps({"type": "hello", "session": secrets.token_hex(16)}))
            heartbeat = asyncio.create_task(pings(ws))
            try:
                async for raw in ws:
                    message = json.loads(raw)
                    self.heard.append((now(), message))
                    if message.get("type") == "welcome":
                        self.welcomed.set()
            finally:
                heartbeat.cancel()

    async def stop(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def until(condition: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = now() + timeout
    while now() < deadline:
        if condition():
            return True
        await asyncio.sleep(step)
    return bool(condition())


# -- booking through the API -------------------------------------------------------------------------


async def free_starts(world: World) -> list[str]:
    async with httpx.AsyncClient(base_url=world.nodes[0].base, timeout=30) as client:
        response = await client.get(f"/api/v1/services/{world.service_id}/slots")
        response.raise_for_status()
        return [slot["start"] for slot in response.json()]


async def book(
    client: httpx.AsyncClient, world: World, start: str, email: str, key: str | None = None
) -> httpx.Response:
    body = {
        "service_id": world.service_id,
        "start": start,
        "citizen": {"name": "Drill Inwoner", "email": email},
    }
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post("/api/v1/appointments", json=body, headers=headers)


def mail_to(world: World, address: str) -> Any:
    return next((m for m in world.mailbox.messages() if address in m.to), None)


# -- (a) a node dies ---------------------------------------------------------------------------------


@dataclass
class NodeDeath:
    fresh: list[float]
    single: list[float]
    baseline_all: float
    baseline: list[float]
    killed_all: float
    killed: list[float]
    noticed: float
    refused: int
    on_b: list[float]
    calls_all: float | None
    calls_back: int
    official_heard: Counter[str]
    places_kept: int
    citizens: int
    moved: int
    undisturbed: int
    node_back: float


async def node_death(world: World, citizens: int, in_calls: int, probes: int = 3) -> NodeDeath:
    hosts = [node.host for node in world.nodes]
    starts = await free_starts(world)
    emails = [f"drill-a-{n}@example.nl" for n in range(citizens + probes)]
    async with httpx.AsyncClient(timeout=30) as client:
        for n, email in enumerate(emails):
            client.base_url = httpx.URL(world.urls()[n % 2])
            response = await book(client, world, starts[0], email)
            assert response.status_code == 201, response.text
    arrived = await until(lambda: all(mail_to(world, e) for e in emails), 60)
    assert arrived, "not every confirmation email arrived (is the worker running?)"
    tokens = [join_token_from(mail_to(world, e)) for e in emails]
    tokens, probe_tokens = tokens[:citizens], tokens[citizens:]
    home = [n % 2 for n in range(citizens)]  # even on node A, odd on node B
    on_a = [n for n in range(citizens) if home[n] == 0]
    calling = set(on_a[:in_calls])
    pages = [
        Page(f"a{n}", tokens[n], hosts, home[n], "in_call" if n in calling else "waiting")
        for n in range(citizens)
    ]
    officials: list[OfficialCall] = []
    try:
        for page in pages:
            page.start()
        waited = await until(lambda: all(p.state == "waiting" or p.ready.is_set() for p in pages), 60)
        assert waited, f"not every citizen reached the waiting room: {[p.state for p in pages]}"
        fresh = [p.first_ready for p in pages if p.first_ready is not None and p.want == "waiting"]

        if calling:
            officials = await start_calls(world, [pages[n] for n in sorted(calling)])

        # Baseline: one fresh page at a time on the healthy node B, from connect to waiting.
        single = []
        for k, token in enumerate(probe_tokens):
            probe = Page(f"probe{k}", token, hosts, 1)
            probe.start()
            assert await until(probe.ready.is_set, 30), "a fresh page did not reach the waiting room"
            single.append(probe.first_ready or float("nan"))
            await probe.stop()

        # And as many pages as the node will lose, losing their network and back on the same node.
        group = [pages[n] for n in on_a]
        began = now()
        for page in group:
            page.drop()
        assert await until(lambda: all(p.back_at is not None for p in group), 60), "baseline: not all back"
        baseline = [p.back_at - began for p in group if p.back_at is not None]
        baseline_all = max(baseline)
        await asyncio.sleep(1)

        before = await places(world, tokens)
        stayed = [pages[n] for n in range(citizens) if home[n] == 1]
        closes_before = {p.label: p.closes for p in stayed}
        killed_at = now()
        world.nodes[0].proc.kill()
        back = await until(lambda: all(p.back_at is not None and p.back_at > killed_at for p in group), 120)
        world.check("(a) every citizen of the killed node came back", back)
        killed = [p.back_at - killed_at for p in group if p.back_at is not None and p.back_at > killed_at]
        killed_all = max(killed) if killed else float("nan")
        noticed = max((p.closed_at or killed_at) - killed_at for p in group)
        refused = sum(sum(1 for t, n in p.tries if t > killed_at and n == 0) for p in group)
        on_b = [p.back_at - p.tries[-1][0] for p in group if p.back_at is not None and p.tries]
        call_pages = [pages[n] for n in sorted(calling)]
        calls_all = max((p.back_at - killed_at for p in call_pages if p.back_at), default=None)
        await asyncio.sleep(1)  # the officials hear of the comeback
        heard: Counter[str] = Counter()
        for official in officials:
            kinds = [m["type"] for at, m in official.heard if at > killed_at]
            heard.update(k for k in kinds if k.startswith("peer-"))
        after = await places(world, tokens)
        kept = sum(
            1
            for n in range(citizens)
            if before[n] == after[n] and after[n][0] == ("in_call" if n in calling else "waiting")
        )
        world.check("(a) every citizen kept their place (state, waiting_since)", kept == citizens)
        moved = sum(1 for p in group if p.connected_node == 1)
        world.check("(a) the killed node's pages are on the other node", moved == len(group))
        undisturbed = sum(1 for p in stayed if p.closes == closes_before[p.label] and p.ready.is_set())
        world.check("(a) the other node's pages were not disturbed", undisturbed == len(stayed))
        calls_back = sum(1 for p in call_pages if p.ready.is_set() and p.state == "in_call")
        world.check("(a) every call came back", calls_back == len(call_pages))
        present = await present_count(world, tokens)
        world.check("(a) the desk sees every citizen present", present == citizens)

        world.nodes[0].proc.start()  # the node comes back (a restart policy), for (b) and (c)
        node_back = await world.nodes[0].ready()
    finally:
        for official in officials:
            await official.stop()
        for page in pages:
            await page.stop()
    return NodeDeath(
        fresh,
        single,
        baseline_all,
        baseline,
        killed_all,
        killed,
        noticed,
        refused,
        on_b,
        calls_all,
        calls_back,
        heard,
        kept,
        citizens,
        moved,
        undisturbed,
        node_back,
    )


async def places(world: World, tokens: list[str]) -> list[tuple[str, dt.datetime | None, dt.datetime | None]]:
    """Each citizen's (state, waiting_since, the appointment's waiting_since), in token order."""
    hashes = [hash_token(t) for t in tokens]
    async with world.sessions() as db:
        rows = (
            await db.execute(
                select(
                    Participant.join_token_hash,
                    Participant.state,
                    Participant.waiting_since,
                    Appointment.waiting_since,
                )
                .join(Appointment, Appointment.id == Participant.appointment_id)
                .where(Participant.join_token_hash.in_(hashes))
            )
        ).all()
    found = {row[0]: (row[1], row[2], row[3]) for row in rows}
    return [found.get(h, ("missing", None, None)) for h in hashes]


async def present_count(world: World, tokens: list[str]) -> int:
    hashes = [hash_token(t) for t in tokens]
    async with world.sessions() as db:
        return int(
            await db.scalar(
                select(func.count())
                .select_from(Participant)
                .where(Participant.join_token_hash.in_(hashes), Participant.present_until > func.now())
            )
            or 0
        )


async def start_calls(world: World, call_pages: list[Page]) -> list[OfficialCall]:
    """An official signs in on node B, opens each call page there and admits each citizen."""
    node_b = world.nodes[1]
    async with httpx.AsyncClient(base_url=node_b.base, timeout=30) as client:
        await sign_in_official(client, OFFICIAL_SUBJECT)
        cookie = f"balie_session={client.cookies['balie_session']}"
    async with world.sessions() as db:
        official_id = await db.scalar(select(Official.id).where(Official.subject == OFFICIAL_SUBJECT))
        ids: dict[str, uuid.UUID] = {}
        for page in call_pages:
            found = await db.scalar(
                select(Participant.appointment_id).where(
                    Participant.join_token_hash == hash_token(page.token)
                )
            )
            assert found is not None
            ids[page.label] = found
    assert official_id is not None
    officials = [OfficialCall(node_b.host, ids[page.label], cookie) for page in call_pages]
    for official in officials:
        official.start()
    for official in officials:
        await asyncio.wait_for(official.welcomed.wait(), 15)
    plugin = channels_plugin(world.settings)
    async with plugin:
        live = HubPages(hub_for(world.settings, plugin))
        for page in call_pages:
            async with world.sessions() as db:
                appointment = await db.get(Appointment, ids[page.label])
                assert appointment is not None
                await calls.admit(db, live, appointment, official_id)
    assert await until(lambda: all(p.ready.is_set() for p in call_pages), 30), "the calls did not start"
    return officials


# -- (b) the database stops --------------------------------------------------------------------------


@dataclass
class Answer:
    kind: str  # page, slots, booking
    outcome: str  # the status code, or the exception's name when there was no answer
    retry_after: str | None
    content_type: str
    at: float


@dataclass
class Intent:
    email: str
    start: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    reference: str | None = None
    refused: str | None = None
    tries: int = 0


@dataclass
class DatabaseOutage:
    answers: list[Answer]
    stopped_at: float
    restarted_at: float
    stop_took: float
    start_took: float
    first_success: float | None
    first_booking: float | None
    booked: int
    intents: int
    lost: list[str]
    duplicated: list[str]
    unknown: list[str]
    unfinished: int
    server_errors: int
    without_retry_after: int


async def database_outage(world: World, seconds: float, clients: int) -> DatabaseOutage:
    starts = (await free_starts(world))[12:]  # an hour ahead and later: none passes during the drill
    answers: list[Answer] = []
    intents: list[Intent] = []
    stop_asking = asyncio.Event()

    async def ask(client: httpx.AsyncClient, kind: str, request: Any) -> httpx.Response | None:
        try:
            response: httpx.Response = await request
        except httpx.HTTPError as exc:
            answers.append(Answer(kind, type(exc).__name__, None, "", now()))
            return None
        answers.append(
            Answer(
                kind,
                str(response.status_code),
                response.headers.get("retry-after"),
                response.headers.get("content-type", ""),
                now(),
            )
        )
        return response

    async def visitor(number: int) -> None:
        async with httpx.AsyncClient(timeout=15) as client:
            intent: Intent | None = None
            turn = number
            while True:
                if intent is None:
                    if stop_asking.is_set():
                        return
                    n = len(intents)
                    intent = Intent(f"drill-b-{n}@example.nl", starts[n % len(starts)])
                    intents.append(intent)
                turn += 1
                client.base_url = httpx.URL(world.urls()[turn % 2])
                if turn % 2:
                    await ask(client, "page", client.get("/", headers={"Accept": "text/html"}))
                else:
                    await ask(client, "slots", client.get(f"/api/v1/services/{world.service_id}/slots"))
                intent.tries += 1
                response = await ask(
                    client, "booking", book(client, world, intent.start, intent.email, intent.key)
                )
                if response is not None and response.status_code == 201:
                    intent.reference, intent = response.json()["reference"], None
                elif response is not None and response.status_code not in (502, 503, 504):
                    intent.refused, intent = str(response.status_code), None
                elif intent.tries > 400:
                    intent = None  # given up (counted as unfinished)
                await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(visitor(n)) for n in range(clients)]
    try:
        await asyncio.sleep(2)
        began = now()
        await asyncio.to_thread(world.cluster.stop)  # pg_ctl -m fast -w: the loop runs on
        stopped_at = now()
        stop_took = stopped_at - began
        await asyncio.sleep(seconds)
        restarting_at = now()
        await asyncio.to_thread(world.cluster.start)
        restarted_at = now()
        start_took = restarted_at - restarting_at
        await until(lambda: any(a.at > restarted_at and a.outcome == "201" for a in answers), 60)
        await asyncio.sleep(2)
        stop_asking.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        stop_asking.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    by_email: dict[str, list[str]] = {}
    async with world.sessions() as db:
        for email, reference in await db.execute(
            select(Appointment.citizen_email, Appointment.reference).where(
                Appointment.citizen_email.like("drill-b-%")
            )
        ):
            by_email.setdefault(email, []).append(reference)
    lost = [i.email for i in intents if i.reference and i.reference not in by_email.get(i.email, [])]
    duplicated = [e for e, refs in by_email.items() if len(refs) > 1]
    told = {i.email for i in intents if i.reference}
    unknown = [e for e in by_email if e not in told]  # booked, but the client never heard it was
    unfinished = sum(1 for i in intents if i.reference is None and i.refused is None)
    after = [a for a in answers if a.at > restarting_at and a.outcome.startswith("2")]
    bookings_after = [a for a in after if a.kind == "booking"]
    server_errors = sum(1 for a in answers if a.outcome.startswith("5") and a.outcome != "503")
    without_retry = sum(1 for a in answers if a.outcome == "503" and not a.retry_after)
    world.check("(b) no 500 (or other 5xx than 503) during the outage", server_errors == 0)
    world.check("(b) every 503 has Retry-After", without_retry == 0)
    world.check("(b) no booking lost", not lost)
    world.check("(b) no booking duplicated", not duplicated)
    world.check("(b) no booking the client was not told of", not unknown)
    world.check("(b) every booking finished", unfinished == 0)
    return DatabaseOutage(
        answers,
        stopped_at,
        restarted_at,
        stop_took,
        start_took,
        min(a.at for a in after) - restarting_at if after else None,
        min(a.at for a in bookings_after) - restarting_at if bookings_after else None,
        sum(1 for i in intents if i.reference),
        len(intents),
        lost,
        duplicated,
        unknown,
        unfinished,
        server_errors,
        without_retry,
    )


# -- (c) the SMTP server stops -----------------------------------------------------------------------


@dataclass
class MailOutage:
    bookings: int
    booked: int
    before_stop: int
    confirmations: int
    received_once: int
    lost: list[str]
    duplicated: list[str]
    not_sent: int
    unexpected: int
    drained: float | None
    total_received: int


async def mail_outage(world: World, seconds: float, total: int) -> MailOutage:
    starts = (await free_starts(world))[12:]
    booked: list[str] = []
    ahead = max(1, total // 10)

    async def one(client: httpx.AsyncClient, n: int) -> None:
        email = f"drill-c-{n}@example.nl"
        client.base_url = httpx.URL(world.urls()[n % 2])
        response = await book(client, world, starts[(n * 7) % len(starts)], email, str(uuid.uuid4()))
        if response.status_code == 201:
            booked.append(email)

    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(ahead):  # some mail before the server goes
            await one(client, n)
        await until(lambda: all(mail_to(world, e) for e in booked), 30)
        await world.mailbox.astop()
        stopped_at = now()
        rest = list(range(ahead, total))
        pace = seconds * 0.8 / max(1, len(rest))
        for n in rest:  # the rest while it is away
            began = now()
            await one(client, n)
            await asyncio.sleep(max(0.0, pace - (now() - began)))
    await asyncio.sleep(max(0.0, seconds - (now() - stopped_at)))
    await world.mailbox.astart()
    back_at = now()

    async def due() -> int:
        async with world.sessions() as db:
            return int(
                await db.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.next_attempt_at <= func.now(),
                    )
                )
                or 0
            )

    drained: float | None = None
    deadline = now() + 300
    while now() < deadline:
        if await due() == 0 and all(mail_to(world, e) for e in booked):
            drained = now() - back_at
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1)  # anything sent twice would arrive now

    sender = world.settings.email.sender
    received = Counter(m.message_id.strip() for m in world.mailbox.messages())  # a folded header
    async with world.sessions() as db:
        rows = (
            await db.execute(
                select(
                    OutboxMessage.idempotency_key,
                    OutboxMessage.status,
                    OutboxMessage.recipient,
                    OutboxMessage.next_attempt_at,
                    OutboxMessage.kind,
                )
            )
        ).all()
    expected = {message_id_for(key, sender): (status, to) for key, status, to, _, _ in rows}
    sent_ids = [mid for mid, (status, _) in expected.items() if status == OutboxStatus.SENT]
    lost = [mid for mid in sent_ids if received[mid] == 0]
    duplicated = [mid for mid, count in received.items() if count > 1]
    wall = dt.datetime.now(dt.UTC)
    not_sent = sum(
        1
        for _key, status, _to, due_at, _kind in rows
        if status == OutboxStatus.FAILED or (status == OutboxStatus.PENDING and due_at <= wall)
    )
    unexpected = sum(count for mid, count in received.items() if mid not in expected)
    if lost or unexpected:  # show one of each, to see what does not match
        strange = next((mid for mid in received if mid not in expected), "")
        print(f"    e.g. sent per the outbox {lost[:1]}, received but not in the outbox {strange!r}")
    ours = set(booked)
    confirmations = [
        message_id_for(key, sender) for key, _, to, _, kind in rows if kind == "confirmation" and to in ours
    ]
    received_once = sum(1 for mid in confirmations if received[mid] == 1)
    world.check("(c) no email lost", not lost and not_sent == 0)
    world.check("(c) no email duplicated", not duplicated)
    world.check("(c) every booking's confirmation arrived once", received_once == len(booked) == total)
    world.check("(c) the outbox drained", drained is not None)
    return MailOutage(
        total,
        len(booked),
        ahead,
        len(confirmations),
        received_once,
        lost,
        duplicated,
        not_sent,
        unexpected,
        drained,
        sum(received.values()),
    )


# -- the report --------------------------------------------------------------------------------------


def log_findings(world: World) -> tuple[dict[str, int], int]:
    """Tracebacks per log (the worker's loops log theirs while the database is away) and the 500s
    in the nodes' access logs."""
    tracebacks: dict[str, int] = {}
    errors = 0
    for path in sorted(world.folder.glob("*.log")):
        text = path.read_text(errors="replace")
        tracebacks[path.stem] = text.count("Traceback")
        errors += sum(1 for line in text.splitlines() if '" 500' in line)
    return tracebacks, errors


def report_a(a: NodeDeath) -> None:
    print(f"(a) a node dies: {a.citizens} citizens waiting, half on each node")
    print(
        f"    {len(a.fresh)} fresh pages at once to waiting: p50 {pct(a.fresh, 0.5):.2f} s, "
        f"p95 {pct(a.fresh, 0.95):.2f} s"
    )
    print(
        f"    baseline: one fresh page alone on a healthy node, connect to waiting: "
        f"p50 {pct(a.single, 0.5) * 1000:.0f} ms ({len(a.single)} pages, one after the other)"
    )
    print(
        f"    {len(a.baseline)} pages lose their network and come back to their healthy node: "
        f"all in {a.baseline_all:.2f} s (p50 {pct(a.baseline, 0.5):.2f} s)"
    )
    print(
        f"    node A SIGKILLed: its {len(a.baseline)} pages waiting again on node B: "
        f"all in {a.killed_all:.2f} s (p50 {pct(a.killed, 0.5):.2f} s)"
    )
    print(
        f"      the close was noticed within {a.noticed * 1000:.0f} ms; {a.refused} attempt(s) at the dead "
        f"node refused; from the attempt at node B to waiting p50 {pct(a.on_b, 0.5) * 1000:.0f} ms, "
        f"max {max(a.on_b, default=float('nan')) * 1000:.0f} ms"
    )
    print(
        f"    places kept (state, waiting_since unchanged): {a.places_kept}/{a.citizens}; "
        f"moved to node B: {a.moved}; node B's pages undisturbed: {a.undisturbed}"
    )
    if a.calls_all is not None:
        heard = ", ".join(f"{k} x{v}" for k, v in sorted(a.official_heard.items())) or "nothing"
        print(
            f"    calls: {a.calls_back} back in_call, all in {a.calls_all:.2f} s; "
            f"the official (node B) heard: {heard}"
        )
    print(f"    node A restarted and ready in {a.node_back:.1f} s")


def report_b(b: DatabaseOutage, seconds: float) -> None:
    during = [x for x in b.answers if b.stopped_at <= x.at <= b.restarted_at]
    print(
        f"(b) the database stops for {seconds:g} s (stop took {b.stop_took:.1f} s, "
        f"start {b.start_took:.1f} s), {len(b.answers)} requests"
    )
    outcomes = Counter((x.kind, x.outcome) for x in b.answers)
    failed = [x for x in b.answers if not x.outcome.startswith(("2", "3", "4"))]
    away = [x for x in failed if x in during]
    print(f"    failed (5xx or no answer): {len(failed)}, {len(away)} of them while it was away")
    for (kind, outcome), count in sorted(outcomes.items()):
        print(f"      {kind:8} {outcome:16} {count:5}")
    kinds = Counter(x.content_type.split(";")[0] for x in b.answers if x.outcome == "503")
    print(f"    503s: Retry-After missing on {b.without_retry_after}; bodies {dict(kinds)}")
    print(f"    other 5xx: {b.server_errors}")
    print(
        f"    bookings: {b.booked} of {b.intents} got 201; lost {len(b.lost)}, duplicated "
        f"{len(b.duplicated)}, booked without the client knowing {len(b.unknown)}, unfinished {b.unfinished}"
    )
    first = "never" if b.first_success is None else f"{b.first_success:.2f} s"
    first_booking = "never" if b.first_booking is None else f"{b.first_booking:.2f} s"
    print(f"    first success after the restart began: {first} (a booking: {first_booking})")


def report_c(c: MailOutage, seconds: float) -> None:
    print(
        f"(c) the SMTP server stops for {seconds:g} s during {c.bookings} bookings "
        f"({c.before_stop} before it stopped)"
    )
    print(f"    booked {c.booked}; confirmations received exactly once {c.received_once}/{c.confirmations}")
    print(
        f"    emails lost {len(c.lost)} (sent per the outbox, not at the server), due and not sent "
        f"{c.not_sent}, duplicated {len(c.duplicated)}, unknown Message-IDs {c.unexpected}"
    )
    drained = "not within 300 s" if c.drained is None else f"{c.drained:.1f} s ({c.drained / 60:.2f} min)"
    print(f"    outbox drained after the server came back: {drained}")
    print(f"    {c.total_received} emails arrived in the whole run")


async def main(arguments: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="balie-drill-"))
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)  # clean up on a CI timeout too
    began = now()
    try:
        async with world(folder, desks=max(50, arguments.citizens)) as w:
            print(
                f"started in {now() - began:.1f} s: PostgreSQL :{w.cluster.port}, {w.redis_url}, "
                f"SMTP :{w.mailbox.port}, nodes {', '.join(n.host for n in w.nodes)}, one worker"
            )
            a = await node_death(w, arguments.citizens, arguments.calls)
            report_a(a)
            b = await database_outage(w, arguments.db_outage, clients=2)
            report_b(b, arguments.db_outage)
            c = await mail_outage(w, arguments.smtp_outage, arguments.bookings)
            report_c(c, arguments.smtp_outage)
            tracebacks, errors = log_findings(w)
            print(f"logs: tracebacks {tracebacks}, answers 500: {errors}")
            w.check("no 500 in the access logs", errors == 0)
            failed = [what for what, ok in w.checks if not ok]
            print("summary:")
            print(
                f"  node death: {len(a.killed)}/{len(a.baseline)} back in {a.killed_all:.2f} s, places "
                f"kept {a.places_kept}/{a.citizens}"
            )
            unavailable = sum(1 for x in b.answers if x.outcome == "503")
            print(
                f"  database away {arguments.db_outage:g} s: {unavailable} x 503, {b.server_errors} other "
                f"5xx, bookings lost {len(b.lost)} / duplicated {len(b.duplicated)}"
            )
            drained = "never" if c.drained is None else f"{c.drained:.1f} s"
            print(
                f"  SMTP away {arguments.smtp_outage:g} s: emails lost {len(c.lost) + c.not_sent} / "
                f"duplicated {len(c.duplicated)}, drained in {drained}"
            )
            single = pct(a.single, 0.5)
            ratio = a.killed_all / single if single > 0 else float("nan")
            print(
                f"ratio: after a SIGKILL every page is waiting again in {a.killed_all:.2f} s, {ratio:.1f}x "
                f"one fresh page's way into the waiting room on a healthy node ({single * 1000:.0f} ms)"
            )
            print("checks: all passed" if not failed else "FAILED: " + "; ".join(failed))
            return 1 if failed else 0
    finally:
        if task is not None:
            loop.remove_signal_handler(signal.SIGTERM)
        if arguments.keep:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=30, help="waiting citizens, half on each node")
    parser.add_argument("--calls", type=int, default=2, help="of the killed node's citizens, in a call")
    parser.add_argument("--db-outage", type=float, default=30.0, help="seconds the database is away")
    parser.add_argument("--smtp-outage", type=float, default=60.0, help="seconds the SMTP server is away")
    parser.add_argument("--bookings", type=int, default=200, help="bookings during the SMTP outage")
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    parser.add_argument("--quick", action="store_true", help="6 citizens, 3 s outages, 10 bookings")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.citizens, arguments.calls = 6, 1
        arguments.db_outage = arguments.smtp_outage = 3.0
        arguments.bookings = 10
    return arguments


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
