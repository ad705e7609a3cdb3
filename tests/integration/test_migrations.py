"""The Alembic migrations build exactly the schema the models describe, on both databases.

A model change without its migration fails here (the CI check STYLE.md asks for), and so does a
migration that cannot run down and up again.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.migrate import alembic_config, upgrade
from backend.db.models import Base


def _differences(connection: Any) -> list[Any]:
    # SQLite reflects advanced-alchemy's GUID and UTC types as plain affinities, so types are
    # compared on PostgreSQL only; tables, columns, indexes and constraints on both.
    compare_type = connection.dialect.name != "sqlite"
    context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
    return list(compare_metadata(context, Base.metadata))


async def test_no_model_change_lacks_a_migration(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == [], "models and migrations differ: add a migration (--autogenerate)"


async def test_migrations_go_down_to_base_and_up_again(engine: AsyncEngine) -> None:
    config = alembic_config()

    def downgrade(connection: Any) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
    await upgrade(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
