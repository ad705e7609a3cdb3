"""municipality_admin, mandate; audit_event.shared_with_id and mandate_id (tenancy, uitwijk)

Revision ID: b7d3e9f2a461
Revises: 6c2e8a4f1b97
Create Date: 2026-12-03 22:30:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "b7d3e9f2a461"
down_revision: str | None = "6c2e8a4f1b97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
WHEN = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _audit_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "municipality_admin",
        sa.Column("id", GUID, nullable=False),
        sa.Column("official_id", GUID, nullable=False),
        sa.Column("municipality_id", GUID, nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["official_id"], ["official.id"], name=op.f("fk_municipality_admin_official_id_official"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_municipality_admin_municipality_id_municipality"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality_admin")),
        sa.UniqueConstraint("official_id", "municipality_id", name=op.f("uq_municipality_admin_official_id")),
    )
    op.create_table(
        "mandate",
        sa.Column("id", GUID, nullable=False),
        sa.Column("grantor_id", GUID, nullable=False),
        sa.Column("grantee_id", GUID, nullable=False),
        sa.Column("team_ids", JSON, nullable=False),
        sa.Column("official_ids", JSON, nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", GUID, nullable=False),
        sa.Column("accepted_at", WHEN, nullable=True),
        sa.Column("accepted_by", GUID, nullable=True),
        sa.Column("declined_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("ended_by", GUID, nullable=True),
        sa.Column("status_note", sa.String(length=300), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["grantor_id"], ["municipality.id"], name=op.f("fk_mandate_grantor_id_municipality"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["grantee_id"], ["municipality.id"], name=op.f("fk_mandate_grantee_id_municipality"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["official.id"], name=op.f("fk_mandate_granted_by_official"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["official.id"], name=op.f("fk_mandate_accepted_by_official"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["ended_by"], ["official.id"], name=op.f("fk_mandate_ended_by_official"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandate")),
    )
    op.create_index(op.f("ix_mandate_grantor_id"), "mandate", ["grantor_id"])
    op.create_index(op.f("ix_mandate_grantee_id"), "mandate", ["grantee_id"])
    # Plain ADD COLUMN, not a batch copy: on SQLite a copy would drop the append-only triggers.
    op.add_column("audit_event", sa.Column("shared_with_id", GUID, nullable=True))
    op.add_column("audit_event", sa.Column("mandate_id", GUID, nullable=True))
    op.create_index(op.f("ix_audit_event_shared_with_id"), "audit_event", ["shared_with_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_event_shared_with_id"), table_name="audit_event")
    op.drop_column("audit_event", "mandate_id")
    op.drop_column("audit_event", "shared_with_id")
    op.drop_index(op.f("ix_mandate_grantee_id"), table_name="mandate")
    op.drop_index(op.f("ix_mandate_grantor_id"), table_name="mandate")
    op.drop_table("mandate")
    op.drop_table("municipality_admin")
