"""audit_event: a hash chain per municipality; INSERT OR REPLACE, TRUNCATE and off-chain inserts refused

Revision ID: c4e7a2d9b318
Revises: a3d9f6c1e850
Create Date: 2026-12-05 10:00:00

Adds ``chain_seq``, ``prev_hash`` and ``hash`` (backend/audit/chain.py has the rule), fills them
for the events already there, chain by chain in the order they were written (``created_at``, then
id), and adds the database's own checks:

- a unique place per chain: (municipality_id, chain_seq), and chain_seq alone for the events
  without a municipality (two partial indexes, as a unique index keeps NULLs apart);
- ``audit_event_chain_next``: an INSERT must be the next link of its chain (seq one more than the
  last, prev_hash the last one's hash, a hash of 64 hex digits, not dated before the last);
- SQLite: ``audit_event_no_replace``, because ``INSERT OR REPLACE`` deletes the row it replaces
  without firing the BEFORE DELETE trigger (unless recursive_triggers is on);
- PostgreSQL: ``audit_event_no_truncate``, because TRUNCATE fires no row trigger.

Plain ADD COLUMN, no batch copy: on SQLite a copy would drop the append-only triggers. The filling
UPDATE goes past the append-only trigger the only way an owner can (PostgreSQL: disabled for the
UPDATE; SQLite: dropped and created again), inside this migration's transaction. It reads a chain
at a time into memory: fine for the trails of today (thousands of events), not for tens of millions.
"""

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "c4e7a2d9b318"
down_revision: str | None = "a3d9f6c1e850"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
HASHED = (  # rule version 1, as backend/audit/chain.py has it (a copy: a migration stays as it ran)
    "id",
    "created_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "municipality_id",
    "shared_with_id",
    "mandate_id",
    "result",
    "origin",
    "details",
    "chain_seq",
    "prev_hash",
)
APPEND_ONLY = "audit_event is append-only"
NOT_NEXT = "audit_event: not the next event of its chain"
GUID = advanced_alchemy.types.guid.GUID(length=16)
WHEN = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

EVENTS = sa.table(
    "audit_event",
    sa.column("id", GUID),
    sa.column("created_at", WHEN),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.String),
    sa.column("municipality_id", GUID),
    sa.column("shared_with_id", GUID),
    sa.column("mandate_id", GUID),
    sa.column("result", sa.String),
    sa.column("origin", sa.String),
    sa.column("details", JSON),
    sa.column("chain_seq", sa.Integer),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)

# The last event of NEW's chain, by the partial unique indexes (SQLite and PostgreSQL alike).
_SQLITE_LAST = (
    "CASE WHEN NEW.municipality_id IS NULL "
    "THEN (SELECT {what} FROM audit_event WHERE municipality_id IS NULL AND chain_seq = NEW.chain_seq - 1) "
    "ELSE (SELECT {what} FROM audit_event WHERE municipality_id = NEW.municipality_id "
    "AND chain_seq = NEW.chain_seq - 1) END"
)
_SQLITE_MAX = (
    "CASE WHEN NEW.municipality_id IS NULL "
    "THEN (SELECT MAX(chain_seq) FROM audit_event WHERE municipality_id IS NULL) "
    "ELSE (SELECT MAX(chain_seq) FROM audit_event WHERE municipality_id = NEW.municipality_id) END"
)
SQLITE_CHAIN_NEXT = (
    "CREATE TRIGGER audit_event_chain_next BEFORE INSERT ON audit_event WHEN "
    f"NEW.chain_seq IS NOT COALESCE({_SQLITE_MAX}, 0) + 1 "
    f"OR NEW.prev_hash IS NOT COALESCE({_SQLITE_LAST.format(what='hash')}, '{GENESIS}') "
    f"OR NEW.created_at < COALESCE({_SQLITE_LAST.format(what='created_at')}, NEW.created_at) "
    "OR length(NEW.hash) IS NOT 64 OR NEW.hash GLOB '*[^0-9a-f]*' "
    f"BEGIN SELECT RAISE(ABORT, '{NOT_NEXT}'); END"
)
SQLITE_NO_REPLACE = (
    "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event "
    "WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id) "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
)
SQLITE_NO_UPDATE = (  # as 69dd52344833 made it
    f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
)
POSTGRES_CHAIN_NEXT = f"""
CREATE FUNCTION audit_event_chain_next() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq integer;
    last_hash text;
    last_at timestamptz;
BEGIN
    IF NEW.municipality_id IS NULL THEN
        SELECT chain_seq, hash, created_at INTO last_seq, last_hash, last_at FROM audit_event
        WHERE municipality_id IS NULL ORDER BY chain_seq DESC LIMIT 1;
    ELSE
        SELECT chain_seq, hash, created_at INTO last_seq, last_hash, last_at FROM audit_event
        WHERE municipality_id = NEW.municipality_id ORDER BY chain_seq DESC LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        last_seq := 0;
        last_hash := '{GENESIS}';
        last_at := NEW.created_at;
    END IF;
    IF NEW.chain_seq IS DISTINCT FROM last_seq + 1 OR NEW.prev_hash IS DISTINCT FROM last_hash
       OR NEW.created_at < last_at OR NEW.hash IS NULL OR NEW.hash !~ '^[0-9a-f]{{64}}$' THEN
        RAISE EXCEPTION '{NOT_NEXT}';
    END IF;
    RETURN NEW;
END $$
"""


