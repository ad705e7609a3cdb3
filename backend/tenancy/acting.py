"""Under which mandate the current request or socket acts, for the audit trail to record.

Every audit event written while an official acts for another municipality carries the mandate and
the official's own municipality, so both municipalities see it (docs/adr/0011-tenancy.md). The
request's scope dependency fills it in; sockets set it when they authenticate. A holder object, not
a plain value: Litestar may resolve dependencies in child tasks, which see the holder the request's
task made (``before_request``) but whose own ``ContextVar.set`` would not reach the handler.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class ActingFor:
    mandate_id: UUID
    grantor_id: UUID
    """The municipality the official acts for (A)."""
    grantee_id: UUID
    """The official's own municipality (B)."""


@dataclass
class _Holder:
    value: ActingFor | None = None


_current: ContextVar[_Holder | None] = ContextVar("balie_acting_for", default=None)


def begin(*_: Any) -> None:
    """A new request or socket: it acts under no mandate until its scope says so."""
    _current.set(_Holder())


def set_acting(value: ActingFor | None) -> None:
    holder = _current.get()
    if holder is None:
        holder = _Holder()
        _current.set(holder)
    holder.value = value


def current() -> ActingFor | None:
    holder = _current.get()
    return holder.value if holder is not None else None
