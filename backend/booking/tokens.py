"""Join and manage tokens: 256 random bits, handed out once, stored only as a SHA-256 hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Appointment, Participant
from backend.settings import JoinSettings

TOKEN_BYTES = 32
_MAX_TOKEN_LENGTH = 64


def new_token() -> str:
    """A URL-safe token with 256 bits of randomness."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    # A plain hash is enough: the token itself carries 256 bits, so there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return 20 <= len(token) <= _MAX_TOKEN_LENGTH and all(c.isalnum() or c in "-_" for c in token)


@dataclass(frozen=True)
class JoinWindow:
    opens_at: dt.datetime
    closes_at: dt.datetime

    def contains(self, now: dt.datetime) -> bool:
        return self.opens_at <= now <= self.closes_at


def join_window(appointment: Appointment, rules: JoinSettings) -> JoinWindow:
    return JoinWindow(
        opens_at=appointment.start_at - dt.timedelta(minutes=rules.opens_minutes_before),
        closes_at=appointment.end_at + dt.timedelta(minutes=rules.grace_minutes_after),
    )


async def join_token_holder(session: AsyncSession, token: str) -> Participant | None:
    """The participant a join token was handed to, revoked or not; None when it is unknown."""
    if not looks_like_token(token):
        return None
    return await session.scalar(select(Participant).where(Participant.join_token_hash == hash_token(token)))


async def participant_for_join_token(session: AsyncSession, token: str) -> Participant | None:
    """The participant a join token belongs to, or None when it is unknown or revoked.

    Whether the link works *now* is a separate question (see :func:`join_window`): a token that is
    too early still identifies its participant, so the page can say when to come back.
    """
    participant = await join_token_holder(session, token)
    if participant is None or participant.revoked_at is not None:
        return None
    return participant


async def appointment_for_manage_token(session: AsyncSession, token: str) -> Appointment | None:
    if not looks_like_token(token):
        return None
    return await session.scalar(select(Appointment).where(Appointment.manage_token_hash == hash_token(token)))


async def working_manage_token(
    session: AsyncSession, token: str, rules: JoinSettings, now: dt.datetime
) -> Appointment | None:
    """The appointment of a manage token that still works at ``now`` (until the end of the
    appointment plus the grace window), for the pages and the API alike; else None."""
    appointment = await appointment_for_manage_token(session, token)
    if appointment is None or now > join_window(appointment, rules).closes_at:
        return None
    return appointment
