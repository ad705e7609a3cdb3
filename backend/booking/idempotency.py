"""``Idempotency-Key`` on the create call: a replay gets the first answer, a changed body a 422.

The first answer holds the manage token, so it is kept sealed (AES-GCM, :mod:`backend.crypto`) and
bound to its key. The record is written in the booking's own transaction: either the appointment,
its email and its record exist, or none of them.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.crypto import Keyring
from backend.db.models import IdempotentRequest
from backend.settings import Settings

KEY_PATTERN: Final = re.compile(r"[\x21-\x7e]{1,255}")
"""Printable ASCII without spaces, as clients send UUIDs or similar."""


@cache
def _keyring(secret: str) -> Keyring:
    return Keyring.derived(secret, "idempotent-answer")


def keyring(settings: Settings) -> Keyring:
    return _keyring(settings.secret_key.reveal())


def fingerprint(body: bytes) -> str:
    """SHA-256 of the body as JSON without formatting, so whitespace or key order do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def valid_key(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


async def find(session: AsyncSession, key: str) -> IdempotentRequest | None:
    return await session.scalar(select(IdempotentRequest).where(IdempotentRequest.key == key))


def remember(
    session: AsyncSession,
    key: str,
    body_fingerprint: str,
    appointment_id: Any,
    answer: dict[str, Any],
    settings: Settings,
) -> None:
    sealed = keyring(settings).seal(json.dumps(answer).encode(), context=f"idempotency:{key}".encode())
    session.add(
        IdempotentRequest(
            key=key, fingerprint=body_fingerprint, appointment_id=appointment_id, response=sealed
        )
    )


def replay(record: IdempotentRequest, settings: Settings) -> dict[str, Any]:
    raw = keyring(settings).open(record.response, context=f"idempotency:{record.key}".encode())
    answer: dict[str, Any] = json.loads(raw)
    return answer
