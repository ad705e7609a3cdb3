"""Files for the document tests, made here so every byte is known: good ones and an attack corpus.

PDFs are written by hand (objects, cross-reference table, trailer) so a test controls exactly what
is in them; images come from Pillow, with the metadata a phone would add.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

from PIL import Image
from PIL.PngImagePlugin import PngInfo

MARKER = "GEBOORTEVERKLARING-7Q4X"
"""Text inside the sample PDF: if it turns up in a database file or outside the store, something
kept a document in clear."""


def pdf(
    text: str = MARKER,
    *,
    catalog_extra: str = "",
    objects: Sequence[str] = (),
    header: bytes = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    comment: bytes = b"",
    tail: bytes = b"",
    pad_to: int | None = None,
) -> bytes:
    """A one-page PDF showing ``text``. ``objects`` are added as objects 5, 6, ... (refer to them
    from ``catalog_extra``); ``comment`` goes after the header; ``tail`` after ``%%EOF``."""
    if pad_to is not None:
        padding = 3
        while True:  # the startxref number may grow a digit: measure again
            padded = pdf(
                text,
                catalog_extra=catalog_extra,
                objects=objects,
                header=header,
                comment=comment + b"%" + b"x" * (padding - 2) + b"\n",
                tail=tail,
            )
            if len(padded) == pad_to:
                return padded
            if len(padded) > pad_to and padding == 3:
                raise ValueError("pad_to too small")
            padding += pad_to - len(padded)
    content = f"BT /F1 18 Tf 40 700 Td ({text}) Tj ET".encode()
    bodies = [
        f"<< /Type /Catalog /Pages 2 0 R {catalog_extra}>>".encode(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        *(o.encode("latin-1") for o in objects),
    ]
    out = bytearray(header + comment)
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out + tail)


def pdf_with_javascript() -> bytes:
    return pdf(
        catalog_extra="/OpenAction 5 0 R ",
        objects=["<< /Type /Action /S /JavaScript /JS (app.alert\\('hallo'\\);) >>"],
    )


def pdf_with_hidden_javascript() -> bytes:
    """The same, with the names spelled in #-escapes, as attackers do to dodge byte scanners."""
    return pdf(
        catalog_extra="/OpenAction 5 0 R ",
        objects=["<< /Type /Action /S /J#61vaScript /J#53 (app.alert\\(1\\);) >>"],
    )


def pdf_with_launch() -> bytes:
    return pdf(
        catalog_extra="/OpenAction 5 0 R ",
        objects=["<< /Type /Action /S /Launch /F (cmd.exe) >>"],
    )


def pdf_with_embedded_file() -> bytes:
    data = b"MZ this would be a program"
    return pdf(
        catalog_extra="/Names << /EmbeddedFiles << /Names [(x.exe) 5 0 R] >> >> ",
        objects=[
            "<< /Type /Filespec /F (x.exe) /EF << /F 6 0 R >> >>",
            f"<< /Type /EmbeddedFile /Length {len(data)} >>\nstream\n{data.decode()}\nendstream",
        ],
    )


def pdf_with_orphan_javascript() -> bytes:
    """JavaScript in an object nothing points to: some viewers still find it."""
    return pdf(objects=["<< /S /JavaScript /JS (app.alert\\(1\\);) >>"])


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf())))
    writer.encrypt(user_password="geheim", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def polyglot_pdf_html() -> bytes:
    """Starts as a PDF, and a browser that sniffs would run it as a web page."""
    return pdf(comment=b"%<html><body><script>alert(document.cookie)</script></body></html>\n")


def html_then_pdf() -> bytes:
    return b"<html><script>alert(1)</script>\n" + pdf()


def pdf_with_zip_after_eof() -> bytes:
    return pdf(tail=b"PK\x03\x04" + b"\x00" * 26 + b"evil.js")


def svg_with_script() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(document.domain)</script><rect width='10' height='10'/></svg>"
    )


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int = 6) -> bytes:
    """A phone photo: camera make, time and a GPS position (Amsterdam) in EXIF, rotated by EXIF."""
    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(size[0] // 2):  # a blue band along the top left, to check the rotation
        for y in range(min(8, size[1])):
            image.putpixel((x, y), (0, 0, 255))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:11:23 10:30:00"  # DateTime
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 22.0, 12.5)
    gps[3], gps[4] = "E", (4.0, 53.0, 42.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


def png_with_text(size: tuple[int, int] = (40, 30)) -> bytes:
    info = PngInfo()
    info.add_text("Author", "Sanne de Boer")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 52.37 4.89</x:xmpmeta>")
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 120, 40, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    return jpeg_with_gps((400, 300))[:600]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A black 1-bit PNG of ``width`` x ``height``: a few hundred KB that decode to gigabytes."""
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    compressed = bytearray()
    for _ in range(height):
        compressed += packer.compress(row)
    compressed += packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", bytes(compressed))
        + _chunk(b"IEND", b"")
    )
