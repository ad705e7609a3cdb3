"""A sign-in under way: what the provider's answer will be checked against, kept in the session.

The session lives in the session store (the database or Redis), so an entry written by the
previous version of the app can still be read after a restart while its sign-in is under way
(``IdentitySettings.login_minutes``, 10 by default). Entries with the old one-letter keys are
therefore still read: that can go once the versions that wrote them have been gone that long.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

_ONE_LETTER_KEYS: Final = {
    "p": "purpose",
    "n": "nonce",
    "v": "code_verifier",
    "t": "started_at",
    "c": "context",
}
"""How entries were written until the keys got their names."""


@dataclass(frozen=True)
class PendingSignIn:
    purpose: str
    """Which relying party began it (an official's or a citizen's sign-in)."""
    nonce: str
    code_verifier: str = field(repr=False)
    """PKCE (RFC 7636): only this session can redeem the provider's code."""
    started_at: int
    """Epoch seconds; the sign-in expires ``login_seconds`` later."""
    context: dict[str, Any] = field(default_factory=dict)
    """What the caller gave :meth:`RelyingParty.begin` (where to go next and the like)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "started_at": self.started_at,
            "context": dict(self.context),
        }

    @classmethod
    def from_dict(cls, data: object) -> PendingSignIn | None:
        """The entry as stored (named or one-letter keys); None for anything else."""
        if not isinstance(data, Mapping):
            return None
        if "p" in data:
            data = {name: data[key] for key, name in _ONE_LETTER_KEYS.items() if key in data}
        try:
            return cls(
                purpose=str(data["purpose"]),
                nonce=str(data["nonce"]),
                code_verifier=str(data["code_verifier"]),
                started_at=int(data.get("started_at", 0)),
                context=dict(data.get("context") or {}),
            )
        except (KeyError, TypeError, ValueError):
            return None


def read_pending(stored: object) -> dict[str, PendingSignIn]:
    """The session's sign-ins under way by their ``state``; unreadable entries are left out."""
    if not isinstance(stored, Mapping):
        return {}
    entries = ((str(state), PendingSignIn.from_dict(data)) for state, data in stored.items())
    return {state: entry for state, entry in entries if entry is not None}


def write_pending(pending: Mapping[str, PendingSignIn]) -> dict[str, dict[str, Any]]:
    return {state: entry.to_dict() for state, entry in pending.items()}
