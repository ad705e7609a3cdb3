"""A Litestar :class:`~litestar.stores.base.Store` in the app's own database (table ``web_session``).

Every operation is one short transaction of its own: on SQLite a transaction holds the write lock,
so nothing here waits on anything else.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from litestar.stores.base import NamespacedStore
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.clock import Clock, system_clock
from backend.db.models import StoredSession

NO_EXPIRY: Final = dt.timedelta(days=30)
"""Rows need an expiry; values stored without one are kept this long."""


def _seconds(value: int | dt.timedelta | None) -> dt.timedelta:
    if value is None:
        return NO_EXPIRY
    return value if isinstance(value, dt.timedelta) else dt.timedelta(seconds=value)


class DatabaseStore(NamespacedStore):
    __slots__ = ("_clock", "_sessionmaker")

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        namespace: str = "balie",
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.namespace = namespace
        self._sessionmaker = sessionmaker
        self._clock = clock

    def with_namespace(self, namespace: str) -> DatabaseStore:
        return DatabaseStore(self._sessionmaker, f"{self.namespace}.{namespace}", clock=self._clock)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    async def set(self, key: str, value: str | bytes, expires_in: int | dt.timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        now = self._clock()
        expires_at = now + _seconds(expires_in)
        stored_key = self._key(key)
        async with self._sessionmaker() as db:
            changed = await db.execute(
                update(StoredSession)
                .where(StoredSession.key == stored_key)
                .values(value=data, expires_at=expires_at, updated_at=now)
            )
            if changed.rowcount:  # type: ignore[attr-defined]
                await db.commit()
                return
            # A new key: the moment to clear out what expired (cheap, on the expiry index).
            await db.execute(delete(StoredSession).where(StoredSession.expires_at <= now))
            db.add(StoredSession(key=stored_key, value=data, expires_at=expires_at))
            try:
                await db.commit()
            except IntegrityError:  # another request stored the same key just now: take its place
                await db.rollback()
                await db.execute(
                    update(StoredSession)
                    .where(StoredSession.key == stored_key)
                    .values(value=data, expires_at=expires_at, updated_at=now)
                )
                await db.commit()

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        stored_key = self._key(key)
        async with self._sessionmaker() as db:
            row = await db.scalar(select(StoredSession).where(StoredSession.key == stored_key))
            if row is None:
                await db.commit()
                return None
            now = self._clock()
            if row.expires_at <= now:
                await db.execute(delete(StoredSession).where(StoredSession.key == stored_key))
                await db.commit()
                return None
            if renew_for is not None:
                row.expires_at = now + _seconds(renew_for)
            value = bytes(row.value)
            await db.commit()
            return value

    async def delete(self, key: str) -> None:
        async with self._sessionmaker() as db:
            await db.execute(delete(StoredSession).where(StoredSession.key == self._key(key)))
            await db.commit()

    async def delete_all(self) -> None:
        async with self._sessionmaker() as db:
            await db.execute(
                delete(StoredSession).where(
                    StoredSession.key.startswith(f"{self.namespace}:", autoescape=True)
                )
            )
            await db.commit()

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self._sessionmaker() as db:
            expires_at = await db.scalar(
                select(StoredSession.expires_at).where(StoredSession.key == self._key(key))
            )
            await db.commit()
        if expires_at is None:
            return None
        return max(int((expires_at - self._clock()).total_seconds()), 0)
