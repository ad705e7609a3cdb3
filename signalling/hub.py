"""Fan-out of live events between sockets and app nodes over Litestar's channels plugin.

Every event travels in an :class:`Envelope` ``{origin, to, event}`` on a channel per appointment
(``appt.<hex>``) or per team (``team.<hex>``). A socket listens with :meth:`Hub.listen`, which drops
the envelopes the socket sent itself (``origin``) and those addressed to another peer (``to``).

PostgreSQL NOTIFY payloads must stay under 8000 bytes and an SDP offer is about 6 KB, so on that
backend the hub packs large envelopes with :func:`pack_frames` (zlib + base64, then numbered parts)
and every listener joins them again with a :class:`Reassembler`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend

from backend.settings import Settings
from signalling.chunking import FRAME_LIMIT, Reassembler, pack_frames

log = logging.getLogger(__name__)

SERVER_ORIGIN: Final = "server"
"""Origin of events published outside a socket (HTTP handlers, the worker)."""


def appointment_channel(appointment_id: UUID) -> str:
    return f"appt.{appointment_id.hex}"


def team_channel(team_id: UUID) -> str:
    return f"team.{team_id.hex}"


@dataclass(frozen=True, slots=True)
class Envelope:
    origin: str
    to: str | None
    event: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"origin": self.origin, "to": self.to, "event": self.event}, separators=(",", ":"))

    @classmethod
    def load(cls, raw: str) -> Envelope:
        value = json.loads(raw)
        if not isinstance(value, dict) or not isinstance(value.get("event"), dict):
            raise ValueError("not an envelope")
        origin, to = value.get("origin"), value.get("to")
        if not isinstance(origin, str) or not (to is None or isinstance(to, str)):
            raise ValueError("not an envelope")
        return cls(origin=origin, to=to, event=value["event"])


Deliver = Callable[[Envelope], Awaitable[None]]


def postgres_dsn(settings: Settings) -> str:
    """The libpq DSN for LISTEN/NOTIFY: the configured one, or the database URL without its driver."""
    if settings.channels.postgres_dsn:
        return settings.channels.postgres_dsn
    url = settings.database.url
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError(
            "BALIE_CHANNELS=postgres needs a PostgreSQL database URL or BALIE_CHANNELS_POSTGRES_DSN"
        )
    return f"postgresql://{rest}"


def _backend(settings: Settings) -> ChannelsBackend:
    kind = settings.channels.backend
    if kind == "redis":
        return _redis_backend(settings.channels.redis_url)
    if kind == "postgres":
        return _postgres_backend(postgres_dsn(settings))
    from litestar.channels.backends.memory import MemoryChannelsBackend

    return MemoryChannelsBackend()


def _redis_backend(url: str) -> ChannelsBackend:
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend
    from redis.asyncio import Redis

    class PubSubBackend(RedisChannelsPubSubBackend):
        """Closes its Redis client at shutdown too (Litestar closes only the pub/sub connection)."""

        async def on_shutdown(self) -> None:
            await super().on_shutdown()
            await self._redis.aclose()

        async def ping(self) -> None:
            await self._redis.ping()

    return PubSubBackend(redis=Redis.from_url(url))


LISTEN_RECHECK_SECONDS: Final = 1.0
"""How often the PostgreSQL backend looks whether its listening connection is still there."""
LISTEN_RETRY_MAX_SECONDS: Final = 5.0


def _postgres_backend(dsn: str) -> ChannelsBackend:
    import asyncpg
    from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

    class ListenBackend(AsyncPgChannelsBackend):
        """Litestar's LISTEN/NOTIFY backend, which never opens its listening connection again once
        the database dropped it (a restart, a failover): the node would hear no events until it
        restarted. A watch opens it again, with every channel listened to before, as soon as the
        database answers; :meth:`ping` (``/readyz``) fails until then."""

        async def on_startup(self) -> None:
            await super().on_startup()
            self._watch = asyncio.create_task(self._keep_listening())

        async def on_shutdown(self) -> None:
            self._watch.cancel()
            with suppress(asyncio.CancelledError):
                await self._watch
            with suppress(Exception):  # it may be gone with the database
                await super().on_shutdown()

        async def _keep_listening(self) -> None:
            wait = LISTEN_RECHECK_SECONDS
            while True:
                await asyncio.sleep(wait)
                if not self._listener_conn.is_closed():
                    wait = LISTEN_RECHECK_SECONDS
                    continue
                try:
                    connection = await self._connect()
                except (TimeoutError, OSError, asyncpg.PostgresError):
                    wait = min(wait * 2, LISTEN_RETRY_MAX_SECONDS)  # still away
                    continue
                async with self._listener_lock:
                    for channel in self._subscribed_channels:
                        await connection.add_listener(channel, self._listener)
                    self._listener_conn = connection
                log.warning("channels listening again (%d channels)", len(self._subscribed_channels))
                wait = LISTEN_RECHECK_SECONDS

        async def ping(self) -> None:
            async with self._listener_lock:
                if self._listener_conn.is_closed():
                    raise ConnectionError("the listening connection is closed")
                await self._listener_conn.fetchval("SELECT 1")

    return ListenBackend(dsn=dsn)


class LiveChannels(ChannelsPlugin):
    """Litestar's channels plugin, forgetting a channel once its last subscriber has left.

    The plugin keeps an (empty) subscriber set for every channel it ever saw; with one channel per
    appointment that would grow without end on a long-running node.
    """

    async def unsubscribe(self, subscriber: Subscriber, channels: str | Iterable[str] | None = None) -> None:
        await super().unsubscribe(subscriber, channels)
        for channel in [name for name, subscribers in self._channels.items() if not subscribers]:
            del self._channels[channel]

    async def ping(self) -> None:
        """Raises when this node cannot hear events: its listening task ended, or the backend
        does not answer (Redis PING, a query on PostgreSQL's listening connection; memory always
        answers). For ``/readyz`` (backend/health.py)."""
        if self._sub_task is None or self._sub_task.done():
            raise ConnectionError("the channels plugin no longer listens")
        ping = getattr(self._backend, "ping", None)
        if ping is not None:
            await ping()


def channels_plugin(settings: Settings) -> LiveChannels:
    """The channels plugin for ``BALIE_CHANNELS``: memory, Redis pub/sub or PostgreSQL LISTEN/NOTIFY."""
    return LiveChannels(backend=_backend(settings), arbitrary_channels_allowed=True)


def hub_for(settings: Settings, plugin: ChannelsPlugin) -> Hub:
    """The hub over ``plugin``: on PostgreSQL (``BALIE_CHANNELS=postgres``) it packs large envelopes."""
    return Hub(plugin, frame_limit=FRAME_LIMIT if settings.channels.backend == "postgres" else None)


class Hub:
    """Publishes envelopes and runs per-socket subscriptions on one :class:`ChannelsPlugin`.

    ``frame_limit`` (bytes) turns on packing (:func:`hub_for` sets it for PostgreSQL); None: none.
    """

    def __init__(self, plugin: ChannelsPlugin, *, frame_limit: int | None = None) -> None:
        self.plugin = plugin
        self.frame_limit = frame_limit

    async def publish(self, channel: str, envelope: Envelope) -> bool:
        """Send ``envelope`` to every listener of ``channel`` on every node.

        Returns False (and logs) when the channels backend fails: the database stays the source of
        truth, and pages get the current state back when they reconnect.
        """
        raw = envelope.dump()
        frames = [raw] if self.frame_limit is None else pack_frames(raw, self.frame_limit)
        try:
            for frame in frames:  # in order: parts of one envelope go out one after the other
                await self.plugin.wait_published(frame, channel)
        except Exception:  # any backend error: Redis or PostgreSQL away for a while
            log.warning("publish to %s failed", channel, exc_info=True)
            return False
        return True

    async def emit(
        self, channel: str, event: dict[str, Any], *, to: str | None = None, origin: str = SERVER_ORIGIN
    ) -> bool:
        return await self.publish(channel, Envelope(origin=origin, to=to, event=event))

    @asynccontextmanager
    async def listen(
        self, channels: Sequence[str], deliver: Deliver, *, origin: str, peer_id: str | None = None
    ) -> AsyncIterator[None]:
        """Call ``deliver`` for every envelope on ``channels`` meant for this socket, until exit.

        Envelopes from ``origin`` (the socket itself) and those addressed ``to`` a peer other than
        ``peer_id`` are dropped. ``deliver`` runs in one background task, in arrival order.
        """
        subscriber = await self.plugin.subscribe(list(channels))
        reassembler = Reassembler()

        async def pump() -> None:
            async for frame in subscriber.iter_events():
                try:
                    raw = reassembler.feed(frame.decode("utf-8"))
                    envelope = None if raw is None else Envelope.load(raw)
                except ValueError:
                    log.warning("dropped an unreadable frame on %s", ",".join(channels))
                    continue
                if envelope is None or envelope.origin == origin:
                    continue
                if envelope.to is not None and envelope.to != peer_id:
                    continue
                try:
                    await deliver(envelope)
                except Exception:  # a closing socket must not stop the others' events
                    log.debug("deliver failed on %s", origin, exc_info=True)

        task = asyncio.create_task(pump(), name=f"hub-listen-{origin}")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await self.plugin.unsubscribe(subscriber, list(channels))
