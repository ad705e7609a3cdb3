"""Fixtures of the interop tests: a migrated SQLite database with the test municipality."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.settings import Settings
from tests.support import make_settings, seed_agenda


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings for a SQLite database with the test municipality, its team and official."""
    settings = make_settings(tmp_path)
    engine = create_engine(settings.database)
    await upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        await seed_agenda(session)
    await engine.dispose()
    yield settings