def _event_hash(event: Mapping[str, Any]) -> str:
    fields: dict[str, Any] = {}
    for name in HASHED:
        value = event[name]
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields[name] = value
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _fill_chains() -> None:
    bind = op.get_bind()
    chains = list(bind.scalars(sa.select(EVENTS.c.municipality_id).distinct()))
    update = (
        sa.update(EVENTS)
        .where(EVENTS.c.id == sa.bindparam("event_id"))
        .values(chain_seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev"), hash=sa.bindparam("own"))
    )
    for municipality_id in chains:
        column = EVENTS.c.municipality_id
        where = column.is_(None) if municipality_id is None else column == municipality_id
        rows = bind.execute(sa.select(EVENTS).where(where).order_by(EVENTS.c.created_at, EVENTS.c.id)).all()
        prev, links = GENESIS, []
        for seq, row in enumerate(rows, start=1):
            own = _event_hash({**row._mapping, "chain_seq": seq, "prev_hash": prev})
            links.append({"event_id": row.id, "seq": seq, "prev": prev, "own": own})
            prev = own
        if links:
            bind.execute(update, links)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("audit_event", sa.Column("chain_seq", sa.Integer(), server_default="0", nullable=False))
    op.add_column("audit_event", sa.Column("prev_hash", sa.String(length=64), server_default="", nullable=False))
    op.add_column("audit_event", sa.Column("hash", sa.String(length=64), server_default="", nullable=False))

    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        _fill_chains()
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        for name in ("chain_seq", "prev_hash", "hash"):  # every writer gives them (SQLite keeps its)
            op.alter_column("audit_event", name, server_default=None)
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        _fill_chains()
        op.execute(SQLITE_NO_UPDATE)

    some, none = sa.text("municipality_id IS NOT NULL"), sa.text("municipality_id IS NULL")
    op.create_index(
        "uq_audit_event_chain_seq",
        "audit_event",
        ["municipality_id", "chain_seq"],
        unique=True,
        postgresql_where=some,
        sqlite_where=some,
    )
    op.create_index(
        "uq_audit_event_chain_seq_none",
        "audit_event",
        ["chain_seq"],
        unique=True,
        postgresql_where=none,
        sqlite_where=none,
    )

    if postgres:
        op.execute(POSTGRES_CHAIN_NEXT)
        op.execute(
            "CREATE TRIGGER audit_event_chain_next BEFORE INSERT ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_chain_next()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        op.execute(SQLITE_NO_REPLACE)
        op.execute(SQLITE_CHAIN_NEXT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER audit_event_chain_next ON audit_event")
        op.execute("DROP FUNCTION audit_event_chain_next()")
    else:
        op.execute("DROP TRIGGER audit_event_chain_next")
        op.execute("DROP TRIGGER audit_event_no_replace")
    op.drop_index("uq_audit_event_chain_seq_none", table_name="audit_event")
    op.drop_index("uq_audit_event_chain_seq", table_name="audit_event")
    op.drop_column("audit_event", "hash")
    op.drop_column("audit_event", "prev_hash")
    op.drop_column("audit_event", "chain_seq")
