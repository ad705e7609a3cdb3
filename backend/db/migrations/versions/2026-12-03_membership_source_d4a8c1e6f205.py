"""membership.source: provider (kept in step with the groups) or app (granted by an admin)

Revision ID: d4a8c1e6f205
Revises: b7d3e9f2a461
Create Date: 2026-12-03 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4a8c1e6f205"
down_revision: str | None = "b7d3e9f2a461"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "membership", sa.Column("source", sa.String(length=20), nullable=False, server_default="provider")
    )


def downgrade() -> None:
    with op.batch_alter_table("membership") as batch:
        batch.drop_column("source")
