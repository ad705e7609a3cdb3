"""agenda rules and reminders

Exceptions to a team's week, per-block desks, per-service slot rules, capacity pools for slot
claims, appointment sequence and cancellation, outbox kinds, idempotent create calls.

Revision ID: 5a1e7c0d2b91
Revises: 4b199836ddf0
Create Date: 2026-11-23 19:50:39.475501
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5a1e7c0d2b91"
down_revision: str | None = "4b199836ddf0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _audit_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "schedule_exception",
        sa.Column("id", GUID, nullable=False),
        sa.Column("team_id", GUID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("blocks", JSON, nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_schedule_exception_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exception")),
        sa.UniqueConstraint("team_id", "day", name=op.f("uq_schedule_exception_team_id")),
    )
    op.create_table(
        "idempotent_request",
        sa.Column("id", GUID, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", GUID, nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_idempotent_request_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_request")),
        sa.UniqueConstraint("key", name=op.f("uq_idempotent_request_key")),
    )
    op.create_index(
        op.f("ix_idempotent_request_appointment_id"), "idempotent_request", ["appointment_id"], unique=False
    )
    with op.batch_alter_table("appointment") as batch:
        batch.add_column(sa.Column("sequence", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cancelled_at", UTC, nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=False, server_default=""))
    with op.batch_alter_table("opening_hours") as batch:
        batch.add_column(sa.Column("desks", sa.SmallInteger(), nullable=True))
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=30), nullable=False, server_default=""))
        batch.add_column(sa.Column("appointment_id", GUID, nullable=True))
        batch.add_column(sa.Column("deferred", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index(op.f("ix_outbox_message_appointment_id"), ["appointment_id"], unique=False)
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("step_minutes", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("buffer_minutes", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("lead_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("horizon_days", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("capacity", sa.SmallInteger(), nullable=True))
        batch.add_column(
            sa.Column("max_active_per_email", sa.SmallInteger(), nullable=False, server_default="2")
        )
        batch.add_column(sa.Column("reminder_minutes", JSON, nullable=False, server_default="[1440, 60]"))
        batch.add_column(sa.Column("deadline_rule", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("translations", JSON, nullable=False, server_default="{}"))

    # Every existing claim holds a seat of its team's desks: that pool has the team's id.
    with op.batch_alter_table("slot_claim") as batch:
        batch.add_column(sa.Column("pool_id", GUID, nullable=True))
    op.execute("UPDATE slot_claim SET pool_id = team_id")
    with op.batch_alter_table("slot_claim") as batch:
        batch.alter_column("pool_id", existing_type=GUID, nullable=False)
        batch.drop_constraint("uq_slot_claim_seat", type_="unique")
        batch.create_unique_constraint("uq_slot_claim_pool_seat", ["pool_id", "unit_start", "seat"])
        batch.create_index("ix_slot_claim_team_unit", ["team_id", "unit_start"], unique=False)


def downgrade() -> None:
    # Claims of a service's own pool have no place in the old schema: only team seats remain.
    op.execute("DELETE FROM slot_claim WHERE pool_id <> team_id")
    with op.batch_alter_table("slot_claim") as batch:
        batch.drop_index("ix_slot_claim_team_unit")
        batch.drop_constraint("uq_slot_claim_pool_seat", type_="unique")
        batch.create_unique_constraint("uq_slot_claim_seat", ["team_id", "unit_start", "seat"])
        batch.drop_column("pool_id")
    with op.batch_alter_table("service") as batch:
        for column in (
            "translations",
            "deadline_rule",
            "reminder_minutes",
            "max_active_per_email",
            "capacity",
            "horizon_days",
            "lead_minutes",
            "buffer_minutes",
            "step_minutes",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index(op.f("ix_outbox_message_appointment_id"))
        batch.drop_column("deferred")
        batch.drop_column("appointment_id")
        batch.drop_column("kind")
    with op.batch_alter_table("opening_hours") as batch:
        batch.drop_column("desks")
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")
        batch.drop_column("sequence")
    op.drop_index(op.f("ix_idempotent_request_appointment_id"), table_name="idempotent_request")
    op.drop_table("idempotent_request")
    op.drop_table("schedule_exception")
