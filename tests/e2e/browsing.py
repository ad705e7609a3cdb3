"""Helpers for the browser tests: the app server and Chromium in one loopback-only network namespace.

Everything Chromium does (pages, API calls through ``fetch``, WebRTC) stays inside the namespace.
The test process drives Chromium over Playwright's pipe and reads the SQLite file directly.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.e2e.netns import Namespace
from tests.e2e.test_browser_call import CHROMIUM_ARGS
from tests.live import prepare_database, server_env, start_server, stop
from tests.support import free_port

REMOTE_VIDEOS_PLAYING = """(count) => [...document.querySelectorAll('video[data-peer-id]')]
    .filter(v => v.videoWidth > 0 && v.readyState >= 2 && v.currentTime > 0).length >= count"""


@dataclass
class Site:
    """``balie run`` in the namespace (SQLite, development mailbox) and a Chromium to visit it."""

    namespace: Namespace
    workdir: Path
    database_url: str = ""
    service_id: str = ""
    port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    browser: Browser | None = None
    contexts: list[BrowserContext] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    """More settings for the server (e.g. an external identity provider)."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def env(self) -> dict[str, str]:
        return server_env(
            self.workdir,
            self.port,
            self.database_url,
            smtp_port=self.smtp_port,
            extra={"BALIE_DEV_MAILBOX": "true", "BALIE_ICE_HOST_ADDRESSES": "127.0.0.1", **self.extra_env},
        )

    def start_server(self) -> None:
        # The same port and database each time: a restart is what an operator's deploy does.
        self.server = start_server(self.env(), self.port, self.log, prefix=self.namespace.prefix())

    def stop_server(self) -> None:
        if self.server is not None:
            stop(self.server)
            self.server = None

    async def page(self, name: str) -> Page:
        assert self.browser is not None
        context = await self.browser.new_context(
            permissions=["camera", "microphone"], base_url=self.base_url, locale="nl-NL"
        )
        self.contexts.append(context)
        page = await context.new_page()
        page.on(
            "console",
            lambda m: (
                self.console.append(f"{name} {m.type}: {m.text}") if m.type in ("error", "warning") else None
            ),
        )
        page.on("pageerror", lambda e: self.console.append(f"{name} pageerror: {e}"))
        return page

    async def wait_until_up(self, page: Page) -> None:
        for _ in range(150):
            try:
                response = await page.goto(f"{self.base_url}/healthz")
                if response is not None and response.ok:
                    return
            except Exception:  # not listening yet
                pass
            await page.wait_for_timeout(200)
        raise AssertionError(f"server in the namespace did not come up:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def state_of(self) -> str:
        console = "\n".join(self.console[-30:])
        return f"\nconsole:\n{console}\nserver log:\n{self.log_tail()}"


@asynccontextmanager
async def site(
    namespace: Namespace,
    workdir: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
    **agenda: Any,
) -> AsyncIterator[Site]:
    place = Site(namespace, workdir, extra_env=dict(env or {}))
    if port is not None:
        place.port = port
    place.database_url = f"sqlite+aiosqlite:///{workdir / 'browser.db'}"
    place.service_id = await prepare_database(place.database_url, **agenda)
    place.start_server()
    try:
        async with async_playwright() as playwright:
            place.browser = await playwright.chromium.launch(
                executable_path=str(namespace.chromium), args=CHROMIUM_ARGS
            )
            try:
                yield place
            finally:
                await place.browser.close()
    finally:
        place.stop_server()


async def book(page: Page, service_id: str, name: str, email: str) -> dict[str, Any]:
    """Book the first free slot through the JSON API, from inside the browser (the namespace)."""
    if not page.url.startswith("http"):
        await page.goto("/healthz")  # fetch needs a page on the app's origin
    result: dict[str, Any] = await page.evaluate(
        """async ([serviceId, name, email]) => {
            const slots = await (await fetch(`/api/v1/services/${serviceId}/slots`)).json();
            const response = await fetch("/api/v1/appointments", {
                method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({service_id: serviceId, start: slots[0].start, citizen: {name, email}}),
            });
            return {status: response.status, body: await response.json()};
        }""",
        [service_id, name, email],
    )
    assert result["status"] == 201, result
    return dict(result["body"])


async def mailed_link(page: Page, email: str, subject_part: str = "") -> str:
    """The join link of the newest mail to ``email`` in the development mailbox."""
    for _ in range(100):
        await page.goto("/dev/mailbox/messages.json")
        for message in reversed(json.loads(await page.inner_text("body"))):
            if email in message["to"] and subject_part in message["subject"]:
                link = re.search(r"https?://\S+/j/[A-Za-z0-9_-]+", message["text"])
                assert link, "the email has no join link"
                return link.group(0)
        await page.wait_for_timeout(200)
    raise AssertionError(f"no email to {email} arrived in the development mailbox")


async def into_waiting_room(page: Page, link: str) -> None:
    await page.goto(link)
    await page.click("button[data-action=start]")
    await page.wait_for_selector("button[data-action=enter]:visible", timeout=15_000)
    await page.click("button[data-action=enter]")
    await page.wait_for_selector("[data-view=waiting]:visible", timeout=15_000)


async def sign_in(page: Page, subject: str = "official-testgemeente") -> None:
    """Sign in at the desk through the development identity provider, as the test official."""
    await page.goto("/balie/inloggen")
    await page.click("a[data-action=sign-in]")
    await page.wait_for_url(re.compile(r"/dev/idp/authorize"))
    await page.check(f"input[data-official={subject}]")
    await page.click("button[data-action=sign-in]")
    await page.wait_for_selector("[data-desk]")


async def debug_state(page: Page) -> str:
    state = await page.evaluate(
        """() => JSON.stringify({
            ...(window.__balie ?? {}),
            peers: window.__balie?.peers?.(),
            events: window.__balie?.events?.().slice(-20),
        })"""
    )
    return str(state)
