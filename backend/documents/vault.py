"""Envelope encryption of documents: a random key per document, wrapped by a master key.

The content is sealed with AES-256-GCM under the document's own key (associated data: the
document id, so a file copied under another row does not open); the key is sealed with the master
keyring (:class:`backend.crypto.Keyring`, key ids for rotation) and kept in the database row. The
store holds only ciphertext, the database only the wrapped key: neither alone reveals anything,
and deleting the row makes a forgotten copy of the file (a backup) unreadable for good.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.crypto import KEY_BYTES, NONCE_BYTES, Keyring, SealError
from backend.documents.storage import DocumentStore, FilesystemStore, new_storage_key
from backend.settings import Settings

FORMAT: Final = b"BD1"
"""Leads every stored file: format version 1 = ``BD1 | nonce (12) | ciphertext + tag``."""


@dataclass(frozen=True)
class Sealed:
    storage_key: str
    wrapped_key: bytes


def master_keyring(settings: Settings) -> Keyring:
    """``BALIE_DOCUMENTS_KEYS`` (rotation: add a key, make it current, keep the old one a while),
    or in development a key derived from the secret key."""
    documents = settings.documents
    if not documents.keys:
        return Keyring.derived(settings.secret_key.reveal(), "document-master-key")
    return Keyring.from_secrets(documents.keys, documents.key_id)


def _content_context(document_id: UUID) -> bytes:
    return b"document:" + document_id.bytes


def _key_context(document_id: UUID) -> bytes:
    return b"document-key:" + document_id.bytes


class Vault:
    def __init__(self, store: DocumentStore, keyring: Keyring) -> None:
        self.store = store
        self.keyring = keyring

    async def put(self, document_id: UUID, content: bytes) -> Sealed:
        """Encrypt ``content`` under a fresh key and store it; returns where, and the wrapped key."""
        key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        blob = FORMAT + nonce + AESGCM(key).encrypt(nonce, content, _content_context(document_id))
        storage_key = new_storage_key()
        await self.store.put(storage_key, blob)
        return Sealed(storage_key, self.keyring.seal(key, context=_key_context(document_id)))

    async def get(self, document_id: UUID, storage_key: str, wrapped_key: bytes) -> bytes:
        """The content, or :class:`SealError` (tampered, wrong row, unknown master key) or
        :class:`~backend.documents.storage.StoreError` (gone)."""
        key = self.keyring.open(wrapped_key, context=_key_context(document_id))
        blob = await self.store.get(storage_key)
        if not blob.startswith(FORMAT) or len(blob) < len(FORMAT) + NONCE_BYTES + 16:
            raise SealError("not a stored document")
        nonce = blob[len(FORMAT) : len(FORMAT) + NONCE_BYTES]
        try:
            return AESGCM(key).decrypt(
                nonce, blob[len(FORMAT) + NONCE_BYTES :], _content_context(document_id)
            )
        except InvalidTag as exc:
            raise SealError("the stored document was changed or belongs elsewhere") from exc

    async def delete(self, storage_key: str) -> None:
        await self.store.delete(storage_key)


def vault_for(settings: Settings) -> Vault:
    return Vault(FilesystemStore(settings.documents_dir), master_keyring(settings))
