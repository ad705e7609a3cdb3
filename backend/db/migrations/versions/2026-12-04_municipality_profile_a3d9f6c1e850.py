"""A municipality's profile and branding, its logo, platform admins, first-admin invitations

Revision ID: a3d9f6c1e850
Revises: f2c8a4b6d913
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "a3d9f6c1e850"
down_revision: str | None = "f2c8a4b6d913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
GUID = advanced_alchemy.types.guid.GUID(length=16)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("municipality") as batch:
        batch.add_column(sa.Column("website", sa.String(length=300), server_default="", nullable=False))
        batch.add_column(sa.Column("privacy_url", sa.String(length=300), server_default="", nullable=False))
        batch.add_column(
            sa.Column("email_sender_name", sa.String(length=120), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("reply_to", sa.String(length=254), server_default="", nullable=False))
        batch.add_column(sa.Column("brand_tokens", JSON, server_default="{}", nullable=False))
        batch.add_column(sa.Column("logo_type", sa.String(length=40), server_default="", nullable=False))
        batch.add_column(sa.Column("brand_version", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("deactivated_at", UTC, nullable=True))
    op.create_table(
        "municipality_logo",
        sa.Column("municipality_id", GUID, nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_municipality_logo_municipality_id_municipality"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality_logo")),
        sa.UniqueConstraint("municipality_id", name=op.f("uq_municipality_logo_municipality_id")),
    )
    with op.batch_alter_table("municipality_admin") as batch:
        batch.add_column(sa.Column("source", sa.String(length=20), server_default="provider", nullable=False))
    with op.batch_alter_table("official") as batch:
        batch.add_column(sa.Column("is_platform_admin", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("staff_invitation") as batch:
        batch.alter_column("team_id", existing_type=GUID, nullable=True)
        batch.add_column(sa.Column("municipality_id", GUID, nullable=True))
        batch.create_index(batch.f("ix_staff_invitation_municipality_id"), ["municipality_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_staff_invitation_municipality_id_municipality"),
            "municipality",
            ["municipality_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.execute(
        "UPDATE staff_invitation SET municipality_id = "
        "(SELECT team.municipality_id FROM team WHERE team.id = staff_invitation.team_id)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM staff_invitation WHERE team_id IS NULL")
    with op.batch_alter_table("staff_invitation") as batch:
        batch.drop_constraint(batch.f("fk_staff_invitation_municipality_id_municipality"), type_="foreignkey")
        batch.drop_index(batch.f("ix_staff_invitation_municipality_id"))
        batch.drop_column("municipality_id")
        batch.alter_column("team_id", existing_type=GUID, nullable=False)
    with op.batch_alter_table("official") as batch:
        batch.drop_column("is_platform_admin")
    with op.batch_alter_table("municipality_admin") as batch:
        batch.drop_column("source")
    op.drop_table("municipality_logo")
    with op.batch_alter_table("municipality") as batch:
        for column in (
            "deactivated_at",
            "brand_version",
            "logo_type",
            "brand_tokens",
            "reply_to",
            "email_sender_name",
            "privacy_url",
            "website",
        ):
            batch.drop_column(column)
