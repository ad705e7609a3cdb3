"""One signalling WebSocket: framing, errors, heartbeats and close codes (docs/signalling.md).

Everything that can go wrong with a single socket ends here, with an ``error`` and, when the socket
cannot be trusted any more, a close code; nothing raises into the caller, so one bad socket never
affects another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from litestar.connection import WebSocket
from litestar.exceptions import WebSocketDisconnect

from backend.clock import Clock, system_clock
from backend.settings import SignallingSettings
from signalling import protocol
from signalling.protocol import ClientMessage, ErrorCode, Hello, Ping, ProtocolError

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_NORMAL: Final = 1000
CLOSE_TOO_LARGE: Final = 1009
CLOSE_BAD_MESSAGE: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403
CLOSE_NOT_FOUND: Final = 4404
CLOSE_TIMEOUT: Final = 4408
CLOSE_TAKEN: Final = 4409
CLOSE_RESTARTING: Final = 4503
"""This app node shuts down: the page reconnects at once (after a short random wait), backoff reset."""
CLOSE_SERVER_ERROR: Final = 1011
BAD_MESSAGES_IN_A_ROW: Final = 5


class Connection:
    """An accepted socket with a random id (the ``origin`` of what it publishes)."""

    def __init__(
        self, socket: WebSocket[Any, Any, Any], settings: SignallingSettings, *, clock: Clock = system_clock
    ) -> None:
        self.socket = socket
        self.settings = settings
        self.clock = clock
        """The app's clock (backend/clock.py): what this socket stamps and checks windows by."""
        self.id = secrets.token_hex(8)
        self.closed = asyncio.Event()
        """Set when no more I/O is possible (the peer went away or we closed)."""
        self.stopping = asyncio.Event()
        """Set by :meth:`finish`: the handler stops reading and closes with ``close_code``."""
        self.close_code = CLOSE_NORMAL
        self._send_lock = asyncio.Lock()
        self._bad_in_a_row = 0

    async def accept(self) -> None:
        await self.socket.accept()

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message; a socket that is gone is simply marked closed."""
        if self.closed.is_set():
            return
        async with self._send_lock:
            try:
                await self.socket.send_text(protocol.dump(message))
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.closed.set()

    async def error(self, code: ErrorCode, message: str) -> None:
        await self.send(protocol.error(code, message))

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.socket.close(code=code, reason=reason)

    def finish(self, code: int = CLOSE_NORMAL) -> None:
        """Ask the handler to stop and close with ``code`` (safe from the event pump)."""
        self.close_code = code
        self.stopping.set()

    def same_origin(self, public_url: str) -> bool:
        """Whether a browser opened this socket from our own pages (cross-site WebSocket hijacking).

        Sockets that authenticate with the session cookie must check this: a page on another site
        can open a WebSocket to us and the browser sends our cookie along. A client without an
        ``Origin`` header is not a browser and cannot carry someone else's cookie.
        """
        origin = self.socket.headers.get("origin")
        if origin is None:
            return True
        origin = origin.lower().rstrip("/")
        public = urlsplit(public_url)
        host = self.socket.headers.get("host", "").lower()
        return origin == f"{public.scheme}://{public.netloc}".lower() or urlsplit(origin).netloc == host

    async def refuse(self, code: ErrorCode, message: str, close_code: int) -> None:
        """Answer with an ``error`` and close: the socket cannot go on."""
        await self.error(code, message)
        await self.close(close_code, code)

    async def hello(self) -> Hello | None:
        """The first message, which must be ``hello`` within the hello timeout; None if refused."""
        deadline = asyncio.get_running_loop().time() + self.settings.hello_timeout_seconds
        while not self.closed.is_set():
            message = await self._next("no hello in time", deadline)
            if message is None:
                return None
            if isinstance(message, Hello):
                return message
            if not isinstance(message, Ping):
                await self.refuse("unauthorized", "the first message must be hello", CLOSE_UNAUTHORIZED)
                return None
            await self.send(protocol.pong())
        return None

    async def messages(self) -> AsyncIterator[ClientMessage]:
        """Valid messages until the socket closes; answers ``ping`` itself."""
        while not (self.closed.is_set() or self.stopping.is_set()):
            message = await self._next("silent for too long")
            if message is None:
                return
            if isinstance(message, Ping):
                await self.send(protocol.pong())
                continue
            yield message

    async def _next(self, timeout_message: str, deadline: float | None = None) -> ClientMessage | None:
        """The next valid message before ``deadline`` (default: the idle timeout from now on)."""
        loop = asyncio.get_running_loop()
        while not (self.closed.is_set() or self.stopping.is_set()):
            until = loop.time() + self.settings.idle_timeout_seconds if deadline is None else deadline
            raw = await self._receive(until)
            if raw is None:
                if not (self.closed.is_set() or self.stopping.is_set()):
                    await self.refuse("timeout", timeout_message, CLOSE_TIMEOUT)
                return None
            try:
                message = protocol.parse_client_message(raw, self.settings.max_message_bytes)
            except ProtocolError as exc:
                await self._bad(exc)
                continue
            self._bad_in_a_row = 0
            return message
        return None

    async def _bad(self, exc: ProtocolError) -> None:
        if exc.code == "too_large":
            await self.refuse("too_large", exc.message, CLOSE_TOO_LARGE)
            return
        self._bad_in_a_row += 1
        if self._bad_in_a_row >= BAD_MESSAGES_IN_A_ROW:
            await self.refuse(exc.code, exc.message, CLOSE_BAD_MESSAGE)
        else:
            await self.error(exc.code, exc.message)

    async def _receive(self, deadline: float) -> str | bytes | None:
        """The next frame; None at ``deadline``. Marks the socket closed when it goes away."""
        wait = max(deadline - asyncio.get_running_loop().time(), 0)
        receive = asyncio.ensure_future(self.socket.receive())
        closing = asyncio.ensure_future(self.stopping.wait())
        try:
            done, _ = await asyncio.wait({receive, closing}, timeout=wait, return_when="FIRST_COMPLETED")
        finally:
            for task in (receive, closing):
                task.cancel()
        if receive not in done:
            return None
        try:
            event = receive.result()
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed.set()
            return None
        if event["type"] == "websocket.disconnect":
            self.closed.set()
            return None
        text = event.get("text")
        if isinstance(text, str):
            return text
        data = event.get("bytes")
        return bytes(data) if isinstance(data, bytes | bytearray) else b""


async def unbroken(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` (a short database read) to its end even if the caller is cancelled meanwhile.

    Background tasks of a socket are cancelled when it closes. A database session cancelled in the
    middle of a query may not give its connection back cleanly, and on SQLite that connection then
    keeps the write lock (every transaction begins IMMEDIATE): every other request waits for it.
    """
    task = asyncio.ensure_future(work)
    task.add_done_callback(_forget_outcome)
    return await asyncio.shield(task)


def _forget_outcome(task: asyncio.Task[Any]) -> None:
    # The caller may be gone: retrieve the exception so asyncio does not report it as never seen.
    if not task.cancelled() and task.exception() is not None:
        log.debug("background read failed after its socket closed", exc_info=task.exception())
