"""staff_invitation (a one-time link that binds an official to a team) and membership.deactivated_at

Revision ID: f2c8a4b6d913
Revises: e5b1c7d3a902
Create Date: 2026-12-04 08:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "f2c8a4b6d913"
down_revision: str | None = "e5b1c7d3a902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_invitation",
        sa.Column("team_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_official_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("accepted_at", UTC, nullable=True),
        sa.Column("accepted_by_official_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_staff_invitation_team_id_team"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_official_id"],
            ["official.id"],
            name=op.f("fk_staff_invitation_invited_by_official_id_official"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_official_id"],
            ["official.id"],
            name=op.f("fk_staff_invitation_accepted_by_official_id_official"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_invitation_token_hash")),
    )
    op.create_index(op.f("ix_staff_invitation_team_id"), "staff_invitation", ["team_id"], unique=False)
    op.add_column("membership", sa.Column("deactivated_at", UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("membership") as batch:
        batch.drop_column("deactivated_at")
    op.drop_index(op.f("ix_staff_invitation_team_id"), table_name="staff_invitation")
    op.drop_table("staff_invitation")
