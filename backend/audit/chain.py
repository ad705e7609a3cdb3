"""The audit trail's hash chains: each event's hash covers its own fields and the hash before it.

**The rule (version 1).** Every municipality has one chain; events without a municipality form one
more. An event's ``chain_seq`` is its place in its chain (1, 2, 3 ...), its ``prev_hash`` the
``hash`` of the event before (``GENESIS``, 64 zeros, for the first), and its ``hash`` the SHA-256
(hex) of the canonical JSON of its fields: id, created_at, actor, action, object_type, object_id,
municipality_id, shared_with_id, mandate_id, result, origin, details, chain_seq and prev_hash (see
``canonical``). ``created_at`` never goes back along a chain: an event is dated no earlier than the
one before it.

**Writing.** ``_record`` only adds the event to the caller's session; the chain is written when the
session flushes it (``_chain_pending``, a ``before_flush`` hook on every session), so the event is
still appended in the caller's transaction and commits or rolls back with it. At that moment the
writer takes the chain's turn: on PostgreSQL a transaction-scoped advisory lock per chain
(``pg_advisory_xact_lock(CHAIN_LOCK, chain_key(municipality))``, held until commit or rollback;
the row locks are in backend/db/locks.py), on SQLite the write lock every transaction already
holds (``BEGIN IMMEDIATE``, backend.db.engine). Under the turn it reads the chain's last event and
links after it. A rolled-back transaction takes no place, so the chain has no holes. The unique
indexes on (chain, seq) and the ``audit_event_chain_next`` trigger (the migration) are the
backstops: a writer that skips the turn fails rather than forking the chain.

**Verifying.** ``verify_chains`` reads chains in order and reports what does not hold: a gap in the
sequence (events removed), an event whose content no longer matches its hash (rewritten), a second
event in the same place or one dated before its predecessor (inserted), and an event that does not
link to the one before (a predecessor removed or replaced, and the chain renumbered). An unkeyed
chain cannot show what a writer with the database and this rule recomputed from some point on
(the whole tail, or its last events removed): the ADR says how that is guarded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, event, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from backend.clock import system_clock
from backend.db.models import AuditEvent

GENESIS: Final = "0" * 64
"""The ``prev_hash`` of a chain's first event."""
CHAIN_LOCK: Final = 0x61756474  # "audt"
"""First key of the chains' advisory locks (two-key form: no clash with the one-key MIGRATION_LOCK)."""
HASHED: Final = (
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
"""The fields an event's hash covers."""


def canonical(event: object) -> bytes:
    """The bytes an event's hash is taken of: a JSON object of ``HASHED`` with sorted keys, no
    spaces, ASCII only; ids as lowercase hex with dashes, ``created_at`` in UTC to the microsecond
    (``2026-12-21T09:00:00.000000Z``), ``null`` for a missing id. ``event`` is an ``AuditEvent``
    or a row with the same names."""
    fields: dict[str, Any] = {}
    for name in HASHED:
        value = getattr(event, name)
        if isinstance(value, UUID):
            value = str(value)
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields[name] = value
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def event_hash(event: object) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def chain_key(municipality_id: UUID | None) -> int:
    """The second key of a chain's advisory lock: 32 bits of the municipality's id (0 without one).
    Two chains that share a key only take turns more often than needed."""
    return 0 if municipality_id is None else int.from_bytes(municipality_id.bytes[:4], "big", signed=True)


def in_chain(municipality_id: UUID | None) -> ColumnElement[bool]:
    if municipality_id is None:
        return AuditEvent.municipality_id.is_(None)
    return AuditEvent.municipality_id == municipality_id


# -- writing ----------------------------------------------------------------------------------------


def _chain_pending(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Link every audit event this flush inserts to the end of its chain, in the order they were
    added. Chains are taken in one order (no municipality first, then by id), so two flushes that
    each write to two chains cannot wait on each other."""
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not pending:
        return
    pending.sort(key=lambda e: inspect(e).insert_order or 0)
    chains: dict[UUID | None, list[AuditEvent]] = {}
    for audit_event in pending:
        chains.setdefault(audit_event.municipality_id, []).append(audit_event)
    connection = session.connection(bind_arguments={"mapper": AuditEvent})
    for municipality_id in sorted(chains, key=lambda m: (m is not None, str(m))):
        _append(connection, municipality_id, chains[municipality_id])


def _append(connection: Connection, municipality_id: UUID | None, events: list[AuditEvent]) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:lock, :chain)"),
            {"lock": CHAIN_LOCK, "chain": chain_key(municipality_id)},
        )
    # Read after the lock: under READ COMMITTED (the default) this sees the last holder's commit.
    head = connection.execute(
        select(AuditEvent.chain_seq, AuditEvent.hash, AuditEvent.created_at)
        .where(in_chain(municipality_id))
        .order_by(AuditEvent.chain_seq.desc())
        .limit(1)
    ).first()
    seq, prev, floor = (head.chain_seq, head.hash, head.created_at) if head else (0, GENESIS, None)
    for audit_event in events:
        # The values the column defaults would give at INSERT, now, because the hash covers them.
        if audit_event.id is None:
            audit_event.id = uuid4()
        created = audit_event.created_at or system_clock()  # what the column default would give
        audit_event.created_at = max(created, floor) if floor is not None else created
        if audit_event.result is None:
            audit_event.result = "success"
        if audit_event.origin is None:
            audit_event.origin = ""
        if audit_event.details is None:
            audit_event.details = {}
        seq += 1
        audit_event.chain_seq, audit_event.prev_hash = seq, prev
        audit_event.hash = prev = event_hash(audit_event)
        floor = audit_event.created_at


event.listen(Session, "before_flush", _chain_pending)


# -- verifying --------------------------------------------------------------------------------------

Kind = Literal["gap", "rewritten", "inserted", "broken_link"]


@dataclass(frozen=True)
class Break:
    """One place where a chain does not hold."""

    kind: Kind
    seq: int
    event_id: UUID | None
    """None for a gap: the events that were there are gone."""
    text: str
    """What is wrong, in English, for the operator (``balie audit verify``)."""


@dataclass(frozen=True)
class ChainReport:
    municipality_id: UUID | None
    events: int
    head: str
    """The hash of the chain's last event (``GENESIS`` when empty): kept elsewhere, it shows later
    whether the chain was cut or recomputed after this check."""
    breaks: tuple[Break, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.breaks


_COLUMNS: Final = tuple(getattr(AuditEvent, name) for name in (*HASHED, "hash"))


@dataclass
class _Walk:
    """Walks one chain in ``(chain_seq, created_at, id)`` order, holding back the events of one
    place until the next place shows which of two claimants the chain goes on from."""

    pred: Any = None
    place: list[Any] = field(default_factory=list)
    events: int = 0
    breaks: list[Break] = field(default_factory=list)

    def feed(self, row: Any) -> None:
        self.events += 1
        if self.place and row.chain_seq != self.place[0].chain_seq:
            self._settle(following=row)
        self.place.append(row)

    def finish(self, municipality_id: UUID | None) -> ChainReport:
        if self.place:
            self._settle(following=None)
        head = self.pred.hash if self.pred is not None else GENESIS
        return ChainReport(municipality_id, self.events, head, tuple(self.breaks))

    def _settle(self, following: Any) -> None:
        place, self.place = self.place, []
        expected_prev = self.pred.hash if self.pred is not None else GENESIS
        chosen = _genuine(place, expected_prev, following)
        seq = chosen.chain_seq
        for other in place:
            if other is not chosen:
                self._break("inserted", other, "a second event in the same place of the chain (inserted)")
        expected = self.pred.chain_seq + 1 if self.pred is not None else 1
        if seq < expected:  # before the first place: nothing writes there
            self._break("inserted", chosen, "a place before the start of the chain (inserted)")
            return
        if seq > expected:
            missing = seq - expected
            where = f"seq {expected}" if missing == 1 else f"seq {expected}-{seq - 1}"
            self.breaks.append(Break("gap", expected, None, f"{where}: {missing} event(s) missing (removed)"))
        if event_hash(chosen) != chosen.hash:
            self._break("rewritten", chosen, "its content does not match its hash (rewritten)")
        elif seq == expected and chosen.prev_hash != expected_prev:
            self._break(
                "broken_link",
                chosen,
                "it does not link to the event before it (that one was replaced, or one was removed)",
            )
        if self.pred is not None and chosen.created_at < self.pred.created_at:
            self._break("inserted", chosen, "dated before the event before it (inserted afterwards)")
        self.pred = chosen

    def _break(self, kind: Kind, row: Any, what: str) -> None:
        self.breaks.append(Break(kind, row.chain_seq, row.id, f"seq {row.chain_seq}, event {row.id}: {what}"))


def _genuine(place: list[Any], expected_prev: str, following: Any) -> Any:
    """Of the events claiming one place, the one the chain goes on from: the one the next event
    links to, else the one that links to the event before and matches its hash, else the first."""
    if len(place) == 1:
        return place[0]
    if following is not None:
        for row in place:
            if following.prev_hash == row.hash:
                return row
    for row in place:
        if row.prev_hash == expected_prev and event_hash(row) == row.hash:
            return row
    return place[0]


async def verify_chain(db: AsyncSession, municipality_id: UUID | None) -> ChainReport:
    """Read one chain whole, in order, streaming (memory stays small), and check every link."""
    walk = _Walk()
    rows = await db.stream(
        select(*_COLUMNS)
        .where(in_chain(municipality_id))
        .order_by(AuditEvent.chain_seq, AuditEvent.created_at, AuditEvent.id)
        .execution_options(yield_per=1000)
    )
    async for row in rows:
        walk.feed(row)
    return walk.finish(municipality_id)


async def verify_chains(
    db: AsyncSession, municipality_ids: Iterable[UUID | None] | None = None
) -> list[ChainReport]:
    """A report per chain: of ``municipality_ids`` (``None`` in it: the events without a
    municipality), or of every chain in the trail. The work is linear in the events read."""
    if municipality_ids is None:
        ids = set(await db.scalars(select(AuditEvent.municipality_id).distinct()))
    else:
        ids = set(municipality_ids)
    return [await verify_chain(db, m) for m in sorted(ids, key=lambda m: (m is not None, str(m)))]
