"""official: when the identity provider last ended the official's sessions (back-channel logout)

Revision ID: 8c2d4f6a1e3b
Revises: 277e365d7c0d
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "8c2d4f6a1e3b"
down_revision: str | None = "277e365d7c0d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("official") as batch:
        batch.add_column(
            sa.Column("signed_out_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("official") as batch:
        batch.drop_column("signed_out_at")
