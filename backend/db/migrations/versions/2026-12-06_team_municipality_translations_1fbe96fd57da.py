"""team and municipality: texts in other languages (translations), as services have them

Revision ID: 1fbe96fd57da
Revises: c4e7a2d9b318
Create Date: 2026-12-06 09:00:00

``team.translations``: ``{"en": {"name": ..., "description": ...}}``; ``municipality.translations``:
``{"en": {"name": ...}}``. Empty for every row there is: pages and emails show the Dutch text until
an admin fills in another (backend/localized.py).

Plain ADD and DROP COLUMN, no batch copy: on SQLite a copy drops and recreates the table, and with
foreign keys on that would first delete every row that refers to it (teams, services, appointments)
by their ON DELETE CASCADE. SQLite has DROP COLUMN since 3.35.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1fbe96fd57da"
down_revision: str | None = "c4e7a2d9b318"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
TABLES = ("team", "municipality")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("translations", JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "translations")
