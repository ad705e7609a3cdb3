"""participant: whether a page of the participant is open now (present_until, present_socket)

Revision ID: 3f7b9d2c5a10
Revises: 8c2d4f6a1e3b
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "3f7b9d2c5a10"
down_revision: str | None = "8c2d4f6a1e3b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.add_column(
            sa.Column("present_until", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("present_socket", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.drop_column("present_socket")
        batch.drop_column("present_until")
