"""Server-side sessions: the cookie holds only a random id, the data lives in a store.

On top of Litestar's server-side session backend this adds what a counter for officials needs:
- a new session id at every sign-in (:func:`start_fresh`), so an id planted before sign-in is
  worth nothing afterwards (session fixation);
- an idle timeout (the store's expiry, renewed while the session is used) and an absolute timeout
  from the moment the session started, both checked on every load;
- no session, and no cookie, for visitors who have nothing in theirs (static files, citizens);
- the request's database session closed before the store writes: on SQLite a transaction left open
  by the handler would otherwise hold the write lock the store needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from advanced_alchemy.extensions.litestar._utils import delete_aa_scope_state, get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_SCOPE_KEY
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import NamespacedStore
from litestar.types import Empty, Message, Scope, ScopeSession
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import Clock, system_clock
from backend.errors import is_unavailable, outages
from backend.identity.store import DatabaseStore
from backend.settings import Settings

COOKIE: Final = "balie_session"
STORE_NAME: Final = "sessions"
BORN: Final = "_born"
"""When the session started (epoch seconds): the absolute timeout counts from here."""
SEEN: Final = "_seen"
"""When the session was last written; an unchanged session is written again after TOUCH_SECONDS."""
ROTATE: Final = "_rotate"
TOUCH_SECONDS: Final = 60
_LOADED: Final = "balie.session.loaded"


def start_fresh(request: Request[Any, Any, Any], data: dict[str, Any]) -> None:
    """Replace the whole session with ``data`` under a new session id (use at every sign-in)."""
    # No BORN here: the backend stamps it, by the app's clock, when it stores the new session.
    request.scope["session"] = {**data, ROTATE: True}


def end(request: Request[Any, Any, Any]) -> None:
    """Forget the session: its data is deleted from the store and the cookie expires."""
    request.scope["session"] = Empty


class BalieSessionBackend(ServerSideSessionBackend):
    config: BalieSessionConfig

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        now = int(self.config.clock().timestamp())
        if data and not self.config.alive(data, now):
            session_id = connection.cookies.get(self.config.key)
            if session_id:
                await self.delete(session_id, self.config.get_store_from_app(connection.scope["app"]))
            data = {}
        connection.scope.setdefault("state", {})[_LOADED] = dict(data)
        return data

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        await _close_request_database_session(connection.scope)
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie_id = connection.cookies.get(self.config.key)
        if cookie_id == "null":
            cookie_id = None
        data = dict(scope_session) if isinstance(scope_session, dict) else {}
        rotate = bool(data.pop(ROTATE, False))
        if not set(data) - {BORN, SEEN}:  # nothing but our own bookkeeping: no session at all
            if cookie_id:
                await self.delete(cookie_id, store)
                headers.add("Set-Cookie", self._cookie("null", expires=0))
            return
        now = int(self.config.clock().timestamp())
        data.setdefault(BORN, now)
        loaded: dict[str, Any] = connection.scope.get("state", {}).get(_LOADED, {})
        unchanged = _without_seen(data) == _without_seen(loaded)
        if cookie_id and not rotate and unchanged and now - int(loaded.get(SEEN, 0)) < TOUCH_SECONDS:
            return
        if rotate and cookie_id:
            await self.delete(cookie_id, store)
        session_id = self.generate_session_id() if rotate or not cookie_id else cookie_id
        data[SEEN] = now
        await self.set(session_id, json.dumps(data, separators=(",", ":")).encode(), store)
        headers.add("Set-Cookie", self._cookie(session_id))

    def _cookie(self, value: str, expires: int | None = None) -> str:
        # No max-age: the cookie goes when the browser closes; the server enforces the timeouts.
        return Cookie(
            key=self.config.key,
            value=value,
            path="/",
            httponly=True,
            samesite=self.config.samesite,
            secure=self.config.secure,
            expires=expires,
        ).to_header(header="")


@dataclass
class BalieSessionConfig(ServerSideSessionConfig):
    _backend_class = BalieSessionBackend

    absolute_seconds: int = field(default=10 * 3600)
    clock: Clock = field(default=system_clock)

    def alive(self, data: dict[str, Any], now: int) -> bool:
        born, seen = int(data.get(BORN, 0)), int(data.get(SEEN, 0))
        return now - born < self.absolute_seconds and now - seen < self.max_age


async def _close_request_database_session(scope: Scope) -> None:
    """Close the handler's database session before the store is written (see the module text).

    The answer is made by then. If the database went away meanwhile (its connection terminated
    under the handler), closing fails to roll back what the handler did not commit, which went with
    the connection anyway: the answer stands. Raising here turned a page already served into a 500
    (bench/continuity_drill.py, a PostgreSQL fast shutdown while requests run)."""
    key = scope["app"].state.get("db_session_scope_key", SESSION_SCOPE_KEY)
    session = get_aa_scope_state(scope, key)
    if isinstance(session, AsyncSession):
        try:
            await session.close()  # what advanced-alchemy's before-send handler does, only earlier
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            outages.refused("database unavailable", scope.get("path", ""), type(exc).__name__)
        finally:
            delete_aa_scope_state(scope, key)


def _without_seen(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != SEEN}


def host_cookie(settings: Settings, name: str) -> str:
    """``__Host-`` + ``name`` when the public URL is https: the browser then only accepts the
    cookie Secure, for the whole site and from this host (no ``Domain``), so a sibling subdomain
    cannot plant or overwrite it."""
    return f"__Host-{name}" if settings.secure_cookies else name


def session_config(settings: Settings, clock: Clock = system_clock) -> BalieSessionConfig:
    return BalieSessionConfig(
        clock=clock,
        key=host_cookie(settings, COOKIE),
        max_age=settings.sessions.idle_minutes * 60,
        absolute_seconds=settings.sessions.absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=not settings.development or settings.secure_cookies,
        store=STORE_NAME,
        exclude=["^/static/", "^/healthz", "^/livez", "^/schema"],
    )


def session_store(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock = system_clock
) -> NamespacedStore:
    """The store for ``BALIE_SESSION_STORE``: the app's database (default) or Redis."""
    if settings.sessions.store == "redis":
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.channels.redis_url, namespace="balie-session")
    return DatabaseStore(sessionmaker, namespace="session", clock=clock)


__all__ = [
    "COOKIE",
    "BalieSessionConfig",
    "end",
    "host_cookie",
    "session_config",
    "session_store",
    "start_fresh",
]
