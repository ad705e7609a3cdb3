"""Human reference codes such as ``DB-7K3P-9Q``: easy to read out on the phone."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L or U: nothing two people could confuse over the phone.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PATTERN = re.compile(rf"^DB-[{ALPHABET}]{{4}}-[{ALPHABET}]{{2}}$")


def new_reference() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"DB-{chars[:4]}-{chars[4:]}"


def normalise(text: str) -> str | None:
    """A typed reference in canonical form, or None when it cannot be one."""
    compact = re.sub(r"[\s-]", "", text.upper())
    if compact.startswith("DB"):
        compact = compact[2:]
    candidate = f"DB-{compact[:4]}-{compact[4:]}"
    return candidate if PATTERN.match(candidate) else None
