"""identity_provider: a municipality's own staff identity provider or DigiD broker client

Revision ID: 9a4e1c7b3d52
Revises: 3f7b9d2c5a10
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "9a4e1c7b3d52"
down_revision: str | None = "3f7b9d2c5a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_provider",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("municipality_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("client_secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("token_auth", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("claims_from", sa.String(length=20), nullable=False),
        sa.Column("email_domains", sa.String(length=500), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_identity_provider_municipality_id_municipality"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_provider")),
        sa.UniqueConstraint("municipality_id", "audience", name="uq_identity_provider_audience"),
    )


def downgrade() -> None:
    op.drop_table("identity_provider")
