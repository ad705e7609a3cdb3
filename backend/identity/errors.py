"""Why a sign-in failed: one short code per reason, for the audit trail and the tests."""

from __future__ import annotations

import re
from typing import Any

ERROR_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,60}")


def error_code(value: object) -> str:
    """A provider's OAuth error code (``invalid_client``, ...) as it may go into the audit trail:
    a short token, or ``other`` for anything else a provider (or an attacker) put there."""
    return value if isinstance(value, str) and ERROR_CODE.fullmatch(value) else "other"


class LoginFailed(Exception):
    """The sign-in cannot be trusted; ``reason`` is a short code (never personal data);
    ``provider_error`` the provider's own error code, where it gave one."""

    def __init__(self, reason: str, detail: str = "", *, provider_error: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.provider_error = provider_error
        self.context: dict[str, Any] = {}
        """What the sign-in was started with, when the failure came after its state was found."""


class ProviderUnavailable(LoginFailed):
    """The identity provider could not be reached or answered nonsense (discovery, keys, token)."""
