"""Encryption at rest: AES-256-GCM under a keyring, so keys can be rotated without losing data.

A sealed value names the key that sealed it: ``version (1 byte) | key id length (1) | key id |
nonce (12) | ciphertext+tag``. New values are sealed with the current key; older keys stay in the
ring to open what they sealed. ``context`` is bound as associated data: a value copied to another
row (another context) does not open.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.settings import Secret

VERSION: Final = 1
NONCE_BYTES: Final = 12
KEY_BYTES: Final = 32


class SealError(ValueError):
    """A sealed value that cannot be opened: unknown key, wrong context or tampered bytes."""


class Keyring:
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"the current key {current!r} is not in the keyring")
        for key_id, key in keys.items():
            if not 0 < len(key_id.encode()) < 256 or len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} must have a short id and {KEY_BYTES} bytes")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = current

    @classmethod
    def derived(cls, secret: str, purpose: str) -> Keyring:
        """A one-key ring derived from the app's secret key, separate for each ``purpose``."""
        key = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()).derive(
            secret.encode()
        )
        key_id = hashlib.sha256(key).hexdigest()[:8]
        return cls({key_id: key}, key_id)

    @classmethod
    def from_secrets(cls, keys: Iterable[tuple[str, Secret]], current: str) -> Keyring:
        """A ring from settings: (id, base64 of 32 bytes) pairs, ``current`` sealing new values."""
        decoded = {
            key_id: base64.b64decode(secret.reveal().replace("-", "+").replace("_", "/"))
            for key_id, secret in keys
        }
        return cls(decoded, current or next(iter(decoded)))

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        key_id = self.current.encode()
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._keys[self.current].encrypt(nonce, plaintext, context)
        return bytes([VERSION, len(key_id)]) + key_id + nonce + ciphertext

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        if len(sealed) < 2 or sealed[0] != VERSION:
            raise SealError("not a sealed value")
        id_end = 2 + sealed[1]
        key_id = sealed[2:id_end].decode(errors="replace")
        cipher = self._keys.get(key_id)
        if cipher is None:
            raise SealError(f"sealed with key {key_id!r}, which is not in the keyring")
        nonce, ciphertext = sealed[id_end : id_end + NONCE_BYTES], sealed[id_end + NONCE_BYTES :]
        try:
            return cipher.decrypt(nonce, ciphertext, context)
        except InvalidTag as exc:
            raise SealError("the sealed value was changed or belongs elsewhere") from exc

    def key_id_of(self, sealed: bytes) -> str:
        """Which key sealed ``sealed`` (for re-sealing after a rotation)."""
        if len(sealed) < 2 or sealed[0] != VERSION:
            raise SealError("not a sealed value")
        return sealed[2 : 2 + sealed[1]].decode(errors="replace")
