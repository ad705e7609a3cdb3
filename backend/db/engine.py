"""The async engine, with the SQLite settings that make concurrent writers safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from backend.settings import DatabaseSettings

SQLITE_QUEUE_SECONDS = 120.0
"""How long a request waits for the SQLite connection before it gives up (a 503 for the visitor)."""


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(settings)
    return create_async_engine(
        url,
        echo=settings.echo,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
    )


def _sqlite_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = make_url(settings.url)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # One connection for the whole process, handed out in turn: every transaction takes SQLite's
    # write lock anyway (BEGIN IMMEDIATE, below), and requests that wait in the pool's queue are
    # served in order the moment the one before commits. With a connection each, they would all
    # wait on the file lock instead, polling it with sleeps, and under a burst some would wait
    # out the busy timeout. Other processes on the same file (``balie worker``) still take turns
    # through the file lock.
    engine = create_async_engine(
        url,
        echo=settings.echo,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=SQLITE_QUEUE_SECONDS,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take control of transactions so every one starts with BEGIN IMMEDIATE (below): two
        # deferred transactions that both read and then write would otherwise deadlock, and
        # SQLite answers that with "database is locked" instead of waiting.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
