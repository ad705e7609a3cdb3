from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.settings import DatabaseSettings, Settings
from tests.support import make_settings, postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test using this runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    else:
        async with postgres_database() as url:
            yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DatabaseSettings(url=database_url))
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Iterator[Settings]:
    yield make_settings(tmp_path)


@pytest.fixture
async def seeded_service(session: AsyncSession) -> object:
    from tests.support import seed_agenda

    return await seed_agenda(session)


@pytest.fixture
async def client(settings: Settings, engine: AsyncEngine, seeded_service: object) -> AsyncIterator[object]:
    """An HTTP client on the app (in process), its database migrated and seeded."""
    from litestar.testing import AsyncTestClient

    from backend.app import create_app

    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as test_client:
        test_client.follow_redirects = False
        yield test_client
