"""Where the encrypted documents live: a small interface, and the filesystem behind it.

The store only ever sees ciphertext (see :mod:`vault`) under random keys, so it can be a local
folder, a shared volume or, later, object storage (an S3 bucket) without changing anything else:
implement :class:`DocumentStore` and choose it in :func:`backend.documents.vault.vault_for`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

_KEY: Final = re.compile(r"[0-9a-f]{32}")


class StoreError(LookupError):
    """The store has no object under this key (deleted, or never written)."""


def new_storage_key() -> str:
    """128 random bits as hex: says nothing about the document, its appointment or its owner."""
    return secrets.token_hex(16)


class DocumentStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` durably; an existing object is replaced."""

    async def get(self, key: str) -> bytes:
        """The object under ``key``; :class:`StoreError` if there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone (purges may run twice)."""

    async def stored_before(self, moment: dt.datetime) -> list[str]:
        """Keys of objects written before ``moment`` (for the sweep of orphans)."""


class FilesystemStore:
    """One file per document under ``root/<first two hex digits>/<key>``, readable by its owner only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise StoreError(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def stored_before(self, moment: dt.datetime) -> list[str]:
        return await asyncio.to_thread(lambda: list(self._older_than(moment.timestamp())))

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Write beside the target and rename: a reader never sees half a file, and a crash leaves
        # at most a temporary file (ciphertext, swept with the orphans).
        temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _older_than(self, timestamp: float) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                try:
                    written = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if written >= timestamp:
                    continue
                if _KEY.fullmatch(path.name):
                    yield path.name
                elif path.name.endswith(".part"):
                    path.unlink(missing_ok=True)  # left behind by a crash in the middle of a put
