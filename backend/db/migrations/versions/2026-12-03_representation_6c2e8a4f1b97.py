"""service.allows_representation; participant.representative_sealed (identifying for someone else)

Revision ID: 6c2e8a4f1b97
Revises: 9a4e1c7b3d52
Create Date: 2026-12-03 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6c2e8a4f1b97"
down_revision: str | None = "9a4e1c7b3d52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(
            sa.Column("allows_representation", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("representative_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.drop_column("representative_sealed")
    with op.batch_alter_table("service") as batch:
        batch.drop_column("allows_representation")
