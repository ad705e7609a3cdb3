"""Decide on an upload by its content: what it really is, whether it is safe, what we keep of it.

The type comes from the first bytes (magic numbers), never from the name or the browser's
Content-Type; then the content is parsed for real (:mod:`images`, :mod:`pdfs`). Only PDF, JPEG and
PNG pass. This is CPU work: callers run it in a thread, a few at a time (see :mod:`sharing`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from backend.db.models import DocumentType
from backend.documents.images import reencode
from backend.documents.names import clean_name
from backend.documents.pdfs import check_pdf
from backend.documents.rejections import Rejected, too_large
from backend.settings import DocumentSettings

_MAGIC: tuple[tuple[bytes, DocumentType], ...] = (
    (b"%PDF-", DocumentType.PDF),
    (b"\xff\xd8\xff", DocumentType.JPEG),
    (b"\x89PNG\r\n\x1a\n", DocumentType.PNG),
)


@dataclass(frozen=True)
class Inspected:
    name: str
    content_type: DocumentType
    content: bytes
    """What is stored and served: the PDF as sent, or the re-encoded image."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def sniff(data: bytes) -> DocumentType | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def inspect_upload(filename: str, data: bytes, limits: DocumentSettings) -> Inspected:
    """The document to store for an upload, or :class:`Rejected` with the reason."""
    if not data:
        raise Rejected("empty")
    if len(data) > limits.max_bytes:
        raise too_large(limits.max_bytes)
    kind = sniff(data)
    if kind is None:
        raise Rejected("type_not_allowed", status=415)
    name = clean_name(filename, kind)  # before the expensive part: a bad name costs nothing
    if kind is DocumentType.PDF:
        check_pdf(data)
        content = data
    else:
        content = reencode(data, kind, limits.max_pixels)
        if len(content) > limits.max_bytes:  # re-encoding a tiny, very compressible file can grow it
            raise too_large(limits.max_bytes)
    return Inspected(name=name, content_type=kind, content=content)
