"""The development provider's signing key: generated once, kept in the data directory."""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import RSAKey

KEY_FILE = "dev_idp_key.json"


def signing_key(data_dir: Path) -> RSAKey:
    """An RSA key with a ``kid``; the same across restarts so issued tokens stay verifiable."""
    path = data_dir / KEY_FILE
    if path.exists():
        return RSAKey.import_key(json.loads(path.read_text()))
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
    key.ensure_kid()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(key.as_dict(private=True)))
    path.chmod(0o600)
    return key


def public_jwks(key: RSAKey) -> dict[str, object]:
    return {"keys": [key.as_dict(private=False)]}
