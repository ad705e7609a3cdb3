"""Fitting envelopes into PostgreSQL NOTIFY payloads (under 8000 bytes), and joining them again.

A frame is one of::

    {...}                              the envelope JSON as it is (up to the limit)
    z:<base64(zlib(json))>             compressed, when that fits
    p:<id>:<index>:<count>:<chunk>     one numbered part of the compressed form

All three are ASCII or UTF-8 text, as NOTIFY wants. Parts of one envelope share a random id, so
parts of envelopes published at the same time on other nodes cannot mix.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

NOTIFY_LIMIT: Final = 8000
FRAME_LIMIT: Final = 7000
"""Envelopes over this many bytes are compressed; frames never exceed it (margin under NOTIFY_LIMIT)."""
MAX_PARTS: Final = 256
MAX_ENVELOPE_BYTES: Final = 4 * 1024 * 1024
_PART_HEADER: Final = 40  # "p:" + 16 hex + ":" + up to 3 + ":" + up to 3 + ":" with room to spare


def pack_frames(raw: str, limit: int = FRAME_LIMIT) -> list[str]:
    """Frames of at most ``limit`` UTF-8 bytes that :class:`Reassembler` turns back into ``raw``."""
    data = raw.encode("utf-8")
    if len(data) <= limit:
        return [raw]
    packed = base64.b64encode(zlib.compress(data, 6)).decode("ascii")
    if len(packed) + 2 <= limit:
        return [f"z:{packed}"]
    size = limit - _PART_HEADER
    if size < 1:
        raise ValueError("limit too small for numbered parts")
    chunks = [packed[i : i + size] for i in range(0, len(packed), size)]
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"envelope needs {len(chunks)} parts, more than {MAX_PARTS}")
    message_id = secrets.token_hex(8)
    return [f"p:{message_id}:{i}:{len(chunks)}:{chunk}" for i, chunk in enumerate(chunks)]


def _inflate(packed: str) -> str:
    try:
        compressed = base64.b64decode(packed, validate=True)
        inflater = zlib.decompressobj()
        data = inflater.decompress(compressed, MAX_ENVELOPE_BYTES)
    except (binascii.Error, zlib.error) as exc:
        raise ValueError("bad compressed frame") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("compressed frame too large or truncated")
    return data.decode("utf-8")


@dataclass
class _Pending:
    count: int
    first_seen: float
    parts: dict[int, str] = field(default_factory=dict)


class Reassembler:
    """Turns frames back into envelope JSON; one per listener (frames arrive in publish order).

    Incomplete messages are forgotten after ``ttl`` seconds, and at most ``max_pending`` are kept,
    so a node that died halfway through publishing leaves nothing behind.
    """

    def __init__(
        self, *, ttl: float = 30.0, max_pending: int = 64, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pending: dict[str, _Pending] = {}
        self._ttl = ttl
        self._max_pending = max_pending
        self._clock = clock

    @property
    def pending(self) -> int:
        return len(self._pending)

    def feed(self, frame: str) -> str | None:
        """The envelope JSON when ``frame`` completes one, else None; ValueError on a broken frame."""
        if frame.startswith("z:"):
            return _inflate(frame[2:])
        if not frame.startswith("p:"):
            return frame
        try:
            _, message_id, index_s, count_s, chunk = frame.split(":", 4)
            index, count = int(index_s), int(count_s)
        except ValueError as exc:
            raise ValueError("bad part header") from exc
        if not (0 <= index < count <= MAX_PARTS):
            raise ValueError("bad part number")
        now = self._clock()
        self._expire(now)
        pending = self._pending.setdefault(message_id, _Pending(count=count, first_seen=now))
        if pending.count != count:
            del self._pending[message_id]
            raise ValueError("parts disagree on their count")
        pending.parts[index] = chunk
        if len(pending.parts) < count:
            self._trim()
            return None
        del self._pending[message_id]
        return _inflate("".join(pending.parts[i] for i in range(count)))

    def _expire(self, now: float) -> None:
        for message_id in [k for k, p in self._pending.items() if now - p.first_seen > self._ttl]:
            del self._pending[message_id]

    def _trim(self) -> None:
        while len(self._pending) > self._max_pending:
            del self._pending[next(iter(self._pending))]
