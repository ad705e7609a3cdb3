"""payments: the fees a service may ask for (leges), payments asked of citizens, a municipality's key

Revision ID: 9c41e5b7d2a6
Revises: 1fbe96fd57da
Create Date: 2026-12-07 09:00:00

``municipality.payment_key_sealed`` is a plain ADD COLUMN, no batch copy (see 1fbe96fd57da: on
SQLite a copy would recreate the table and cascade deletes to everything that refers to it).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "9c41e5b7d2a6"
down_revision: str | None = "1fbe96fd57da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
WHEN = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _base() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    ]


def upgrade() -> None:
    op.add_column("municipality", sa.Column("payment_key_sealed", sa.LargeBinary(), nullable=True))
    op.create_table(
        "fee",
        sa.Column("id", GUID, nullable=False),
        sa.Column("service_id", GUID, nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("ordinance_article", sa.String(length=60), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("min_cents", sa.Integer(), nullable=True),
        sa.Column("max_cents", sa.Integer(), nullable=True),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("translations", JSON, nullable=False),
        *_base(),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_fee_amount_positive")),
        sa.CheckConstraint("min_cents IS NULL OR min_cents > 0", name=op.f("ck_fee_min_positive")),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_fee_service_id_service"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee")),
    )
    op.create_index(op.f("ix_fee_service_id"), "fee", ["service_id"], unique=False)
    op.create_table(
        "payment",
        sa.Column("id", GUID, nullable=False),
        sa.Column("appointment_id", GUID, nullable=False),
        sa.Column("municipality_id", GUID, nullable=False),
        sa.Column("fee_id", GUID, nullable=True),
        sa.Column("retry_of_id", GUID, nullable=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("ordinance_article", sa.String(length=60), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=64), nullable=True),
        sa.Column("checkout_url", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_changed_at", WHEN, nullable=False),
        sa.Column("requested_by_official_id", GUID, nullable=True),
        sa.Column("paid_at", WHEN, nullable=True),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("refund_status", sa.String(length=12), nullable=False),
        sa.Column("refunded_by_official_id", GUID, nullable=True),
        *_base(),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payment_amount_positive")),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name=op.f("ck_payment_refund_within_amount")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_payment_appointment_id_appointment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(["fee_id"], ["fee.id"], name=op.f("fk_payment_fee_id_fee"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_payment_municipality_id_municipality"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["refunded_by_official_id"], ["official.id"], name=op.f("fk_payment_refunded_by_official_id_official")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_official_id"],
            ["official.id"],
            name=op.f("fk_payment_requested_by_official_id_official"),
        ),
        sa.ForeignKeyConstraint(
            ["retry_of_id"], ["payment.id"], name=op.f("fk_payment_retry_of_id_payment"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("provider_payment_id", name=op.f("uq_payment_provider_payment_id")),
    )
    op.create_index(op.f("ix_payment_appointment_id"), "payment", ["appointment_id"], unique=False)
    op.create_index("ix_payment_status_changed", "payment", ["status", "status_changed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payment_status_changed", table_name="payment")
    op.drop_index(op.f("ix_payment_appointment_id"), table_name="payment")
    op.drop_table("payment")
    op.drop_index(op.f("ix_fee_service_id"), table_name="fee")
    op.drop_table("fee")
    op.drop_column("municipality", "payment_key_sealed")
