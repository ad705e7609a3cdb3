"""What the metrics read from the database at scrape time: who waits and who talks per team, and
the outbox.

These are the same on every node (the database is the one truth), so each node reports them and
dashboards take ``max by (team)`` over the nodes rather than a sum. A scrape while the database is
away still answers, with the process's own metrics and ``balie_scrape_database_up 0``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final
from uuid import UUID

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import rooms
from backend.clock import system_clock
from backend.db.models import (
    Appointment,
    AppointmentStatus,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Team,
)
from backend.db.models.appointment import ACTIVE_STATUSES

log = logging.getLogger(__name__)

SCRAPE_WITHIN_SECONDS: Final = 2.0


@dataclass(frozen=True)
class TeamLabels:
    municipality: str
    team: str


@dataclass
class Snapshot:
    """The database's part of one scrape (None: the database did not answer in time)."""

    teams: dict[UUID, TeamLabels] = field(default_factory=dict)
    waiting: dict[UUID, int] = field(default_factory=dict)
    in_call: dict[UUID, int] = field(default_factory=dict)
    outbox_pending: int = 0
    oldest_due: dt.datetime | None = None
    now: dt.datetime = field(default_factory=system_clock)


async def read_snapshot(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> Snapshot | None:
    """The database's gauges at ``now``, or None when the database does not answer within
    :data:`SCRAPE_WITHIN_SECONDS`."""
    try:
        async with asyncio.timeout(SCRAPE_WITHIN_SECONDS), sessionmaker() as db:
            snapshot = await _read(db, now)
            await db.commit()
            return snapshot
    except Exception as exc:  # unreachable, refused, too slow: the scrape goes on without it
        log.warning("metrics: database unavailable (%s)", type(exc).__name__)
        return None


async def _read(db: AsyncSession, now: dt.datetime) -> Snapshot:
    snapshot = Snapshot(now=now)
    teams = await db.execute(
        select(Team.id, Municipality.slug, Team.slug).join(
            Municipality, Team.municipality_id == Municipality.id
        )
    )
    snapshot.teams = {team_id: TeamLabels(municipality, slug) for team_id, municipality, slug in teams}
    # Waiting: in the waiting room with their page open now (backend/presence.py); a participant
    # whose page closed keeps their place but nobody is waiting at a screen.
    waiting = await db.execute(
        select(Appointment.team_id, func.count(Participant.id))
        .join(Participant, Participant.appointment_id == Appointment.id)
        .where(
            Appointment.status.in_(ACTIVE_STATUSES),
            Participant.state == rooms.WAITING,
            Participant.revoked_at.is_(None),
            Participant.present_until > now,
        )
        .group_by(Appointment.team_id)
    )
    snapshot.waiting = {team_id: int(count) for team_id, count in waiting}
    calls = await db.execute(
        select(Appointment.team_id, func.count(Appointment.id))
        .where(Appointment.status == AppointmentStatus.IN_CALL)
        .group_by(Appointment.team_id)
    )
    snapshot.in_call = {team_id: int(count) for team_id, count in calls}
    pending = OutboxMessage.status == OutboxStatus.PENDING
    snapshot.outbox_pending = int(await db.scalar(select(func.count(OutboxMessage.id)).where(pending)) or 0)
    snapshot.oldest_due = await db.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(pending, OutboxMessage.next_attempt_at <= now)
    )
    return snapshot


class _Database(Collector):
    def __init__(self, snapshot: Snapshot | None) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "balie_scrape_database_up", "Whether the database answered this scrape's questions in time"
        )
        up.add_metric([], 0.0 if self._snapshot is None else 1.0)
        yield up
        if self._snapshot is None:
            return
        snapshot = self._snapshot
        info = GaugeMetricFamily(
            "balie_team_info",
            "Each team's municipality and slug, for dashboards (always 1)",
            labels=["team", "municipality", "slug"],
        )
        for team_id, labels in snapshot.teams.items():
            info.add_metric([str(team_id), labels.municipality, labels.team], 1.0)
        yield info
        yield _per_team(
            "balie_waiting_participants",
            "Participants in the waiting room with their page open, by team (the same on every node)",
            snapshot.teams,
            snapshot.waiting,
        )
        yield _per_team(
            "balie_calls_in_progress",
            "Appointments in a call, by team (the same on every node)",
            snapshot.teams,
            snapshot.in_call,
        )
        depth = GaugeMetricFamily(
            "balie_outbox_pending_messages", "Outbox messages not yet sent (due or later)"
        )
        depth.add_metric([], float(snapshot.outbox_pending))
        yield depth
        oldest = GaugeMetricFamily(
            "balie_outbox_oldest_due_age_seconds",
            "How long the longest-due outbox message has been due (0: none is due)",
        )
        due_for = 0.0 if snapshot.oldest_due is None else (snapshot.now - snapshot.oldest_due).total_seconds()
        oldest.add_metric([], max(due_for, 0.0))
        yield oldest


def _per_team(
    name: str, documentation: str, teams: Iterable[UUID], counts: dict[UUID, int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["team"])
    for team_id in {*teams, *counts}:
        family.add_metric([str(team_id)], float(counts.get(team_id, 0)))
    return family


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


def exposition(
    process: CollectorRegistry, snapshot: Snapshot | None = None, *, with_database: bool = True
) -> bytes:
    """The text format of ``process``'s metrics, and (``with_database``) the database's ``snapshot``."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Forward(process))
    if with_database:
        scrape.register(_Database(snapshot))
    return generate_latest(scrape)
