"""A real server on a loopback port (``balie run`` in a subprocess), and clients that use it like
people do."""

from __future__ import annotations

import asyncio
import html
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.email.dev_sink import DevMailbox, ReceivedMessage
from backend.settings import DatabaseSettings
from tests.support import die_with_parent, free_port, seed_agenda

LIVE_SECRET = "live-test-secret-key-0123456789"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
JOIN_LINK = re.compile(r"https?://[^\s\"'<>]+/j/([A-Za-z0-9_-]{20,})")


@dataclass
class LiveServer:
    base_url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    service_id: str
    mailbox: DevMailbox | None
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def server_env(
    tmp_path: Path, port: int, database_url: str, smtp_port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    env.update(
        {
            "BALIE_ENV": "development",
            "BALIE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "BALIE_SECRET_KEY": LIVE_SECRET,
            "BALIE_DATA_DIR": str(tmp_path),
            "BALIE_DATABASE_URL": database_url,
            "BALIE_DEMO_DATA": "false",
            "BALIE_DEV_MAILBOX": "false",
            "BALIE_SMTP_PORT": str(smtp_port),
            "BALIE_WORKER_POLL_SECONDS": "0.2",
            "BALIE_RATE_LIMIT_PER_MINUTE": "0",
            # The test agenda is open all day, but its last slot ends at 23:40 (closing 23:55): near
            # midnight the first free slot is up to 40 minutes away. Links open an hour ahead, so
            # a test that books the first slot can join at any hour.
            "BALIE_JOIN_OPENS_MINUTES_BEFORE": "60",
        }
    )
    env.update(extra or {})
    return env


async def prepare_database(database_url: str, **agenda: Any) -> str:
    engine = create_engine(DatabaseSettings(url=database_url))
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            service = await seed_agenda(session, **agenda)
            return str(service.id)
    finally:
        await engine.dispose()


def start_server(
    env: dict[str, str], port: int, log_path: Path, prefix: list[str] | None = None
) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    command = [
        *(prefix or []),
        sys.executable,
        "-m",
        "backend.cli",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
    )


async def wait_until_up(
    base_url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                if (await client.get(f"{base_url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"server did not answer /healthz within {timeout}s:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def live_server(
    tmp_path: Path, *, env: Mapping[str, str] | None = None, database_url: str | None = None, **agenda: Any
) -> AsyncIterator[LiveServer]:
    """Seed a database (SQLite unless ``database_url`` says otherwise), start a real SMTP sink and
    ``balie run`` on free loopback ports."""
    database_url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    service_id = await prepare_database(database_url, **agenda)
    mailbox = DevMailbox(port=free_port())
    await mailbox.astart()
    port = free_port()
    log_path = tmp_path / "server.log"
    process = start_server(server_env(tmp_path, port, database_url, mailbox.port, env), port, log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_up(base_url, process, log_path)
        yield LiveServer(base_url, f"ws://127.0.0.1:{port}", process, service_id, mailbox, log_path)
    finally:
        stop(process)
        await mailbox.astop()


async def wait_for_mail(mailbox: DevMailbox, to: str, timeout: float = 15) -> ReceivedMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mailbox.messages():
            if to in message.to:
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email to {to} within {timeout}s (outbox worker running? SMTP port right?)")


def join_token_from(message: ReceivedMessage) -> str:
    found = JOIN_LINK.search(message.text) or JOIN_LINK.search(message.html)
    assert found, "the email has no join link"
    return found.group(1)


async def book_first_slot(
    client: httpx.AsyncClient, service_id: str, email: str, name: str = "Sanne de Boer"
) -> dict[str, Any]:
    slots = (await client.get(f"/api/v1/services/{service_id}/slots")).json()
    assert slots, "no free slot offered"
    response = await client.post(
        "/api/v1/appointments",
        json={
            "service_id": service_id,
            "start": slots[0]["start"],
            "citizen": {"name": name, "email": email},
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, data: Mapping[str, str] | None = None
) -> httpx.Response:
    """Open ``page_path`` (which sets the CSRF cookie and field), then submit ``action`` like a browser."""
    page = await client.get(page_path)
    token = CSRF_FIELD.search(page.text)
    assert token, f"no CSRF field on {page_path} ({page.status_code})"
    return await client.post(action, data={"_csrf_token": token.group(1), **(data or {})})


async def follow_link(
    client: httpx.AsyncClient, page_path: str, action: str, query: Mapping[str, str] | None = None
) -> httpx.Response:
    """Open ``page_path`` and follow its link marked ``data-action="{action}"``, like a browser."""
    page = await client.get(page_path)
    link = re.search(rf'<a\b[^>]*\bhref="([^"]+)"[^>]*\bdata-action="{re.escape(action)}"', page.text)
    assert link, f"no {action} link on {page_path} ({page.status_code})"
    url = html.unescape(link.group(1))
    if query:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
    return await client.get(url)


async def through_dev_provider(
    client: httpx.AsyncClient, started: httpx.Response, choice: Mapping[str, str]
) -> str:
    """Follow a sign-in the app started (``started``: its 303 to the provider) through the development
    provider's authorize page, choosing ``choice``; returns the app's callback URL the provider sent back."""
    assert started.status_code == 303, started.text[:500]
    authorize = started.headers["location"]
    page = await client.get(authorize)
    token = CSRF_FIELD.search(page.text)
    assert page.status_code == 200 and token, f"no authorize page at {authorize}: {page.status_code}"
    answer = await client.post(authorize, data={"_csrf_token": token.group(1), **choice})
    assert answer.status_code == 302, answer.text[:500]
    return str(answer.headers["location"])


async def sign_in_official(client: httpx.AsyncClient, subject: str) -> None:
    """Sign in at /balie/inloggen as ``subject`` through the development identity provider."""
    started = await follow_link(client, "/balie/inloggen", "sign-in")
    callback = await through_dev_provider(client, started, {"sub": subject})
    response = await client.get(callback)
    assert response.status_code == 303 and response.headers["location"] == "/balie", response.text[:500]


async def identify_citizen(
    client: httpx.AsyncClient, join_token: str, *, bsn: str = "999993653", level: str = "midden"
) -> httpx.Response:
    """DigiD from the join page through the development provider; returns the app's last answer."""
    started = await follow_link(client, f"/j/{join_token}", "digid")
    callback = await through_dev_provider(client, started, {"bsn": bsn, "level": level})
    return await client.get(callback)


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())
