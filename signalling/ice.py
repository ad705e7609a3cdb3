"""ICE servers for a page: the configured STUN list plus time-limited TURN credentials.

TURN REST scheme (coturn ``--use-auth-secret``): the username is ``<unix expiry>:<id>`` and the
credential ``base64(HMAC-SHA1(secret, username))``, so coturn checks them without asking us. Only
peers that may send media get them: admitted participants, the official's call page and device
check sessions, each for at most the length of what they take part in (docs/adr/0007).

coturn checks the expiry when a relay is allocated, not while it is in use: a call that runs over
keeps its relay. Sockets hand out fresh credentials on every (re)connect and again halfway through
their lifetime, so an ICE restart late in a long call still finds valid ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from backend.settings import SignallingSettings

MIN_LIFETIME: Final = dt.timedelta(minutes=1)
Purpose = Literal["call", "check"]


@dataclass(frozen=True, slots=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: dt.datetime


def turn_credential(secret: str, user: str, expires_at: dt.datetime) -> TurnCredential:
    """The TURN REST credential for ``user`` that coturn accepts until ``expires_at``."""
    username = f"{int(expires_at.timestamp())}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires_at)


def call_lifetime(start_at: dt.datetime, end_at: dt.datetime) -> dt.timedelta:
    """How long credentials for a call last: the appointment's length (at least a minute)."""
    return max(end_at - start_at, MIN_LIFETIME)


def ice_servers(
    settings: SignallingSettings,
    *,
    purpose: Purpose | None,
    lifetime: dt.timedelta = MIN_LIFETIME,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The configured servers, plus TURN with credentials for ``lifetime`` when ``purpose`` is set.

    ``purpose`` None is for pages that send no media (the waiting room, the desk): they get the
    configured list only. The id in the username is random, so coturn's logs name no one; its
    prefix (``call``/``check``) tells operators what the relay was for.
    """
    servers = [dict(server) for server in settings.ice_servers]
    if purpose is None or not settings.turn_urls or not settings.turn_secret:
        return servers
    expires_at = now + min(lifetime, dt.timedelta(days=1))
    issued = turn_credential(settings.turn_secret.reveal(), f"{purpose}-{secrets.token_hex(6)}", expires_at)
    servers.append(
        {"urls": list(settings.turn_urls), "username": issued.username, "credential": issued.credential}
    )
    return servers


def refresh_after(lifetime: dt.timedelta) -> float:
    """Seconds after which a socket sends its page fresh credentials: halfway through."""
    return max(lifetime.total_seconds() / 2, MIN_LIFETIME.total_seconds() / 2)


def stun_only(servers: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Only the STUN URLs of ``servers`` (for the server's own echo peer, which needs no relay)."""
    result = []
    for server in servers:
        urls = server.get("urls")
        items = [urls] if isinstance(urls, str) else list(urls or [])
        stun = [url for url in items if isinstance(url, str) and url.startswith(("stun:", "stuns:"))]
        if stun:
            result.append({"urls": stun})
    return result
