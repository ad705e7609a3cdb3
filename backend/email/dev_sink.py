"""A development SMTP server on loopback that keeps the last messages in memory.

The outbox worker sends to it like to any SMTP server; ``/dev/mailbox`` shows what arrived. Nothing is
relayed anywhere. It runs aiosmtpd in its own thread, so reading the messages takes a lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from backend.clock import Clock, system_clock
from backend.settings import EmailSettings

DEFAULT_KEEP = 200


@dataclass(frozen=True)
class ReceivedAttachment:
    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class ReceivedMessage:
    id: str
    mail_from: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    attachments: tuple[ReceivedAttachment, ...]
    received_at: dt.datetime
    message_id: str
    raw: bytes = field(repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.mail_from,
            "to": list(self.to),
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "received_at": self.received_at.isoformat(),
            "message_id": self.message_id,
            "attachments": [
                {"filename": item.filename, "content_type": item.content_type} for item in self.attachments
            ],
        }


def parse(raw: bytes, recipients: list[str], received_at: dt.datetime) -> ReceivedMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    return ReceivedMessage(
        id=secrets.token_hex(6),
        mail_from=str(parsed["From"] or ""),
        to=tuple(recipients),
        subject=str(parsed["Subject"] or ""),
        text=_body(parsed, "plain"),
        html=_body(parsed, "html"),
        attachments=tuple(
            ReceivedAttachment(
                filename=part.get_filename() or "",
                content_type=part.get_content_type(),
                content=_payload(part),
            )
            for part in parsed.iter_attachments()
            if isinstance(part, EmailMessage)
        ),
        received_at=received_at,
        message_id=str(parsed["Message-ID"] or ""),
        raw=raw,
    )


def _payload(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


class DevMailbox:
    """SMTP sink + in-memory store (newest first). ``start()``/``stop()`` run the server thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = EmailSettings.smtp_port,
        server_hostname: str = EmailSettings.local_hostname,
        keep: int = DEFAULT_KEEP,
        clock: Clock = system_clock,
    ) -> None:
        self.host = host
        self._clock = clock
        self.port = port
        self._messages: deque[ReceivedMessage] = deque(maxlen=keep)
        self._server_hostname = server_hostname
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # aiosmtpd handler hook, called in the server thread.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        now = self._clock()
        try:
            received = parse(raw, list(envelope.rcpt_tos), now)
        except Exception:  # a sink keeps what it got, even when it cannot read it
            received = ReceivedMessage(
                id=secrets.token_hex(6),
                mail_from=str(envelope.mail_from or ""),
                to=tuple(envelope.rcpt_tos),
                subject="(unreadable message)",
                text=raw.decode("utf-8", "replace"),
                html="",
                attachments=(),
                received_at=now,
                message_id="",
                raw=raw,
            )
        with self._lock:
            self._messages.appendleft(received)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        """Listen (blocks until the server thread is ready); raises when the port is taken."""
        if self._controller is not None:
            return
        # server_hostname: without it aiosmtpd calls getfqdn() for every connection (slow here).
        controller = Controller(
            self, hostname=self.host, port=self.port, server_hostname=self._server_hostname
        )
        try:
            controller.start()
        except BaseException:
            if not controller.loop.is_closed():
                controller.loop.close()  # aiosmtpd leaves it open when binding fails
            raise
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    def get(self, message_id: str) -> ReceivedMessage | None:
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
