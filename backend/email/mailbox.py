"""``/dev/mailbox``: what the development SMTP sink received, like a tiny Mailpit.

Development only: the messages hold live join links. Every route answers 404 when the sink is not
running (the app's ``dev_mailbox`` dependency None or stopped), so registering the controller is
harmless.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.response import Template

from backend.email.dev_sink import DevMailbox, ReceivedMessage
from backend.security import EMAIL_FRAME_PAGE_CSP
from backend.timefmt import local
from backend.web import page

_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")

_PAGE_HEADERS = {"Content-Security-Policy": EMAIL_FRAME_PAGE_CSP, "Cache-Control": "no-store"}

# Headers for email HTML opened on its own: a sandboxed, script-free document with only inline styles.
_EMAIL_HTML_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def running_mailbox(dev_mailbox: DevMailbox | None) -> DevMailbox:
    if dev_mailbox is None or not dev_mailbox.running:
        raise NotFoundException()
    return dev_mailbox


def _message(mailbox: DevMailbox, message_id: str) -> ReceivedMessage:
    message = mailbox.get(message_id)
    if message is None:
        raise NotFoundException()
    return message


def _row(message: ReceivedMessage) -> dict[str, Any]:
    return {
        "message": message,
        "received": local(message.received_at).strftime("%d-%m-%Y %H:%M:%S"),
    }


def _page(request: Request[Any, Any, Any], mailbox: DevMailbox, selected: ReceivedMessage | None) -> Template:
    rows = [_row(m) for m in mailbox.messages()]
    return page(
        request,
        "pages/dev_mailbox.html",
        headers=_PAGE_HEADERS,
        rows=rows,
        selected=_row(selected) if selected else None,
    )


class DevMailboxController(Controller):
    path = "/dev/mailbox"
    include_in_schema = False
    dependencies = {"mailbox": Provide(running_mailbox, sync_to_thread=False)}

    @get("/", name="dev_mailbox:index")
    async def index(self, request: Request[Any, Any, Any], mailbox: DevMailbox) -> Template:
        return _page(request, mailbox, selected=None)

    @get("/messages.json", name="dev_mailbox:json")
    async def as_json(self, mailbox: DevMailbox) -> list[dict[str, Any]]:
        return [m.as_json() for m in mailbox.messages()]

    @get("/{message_id:str}", name="dev_mailbox:message")
    async def show(self, request: Request[Any, Any, Any], mailbox: DevMailbox, message_id: str) -> Template:
        return _page(request, mailbox, selected=_message(mailbox, message_id))

    @get("/{message_id:str}/html", name="dev_mailbox:html")
    async def html(self, mailbox: DevMailbox, message_id: str) -> Response[str]:
        message = _message(mailbox, message_id)
        return Response(message.html, media_type="text/html", headers=_EMAIL_HTML_HEADERS)

    @get("/{message_id:str}/attachments/{index:int}", name="dev_mailbox:attachment")
    async def attachment(self, mailbox: DevMailbox, message_id: str, index: int) -> Response[bytes]:
        attachments = _message(mailbox, message_id).attachments
        if not 0 <= index < len(attachments):
            raise NotFoundException()
        item = attachments[index]
        filename = _SAFE_FILENAME.sub("_", item.filename) or f"attachment-{index}"
        return Response(
            item.content,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
