"""PDF: parsed for real (pypdf), and refused when it could do more than show pages.

Refused: files that are not only a PDF (HTML or script markup in the bytes, data after the last
``%%EOF``: the stuff of polyglots), encrypted files (we could not look inside), and files whose
objects ask for JavaScript, launching programs, submitting or importing data, rich media, XFA forms
or additional actions, or that carry embedded files. Every object in the cross-reference table is
looked at, not only those reachable from the catalogue: some viewers read orphans too. The bytes
are served unchanged (the checks do not rewrite the file), so both sides get exactly what was sent.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import Final

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

from backend.documents.rejections import Rejected

MAX_OBJECTS: Final = 100_000
"""More objects than any document a citizen or official shares; beyond it we stop looking and refuse."""

ACTIVE: Final = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/RichMedia",
        "/XFA",
        "/AA",
        "/Sound",
        "/Movie",
        "/Rendition",
    }
)
EMBEDDED: Final = frozenset({"/EmbeddedFile", "/EmbeddedFiles", "/FileAttachment", "/GoToE"})

_MARKUP: Final = re.compile(
    rb"<\s*(?:script|html|!doctype|head|body|iframe|svg|object|embed|style)[\s>/]", re.IGNORECASE
)
"""HTML that makes a polyglot, looked for outside stream data (compressed streams are random bytes,
where short patterns turn up by chance)."""
_ANYWHERE: Final = re.compile(rb"<script[\s>/]|javascript:", re.IGNORECASE)
"""Long enough to be looked for everywhere, stream data included."""
_STREAM_DATA: Final = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)
_TRAILING_OK: Final = re.compile(rb"[\s\x00]*")

# pypdf logs every repair it makes on a damaged file; those are no news for our logs.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def check_pdf(data: bytes) -> None:
    """Return when ``data`` is a plain PDF we accept; :class:`Rejected` otherwise."""
    if not data.startswith(b"%PDF-"):
        raise Rejected("type_not_allowed")
    if _ANYWHERE.search(data) or _MARKUP.search(_STREAM_DATA.sub(b"stream endstream", data)):
        raise Rejected("pdf_invalid")
    end = data.rfind(b"%%EOF")
    if end < 0 or not _TRAILING_OK.fullmatch(data, end + 5):
        raise Rejected("pdf_invalid")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Rejected("pdf_encrypted")
        if len(reader.pages) < 1:
            raise Rejected("pdf_invalid")
        for name in _names(reader):
            if name in ACTIVE:
                raise Rejected("pdf_active_content")
            if name in EMBEDDED:
                raise Rejected("pdf_embedded_files")
    except Rejected:
        raise
    except Exception:
        # pypdf has many ways to fail on a broken or hostile file (PdfReadError, KeyError,
        # RecursionError, ValueError...): all of them mean we cannot vouch for this file.
        raise Rejected("pdf_invalid") from None


def _names(reader: PdfReader) -> Iterator[str]:
    """Every name (dictionary keys and values) in every object of the file."""
    stack: list[PdfObject] = [reader.trailer]
    for generation, table in reader.xref.items():
        stack.extend(IndirectObject(number, generation, reader) for number in table)
    stack.extend(IndirectObject(number, 0, reader) for number in reader.xref_objStm)
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            resolved = item.get_object()
            if resolved is None:
                continue
            item = resolved
        visited += 1
        if visited > MAX_OBJECTS:
            raise Rejected("pdf_invalid")
        if isinstance(item, DictionaryObject):  # streams too: their dictionary names their kind
            for key_name, value in item.items():
                yield str(key_name)
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
        elif isinstance(item, NameObject):
            yield str(item)
