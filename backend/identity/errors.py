"""Why a sign-in failed: one short code per reason, for the audit trail and the tests."""

from __future__ import annotations

from typing import Any


class LoginFailed(Exception):
    """The sign-in cannot be trusted; ``reason`` is a short code (never personal data)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.context: dict[str, Any] = {}
        """What the sign-in was started with, when the failure came after its state was found."""


class ProviderUnavailable(LoginFailed):
    """The identity provider could not be reached or answered nonsense (discovery, keys, token)."""
