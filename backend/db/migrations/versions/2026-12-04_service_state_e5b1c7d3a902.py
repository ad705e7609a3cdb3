"""service.state (draft, published, withdrawn) and service.email_texts

A service made in the editor is a draft until a team admin publishes it. Services that exist
already were bookable, so they become published.

Revision ID: e5b1c7d3a902
Revises: d4a8c1e6f205
Create Date: 2026-12-04 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5b1c7d3a902"
down_revision: str | None = "d4a8c1e6f205"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("service", sa.Column("state", sa.String(length=12), nullable=False, server_default="draft"))
    op.add_column(
        "service",
        sa.Column(
            "email_texts",
            sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )
    op.execute("UPDATE service SET state = 'published'")


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("email_texts")
        batch.drop_column("state")
