"""JPEG and PNG: decoded for real, with limits against decompression bombs, and re-encoded.

Re-encoding is what strips the metadata: the new file carries the pixels (turned upright first,
so dropping the EXIF orientation does not tip the photo over) and the colour profile, and nothing
else: no EXIF (camera, time, GPS position), no XMP, no PNG text chunks, no trailing data.
"""

from __future__ import annotations

import io
import warnings
from typing import Final

from PIL import Image, ImageOps

from backend.db.models import DocumentType
from backend.documents.rejections import Rejected

MAX_SIDE: Final = 20_000
"""Pixels along one side: a long thin image can be a bomb with few pixels per row."""
JPEG_QUALITY: Final = 90
_FORMATS: Final[dict[DocumentType, tuple[str, ...]]] = {
    DocumentType.JPEG: ("JPEG", "MPO"),  # MPO: phones' JPEG with extra frames; the first one is kept
    DocumentType.PNG: ("PNG",),
}


def reencode(data: bytes, kind: DocumentType, max_pixels: int) -> bytes:
    """``data`` decoded and written again as ``kind`` without metadata, or :class:`Rejected`."""
    formats = _FORMATS[kind]
    with warnings.catch_warnings():
        # Pillow warns (and only raises at twice its own limit); here any bomb is an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(formats)) as image:
                width, height = image.size
                if width * height > max_pixels or max(width, height) > MAX_SIDE:
                    raise Rejected("image_too_big", megapixels=max_pixels // 1_000_000)
                image.load()  # a real decode: a truncated or corrupt file fails here
                return _encode(image, kind)
        except Rejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Rejected("image_too_big", megapixels=max_pixels // 1_000_000) from None
        except (OSError, SyntaxError, ValueError, TypeError, EOFError, MemoryError):
            # Pillow's ways of saying "not a valid image" (UnidentifiedImageError is an OSError).
            raise Rejected("image_invalid") from None


def _encode(image: Image.Image, kind: DocumentType) -> bytes:
    icc_profile = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image) or image
    if kind is DocumentType.JPEG:
        clean = upright.convert("L" if upright.mode in ("1", "L") else "RGB")
    else:
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        if upright.mode in ("1", "L", "RGB") and not has_alpha:
            clean = upright.copy()
        else:
            clean = upright.convert("RGBA" if has_alpha else "RGB")
    clean.info = {}  # everything the decoder found (exif, xmp, text, dpi...) stays behind
    out = io.BytesIO()
    options: dict[str, object] = {}
    if isinstance(icc_profile, bytes) and icc_profile:
        options["icc_profile"] = icc_profile
    if kind is DocumentType.JPEG:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, **options)
    else:
        clean.save(out, "PNG", optimize=False, **options)
    return out.getvalue()
