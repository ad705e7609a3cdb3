"""Read the uploaded file from a ``multipart/form-data`` request, in memory and bounded.

Litestar's own form parsing spools files over 1 MB to a temporary file on disk; a document in
clear must not touch the disk, so the body is parsed here as it streams in, keeping only the
``file`` part and only up to one byte past the limit (enough to know it is too large). Pages send
the CSRF token in the ``X-CSRFToken`` header; a plain form that sends it as a field has been parsed
by the CSRF middleware already, and that parse is used instead (there, Litestar may have spooled a
file over 1 MB to an unnamed temporary file, which is closed here; the documents panel never posts
that way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from multipart import MultipartError, MultipartSegment, ParserError, PushMultipartParser

from backend.documents.rejections import Rejected, too_large

FIELD: Final = "file"
UPLOAD_OVERHEAD: Final = 64 * 1024
"""Room for the multipart framing and a CSRF field on top of the largest allowed file."""


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    truncated: bool
    """The file was larger than the limit; ``data`` holds only its start."""


async def read_upload(request: Request[Any, Any, Any], max_bytes: int) -> Upload:
    """The ``file`` part of the request, or :class:`Rejected` (``missing``, ``too_large``)."""
    content_type, options = request.content_type
    if content_type != "multipart/form-data" or not options.get("boundary"):
        raise Rejected("missing", status=400)
    try:
        if value_or_default(ScopeState.from_scope(request.scope).form, None) is not None:
            return await _from_parsed_form(request, max_bytes)
        return await _from_stream(request, options["boundary"], max_bytes)
    except HTTPException as exc:
        if exc.status_code == 413:  # the body as a whole is over the app's limit
            raise too_large(max_bytes) from None
        raise


async def _from_stream(request: Request[Any, Any, Any], boundary: str, max_bytes: int) -> Upload:
    found: Upload | None = None
    segment: MultipartSegment | None = None
    buffer = bytearray()
    try:
        with PushMultipartParser(boundary, max_segment_count=8) as parser:
            async for chunk in request.stream():
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        segment, buffer = event, bytearray()
                    elif event is not None:
                        if segment is not None and segment.name == FIELD and len(buffer) <= max_bytes:
                            buffer += event[: max_bytes + 1 - len(buffer)]
                    elif segment is not None:
                        if segment.name == FIELD and found is None and segment.filename is not None:
                            found = Upload(
                                segment.filename, bytes(buffer), segment.bytes_received > max_bytes
                            )
                        segment, buffer = None, bytearray()
                if parser.closed:
                    break
    except ParserError:
        raise Rejected("missing", status=400) from None
    except MultipartError:
        # A limit of the parser (a header such as a 9,000-character file name, more than eight
        # parts): the sender's mistake, told and audited like any refusal, never a 500.
        raise Rejected("malformed_upload", status=400) from None
    if found is None:
        raise Rejected("missing", status=400)
    return found


async def _from_parsed_form(request: Request[Any, Any, Any], max_bytes: int) -> Upload:
    form = await request.form()
    item = form.get(FIELD)
    if not isinstance(item, UploadFile):
        raise Rejected("missing", status=400)
    try:
        data = await item.read(max_bytes + 1)
    finally:
        await item.close()
    return Upload(item.filename, data[:max_bytes], len(data) > max_bytes)
