"""File names as people see them: no paths, no control or bidi characters, a sane length.

A name that tries to be something else (``../``, ``C:\\``, a right-to-left override that makes
``rapport\u202efdp.exe`` look like ``rapportexe.pdf``) is refused, not repaired: the person who
sent it should know. Harmless oddities (spaces at the ends, characters Windows cannot store) are
tidied. The extension must fit the content; a name without one gets the right one.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from backend.db.models import DocumentType
from backend.documents.rejections import Rejected

MAX_NAME_LENGTH: Final = 100
"""In characters, extension included; the column holds 120."""

EXTENSIONS: Final[dict[DocumentType, tuple[str, ...]]] = {
    DocumentType.PDF: (".pdf",),
    DocumentType.JPEG: (".jpg", ".jpeg", ".jpe", ".jfif"),
    DocumentType.PNG: (".png",),
}
KIND_LABEL: Final[dict[DocumentType, str]] = {
    DocumentType.PDF: "PDF",
    DocumentType.JPEG: "JPG",
    DocumentType.PNG: "PNG",
}
_BIDI_CONTROLS: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WINDOWS_RESERVED: Final = re.compile(r'[<>:"|?*]')
_EXTENSION: Final = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")
"""What people (and their operating systems) treat as an extension; ``.2026`` in a date is not one."""


def clean_name(raw: str, kind: DocumentType) -> str:
    """The name to store and show for an upload of ``kind``, or :class:`Rejected`."""
    name = unicodedata.normalize("NFC", raw or "")
    if "/" in name or "\\" in name or "\x00" in name:
        raise Rejected("name_invalid")
    for char in name:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            raise Rejected("name_invalid")
    name = " ".join(name.split())  # tabs, runs of spaces
    name = _WINDOWS_RESERVED.sub("_", name).strip(" .")
    if name in ("", ".", ".."):
        name = "document"
    stem, extension = _split(name)
    allowed = EXTENSIONS[kind]
    if extension and extension.lower() not in allowed:
        raise Rejected("name_mismatch", kind=KIND_LABEL[kind], extension=extension)
    extension = extension or allowed[0]
    stem = stem.rstrip(" .")[: MAX_NAME_LENGTH - len(extension)].rstrip(" .") or "document"
    return stem + extension


def _split(name: str) -> tuple[str, str]:
    match = _EXTENSION.search(name)
    if match is None or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group(0)


def ascii_fallback(name: str) -> str:
    """For the plain ``filename=`` of Content-Disposition: ASCII only, no quotes or backslashes."""
    folded = "".join(
        unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii") or "_" for char in name
    )
    safe = re.sub(r"[^A-Za-z0-9._ ()\-+,]", "_", folded).strip(" .")
    return safe or "document"
