"""A municipality's branding: NL Design System design tokens, checked for contrast, and its logo.

A municipality admin picks a few design tokens (``color.primary``, ``color.on-primary``,
``color.link``, ``color.focus``, ``font.family``). :func:`check_tokens` refuses any set that falls
below WCAG 2.1 AA contrast; :func:`stylesheet` turns a checked set into the CSS served at
``/{slug}/huisstijl.css`` after app.css, deriving the darker and lighter shades app.css uses so that
every text stays readable. Only parsed colours and fonts from :data:`FONTS` reach the CSS.

A logo is decided by its bytes, never by the declared type: a PNG is checked chunk by chunk and
stored without its metadata, an SVG is parsed without DTD or entities and rebuilt from an
allow-list of elements and attributes (:func:`sanitise_logo`). Every message is plain Dutch (``N_``).
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import defusedxml
import defusedxml.ElementTree as SafeElementTree

from backend.booking.agenda_form import Checker, Message
from backend.i18n import N_

if TYPE_CHECKING:
    # A type only: parsing goes through defusedxml, building and writing XML is safe.
    from xml.etree.ElementTree import Element

# -- Tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """One design token: its NL Design System name, its form field and its default."""

    name: str
    field: str
    default: str

    @property
    def css_property(self) -> str:
        """``color.on-primary`` -> ``--balie-color-on-primary``."""
        return "--balie-" + self.name.replace(".", "-")


TOKENS: Final[tuple[Token, ...]] = (
    Token("color.primary", "color_primary", "#154273"),
    Token("color.on-primary", "color_on_primary", "#ffffff"),
    Token("color.link", "color_link", "#154273"),
    Token("color.focus", "color_focus", "#ffbf47"),
    Token("font.family", "font_family", "system"),
)
"""The defaults are app.css's own ``:root`` values."""
_COLOURS: Final = tuple(token for token in TOKENS if token.name.startswith("color."))
DEFAULTS: Final[Mapping[str, str]] = MappingProxyType({token.name: token.default for token in TOKENS})
FIELD_DEFAULTS: Final[Mapping[str, str]] = MappingProxyType({token.field: token.default for token in TOKENS})

FONTS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "system": (
            N_("Standaard van het apparaat"),
            'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
            'sans-serif, "Apple Color Emoji", "Segoe UI Emoji"',
        ),
        "arial": ("Arial", 'Arial, "Helvetica Neue", Helvetica, "Liberation Sans", sans-serif'),
        "verdana": ("Verdana", 'Verdana, Geneva, "DejaVu Sans", sans-serif'),
        "georgia": ("Georgia", 'Georgia, "Times New Roman", Times, "Liberation Serif", serif'),
    }
)
"""Key -> (label, CSS font stack). Fonts already on the device only: the CSP loads no web fonts."""
FONT_NAMES: Final[Mapping[str, str]] = MappingProxyType({key: label for key, (label, _) in FONTS.items()})

WHITE: Final = "#ffffff"
BLACK: Final = "#000000"
SURFACE: Final = "#f3f3f3"
"""app.css ``--color-surface``: the footer, with the municipality's website and privacy links."""
FOCUS_INNER: Final = "#0b0c0c"
"""app.css ``--color-focus-inner``: the dark line of the focus ring and the text on the focus colour."""
TEXT_ON_TINT: Final = ("#1a1a1a", "#535353", "#5b2a86")
"""app.css ``--color-text``, ``--color-text-muted`` and ``--color-link-visited``: shown on the tint too."""
AA: Final = 4.5
"""WCAG 2.1 AA for normal text (1.4.3)."""
AA_NON_TEXT: Final = 3.0
"""WCAG 2.1 AA for a focus ring against what is next to it (1.4.11)."""

_COLOUR: Final = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})", re.IGNORECASE)

WRONG_COLOUR: Final = N_("Vul een kleur in als #1a2b3c.")
_LOW_ON_PRIMARY: Final = N_("Te weinig contrast met de hoofdkleur: {ratio}:1, nodig is minstens {needed}:1.")
_LOW_ON_WHITE: Final = N_("Te weinig contrast met wit: {ratio}:1, nodig is minstens {needed}:1.")
_LOW_ON_SURFACE: Final = N_(
    "Te weinig contrast met de lichtgrijze onderkant van de pagina: {ratio}:1, nodig is minstens {needed}:1."
)
_LOW_ON_BLACK: Final = N_("Te weinig contrast met zwart: {ratio}:1, nodig is minstens {needed}:1.")


@dataclass(frozen=True)
class _Rule:
    field: str
    against: str
    """A token name, or a fixed colour."""
    needed: float
    text: str


_RULES: Final = (
    # The primary is also the colour of headings, buttons and table heads on white.
    _Rule("color_primary", WHITE, AA, _LOW_ON_WHITE),
    _Rule("color_on_primary", "color.primary", AA, _LOW_ON_PRIMARY),
    # Links sit on white and on the light grey footer (app.css --color-surface), the darker of the two.
    _Rule("color_link", SURFACE, AA, _LOW_ON_SURFACE),
    _Rule("color_focus", FOCUS_INNER, AA, _LOW_ON_BLACK),
    _Rule("color_focus", "color.primary", AA_NON_TEXT, _LOW_ON_PRIMARY),
)


def parse_colour(raw: str) -> str | None:
    """``#rgb`` or ``#rrggbb`` (any case, spaces around) -> lowercase ``#rrggbb``; else None."""
    found = _COLOUR.fullmatch(raw.strip())
    if found is None:
        return None
    digits = found.group(1).lower()
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return f"#{digits}"


def _rgb(colour: str) -> tuple[int, int, int]:
    parsed = parse_colour(colour)
    if parsed is None:
        raise ValueError(f"not a colour: {colour!r}")
    return int(parsed[1:3], 16), int(parsed[3:5], 16), int(parsed[5:7], 16)


def _luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(channel) for channel in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _mix(colour: str, towards: str, amount: float) -> str:
    """``colour`` moved ``amount`` (0 to 1) of the way to ``towards``, channel by channel."""
    mixed = (round(c + (t - c) * amount) for c, t in zip(_rgb(colour), _rgb(towards), strict=True))
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def _tenths(value: float) -> str:
    tenths = math.floor(value * 10 + 1e-9)
    return f"{tenths // 10},{tenths % 10}"


def _ratio_text(ratio: float, needed: float) -> str:
    """One decimal with a comma, rounded down: 4.49 shows as 4,4, never as the 4,5 it misses."""
    text = _tenths(ratio)
    if ratio < needed and text == _tenths(needed):
        return _tenths(needed - 0.1)
    return text


def check_tokens(raw: Mapping[str, str]) -> tuple[dict[str, str], dict[str, Message]]:
    """Form data by field (empty: the default) -> (tokens by name, messages by field).

    The tokens hold the default where a field is not right; store them only without messages.
    """
    check = Checker(raw)
    tokens: dict[str, str] = {}
    for token in TOKENS:
        typed = check.text(token.field).strip() or token.default
        if token.name == "font.family":
            if typed not in FONTS:
                check.fail(token.field, N_("Kies een van de mogelijkheden."))
                typed = token.default
        else:
            colour = parse_colour(typed)
            if colour is None:
                check.fail(token.field, WRONG_COLOUR)
            typed = colour or token.default
        tokens[token.name] = typed
    names = {token.field: token.name for token in TOKENS}
    unreadable = {names[field] for field in check.errors}
    for rule in _RULES:
        if rule.field in check.errors or rule.against in unreadable:
            continue
        ratio = contrast_ratio(tokens[names[rule.field]], tokens.get(rule.against, rule.against))
        if ratio < rule.needed:
            check.fail(
                rule.field, rule.text, ratio=_ratio_text(ratio, rule.needed), needed=_tenths(rule.needed)
            )
    return tokens, check.errors


def form_values(tokens: Mapping[str, str]) -> dict[str, str]:
    """Stored tokens (by name, maybe none) -> the form's fields, defaults filled in."""
    return {token.field: str(tokens.get(token.name) or token.default) for token in TOKENS}


def _checked(tokens: Mapping[str, str]) -> dict[str, str]:
    """Stored tokens checked once more: the default font for an unknown one, all default colours
    when any colour is not right (one default beside custom colours could lose contrast)."""
    checked, errors = check_tokens(form_values(tokens))
    if any(token.field in errors for token in _COLOURS):
        checked.update({token.name: token.default for token in _COLOURS})
    return checked


def _lightened(primary: str, percent: int, texts: Iterable[str]) -> str | None:
    """The first mix of ``primary`` with white, from ``percent`` up to white, that every text in
    ``texts`` reads on (4.5:1); None if not even white does."""
    needed = tuple(texts)
    for n in range(percent, 101):
        background = _mix(primary, WHITE, n / 100)
        if all(contrast_ratio(text, background) >= AA for text in needed):
            return background
    return None


def _darker_candidates(primary: str) -> Iterator[str]:
    """Darker first; where a darker one loses contrast with a dark on-primary, lighter; last the
    primary itself."""
    for amount in (0.3, 0.25, 0.2, 0.15, 0.1, 0.05):
        yield _mix(primary, BLACK, amount)
        yield _mix(primary, WHITE, amount)
    yield primary


def _shades(primary: str, on_primary: str, link: str) -> tuple[str, str, str]:
    """app.css's ``--color-primary-dark``, ``-light`` and ``-tint`` for a checked set.

    Dark: the hover background of a primary button (on-primary text) and the text of a pressed
    button (on light, and on tint while hovered). Light: that pressed background. Tint: the hover
    background of links, secondary buttons, slots and table rows.
    """
    for dark in _darker_candidates(primary):
        if contrast_ratio(on_primary, dark) < AA:
            continue
        tint = _lightened(primary, 93, (primary, dark, link, *TEXT_ON_TINT))
        light = _lightened(primary, 85, (dark,))
        if tint is not None and light is not None:
            return dark, light, tint
    # The primary with white as light and tint always passes a set check_tokens lets through.
    raise RuntimeError(f"no shades for a checked set: {primary}, {on_primary}, {link}")


_SAFE_CSS_VALUE: Final = re.compile(r'#[0-9a-f]{6}|[A-Za-z0-9 ,"-]+')


def css_declarations(tokens: Mapping[str, str]) -> list[tuple[str, str]]:
    """(custom property, value): every ``--balie-*`` token, then app.css's variables made of them."""
    checked = _checked(tokens)
    primary, on_primary = checked["color.primary"], checked["color.on-primary"]
    link, font = checked["color.link"], FONTS[checked["font.family"]][1]
    dark, light, tint = _shades(primary, on_primary, link)
    values = {**checked, "font.family": font}
    declarations = [(token.css_property, values[token.name]) for token in TOKENS]
    declarations += [
        ("--color-primary", primary),
        ("--color-primary-dark", dark),
        ("--color-primary-light", light),
        ("--color-primary-tint", tint),
        ("--color-on-primary", on_primary),
        ("--color-link", link),
        ("--color-focus", checked["color.focus"]),
        ("--font-family", font),
    ]
    for prop, value in declarations:
        if not _SAFE_CSS_VALUE.fullmatch(value):
            raise RuntimeError(f"unsafe CSS value for {prop}: {value!r}")
    return declarations


def stylesheet(tokens: Mapping[str, str]) -> str:
    """The CSS of ``/{slug}/huisstijl.css``, read after app.css: one ``:root`` block."""
    lines = "\n".join(f"  {prop}: {value};" for prop, value in css_declarations(tokens))
    return f"/* Huisstijl: design tokens of the municipality, checked. */\n:root {{\n{lines}\n}}\n"


def email_style(tokens: Mapping[str, str]) -> dict[str, str]:
    """The checked colours and font stack for inline styles in HTML emails."""
    checked = _checked(tokens)
    return {
        "primary": checked["color.primary"],
        "on_primary": checked["color.on-primary"],
        "link": checked["color.link"],
        "font": FONTS[checked["font.family"]][1],
    }


# -- Logo -----------------------------------------------------------------------------------------

MAX_LOGO_BYTES: Final = 512 * 1024
MAX_LOGO_SIDE: Final = 4000
"""Pixels, for the width and for the height of a PNG."""

TOO_LARGE: Final = N_("Het logo is te groot. Het mag hoogstens {size} zijn.")
EMPTY: Final = N_("Het bestand is leeg. Kies het bestand met het logo.")
NOT_AN_IMAGE: Final = N_("Kies een logo als PNG- of SVG-bestand.")
BROKEN: Final = N_("Dit bestand is kapot of niet compleet. Sla het logo opnieuw op en probeer het nog eens.")
TOO_MANY_PIXELS: Final = N_("Het logo is te groot: hoogstens {max} bij {max} pixels.")
NO_SVG_ROOT: Final = N_(
    "Dit is geen goede SVG: het bestand begint niet met <svg>. Sla het logo opnieuw op als SVG."
)
UNSAFE_SVG: Final = N_(
    "Dit SVG-bestand kunnen we niet veilig gebruiken. Sla het logo opnieuw op als gewone SVG, zonder DOCTYPE."
)
NOTHING_TO_SHOW: Final = N_(
    "In dit SVG-bestand staat niets wat we kunnen laten zien. Een foto of script in een SVG mag niet."
)


class LogoRefused(Exception):
    """A logo that is not stored; ``message`` says why, in plain Dutch."""

    def __init__(self, text: str, **values: object) -> None:
        super().__init__(text)
        self.message: Message = (text, values)


def sanitise_logo(data: bytes, declared_type: str | None = None) -> tuple[bytes, str]:
    """(bytes to store, ``image/png`` or ``image/svg+xml``), or :class:`LogoRefused`.

    ``declared_type`` (what the browser said) is ignored on purpose: only the bytes decide.
    """
    del declared_type
    if not data:
        raise LogoRefused(EMPTY)
    if len(data) > MAX_LOGO_BYTES:
        raise LogoRefused(TOO_LARGE, size=f"{MAX_LOGO_BYTES // 1024} kB")
    if data.startswith(_PNG_SIGNATURE):
        return _clean_png(data), "image/png"
    start = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<") and b"<svg" in data.lower():
        return _clean_svg(data), "image/svg+xml"
    raise LogoRefused(NOT_AN_IMAGE)


# -- PNG --

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_CRITICAL: Final = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
_KEPT_ANCILLARY: Final = {b"tRNS": None, b"sRGB": 1, b"gAMA": 4, b"pHYs": 9}
"""Chunks needed to show the picture right (with their length, if fixed); text, EXIF, time and the
rest are dropped, so no metadata leaks."""
_DEPTHS: Final = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7: Final = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk up to IEND, each CRC checked; what follows IEND is dropped."""
    chunks: list[tuple[bytes, bytes]] = []
    position = len(_PNG_SIGNATURE)
    while not chunks or chunks[-1][0] != b"IEND":
        if position + 12 > len(data):
            raise LogoRefused(BROKEN)
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            raise LogoRefused(BROKEN)
        body = data[position + 8 : end - 4]
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(kind + body) != crc:
            raise LogoRefused(BROKEN)
        chunks.append((kind, body))
        position = end
    return chunks


def _scanlines(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> list[tuple[int, int]]:
    """(rows, bytes per row with its filter byte) of each pass that has pixels."""
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    result: list[tuple[int, int]] = []
    for x0, y0, dx, dy in passes:
        columns, rows = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if columns > 0 and rows > 0:
            result.append((rows, 1 + (columns * bits_per_pixel + 7) // 8))
    return result


def _check_pixels(compressed: bytes, scanlines: list[tuple[int, int]]) -> None:
    """The image data inflates to exactly the rows IHDR promises, each with a known filter; it is
    inflated in pieces and thrown away, so a small file cannot take much memory."""
    filters: list[int] = []
    offset = 0
    for rows, stride in scanlines:
        filters.extend(range(offset, offset + rows * stride, stride))
        offset += rows * stride
    expected, produced, next_filter = offset, 0, 0
    inflate = zlib.decompressobj()
    pending = compressed
    try:
        while not inflate.eof:
            piece = inflate.decompress(pending, 1 << 16)
            pending = inflate.unconsumed_tail
            if not piece and not pending:
                break
            if produced + len(piece) > expected:
                raise LogoRefused(BROKEN)
            while next_filter < len(filters) and filters[next_filter] < produced + len(piece):
                if piece[filters[next_filter] - produced] > 4:
                    raise LogoRefused(BROKEN)
                next_filter += 1
            produced += len(piece)
    except zlib.error as exc:
        raise LogoRefused(BROKEN) from exc
    if not inflate.eof or produced != expected:
        raise LogoRefused(BROKEN)


def _clean_png(data: bytes) -> bytes:
    chunks = _png_chunks(data)
    kind, header = chunks[0]
    if kind != b"IHDR" or len(header) != 13:
        raise LogoRefused(BROKEN)
    width, height, depth, colour_type, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    if depth not in _DEPTHS.get(colour_type, ()) or compression or filtering or interlace > 1:
        raise LogoRefused(BROKEN)
    if not width or not height:
        raise LogoRefused(BROKEN)
    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        raise LogoRefused(TOO_MANY_PIXELS, max=MAX_LOGO_SIDE)
    kinds = [kind for kind, _ in chunks]
    idat = [i for i, kind in enumerate(kinds) if kind == b"IDAT"]
    palettes = [body for kind, body in chunks if kind == b"PLTE"]
    if (
        kinds.count(b"IHDR") != 1
        or chunks[-1][1]
        or not idat
        or idat != list(range(idat[0], idat[-1] + 1))
        or any(kind not in _CRITICAL and not kind[0] & 0x20 for kind in kinds)
        or len(palettes) > 1
        or (colour_type == 3 and not palettes)
        or (palettes and (colour_type in (0, 4) or kinds.index(b"PLTE") > idat[0]))
        or any(len(p) % 3 or not 3 <= len(p) <= 3 * min(256, 1 << depth) for p in palettes)
    ):
        raise LogoRefused(BROKEN)
    _check_pixels(
        b"".join(chunks[i][1] for i in idat),
        _scanlines(width, height, depth * _CHANNELS[colour_type], interlace == 1),
    )
    kept: list[tuple[bytes, bytes]] = []
    for position, (kind, body) in enumerate(chunks):
        if kind in _CRITICAL or (
            kind in _KEPT_ANCILLARY
            and position < idat[0]
            and kind not in (k for k, _ in kept)
            and _ancillary_fits(kind, body, colour_type, palettes)
        ):
            kept.append((kind, body))
    return _PNG_SIGNATURE + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in kept
    )


def _ancillary_fits(kind: bytes, body: bytes, colour_type: int, palettes: list[bytes]) -> bool:
    if kind != b"tRNS":
        return len(body) == _KEPT_ANCILLARY[kind]
    if colour_type == 3:
        return bool(palettes) and 0 < len(body) <= len(palettes[0]) // 3
    return len(body) == {0: 2, 2: 6}.get(colour_type, -1)


# -- SVG --

_SVG: Final = "http://www.w3.org/2000/svg"
_XLINK: Final = "http://www.w3.org/1999/xlink"
_XML: Final = "http://www.w3.org/XML/1998/namespace"
_ELEMENTS: Final = frozenset(
    {
        "svg",
        "g",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "defs",
        "symbol",
        "linearGradient",
        "radialGradient",
        "stop",
        "title",
        "desc",
        "clipPath",
        "mask",
        "use",
    }
)
"""Shapes, text, gradients, clips and masks. ``a`` becomes a ``g`` (``tspan`` in text); the rest
(script, style, foreignObject, image, animate, set, filter, metadata, ...) goes with its content."""
_DRAWN: Final = frozenset({"path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "use"})
_WITH_TEXT: Final = frozenset({"text", "tspan", "title", "desc"})
_PRESENTATION: Final = frozenset(
    {
        "alignment-baseline",
        "baseline-shift",
        "clip-path",
        "clip-rule",
        "color",
        "color-interpolation",
        "direction",
        "display",
        "dominant-baseline",
        "fill",
        "fill-opacity",
        "fill-rule",
        "font-family",
        "font-size",
        "font-stretch",
        "font-style",
        "font-variant",
        "font-weight",
        "isolation",
        "letter-spacing",
        "mask",
        "mix-blend-mode",
        "opacity",
        "overflow",
        "paint-order",
        "shape-rendering",
        "stop-color",
        "stop-opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
        "text-anchor",
        "text-decoration",
        "text-rendering",
        "transform-origin",
        "unicode-bidi",
        "vector-effect",
        "visibility",
        "word-spacing",
        "writing-mode",
    }
)
_ATTRIBUTES: Final = _PRESENTATION | frozenset(
    {
        "aria-describedby",
        "aria-hidden",
        "aria-label",
        "aria-labelledby",
        "clipPathUnits",
        "cx",
        "cy",
        "d",
        "dx",
        "dy",
        "fr",
        "fx",
        "fy",
        "gradientTransform",
        "gradientUnits",
        "height",
        "id",
        "lang",
        "lengthAdjust",
        "maskContentUnits",
        "maskUnits",
        "offset",
        "pathLength",
        "points",
        "preserveAspectRatio",
        "r",
        "role",
        "rotate",
        "rx",
        "ry",
        "spreadMethod",
        "textLength",
        "transform",
        "version",
        "viewBox",
        "width",
        "x",
        "x1",
        "x2",
        "y",
        "y1",
        "y2",
    }
)
"""No ``on*``, ``style`` or ``class``; a ``style`` attribute's allowed properties become attributes."""
_LINK_ATTRIBUTES: Final = {"href": "href", f"{{{_XLINK}}}href": "xlink:href"}
_XML_ATTRIBUTES: Final = {f"{{{_XML}}}space": "xml:space", f"{{{_XML}}}lang": "xml:lang"}
_INTERNAL_REFERENCE: Final = re.compile(r"#[A-Za-z_][\w.:-]*")
_INTERNAL_URL: Final = re.compile(r"url\(\s*(['\"]?)#[A-Za-z_][\w.:-]*\1\s*\)", re.IGNORECASE)
_MAX_DEPTH: Final = 64


def _safe_value(value: str) -> bool:
    """No script or data address, no ``url()`` but ``url(#id)``, no CSS escape to hide either."""
    squeezed = re.sub(r"[\s\x00-\x1f]+", "", value).lower()
    if "\\" in value or "javascript:" in squeezed or "data:" in squeezed or "expression(" in squeezed:
        return False
    return "url(" not in _INTERNAL_URL.sub("", squeezed)


def _style_properties(style: str) -> Iterator[tuple[str, str]]:
    """The allowed presentation properties of a ``style`` attribute (as Inkscape writes them)."""
    if "/*" in style:
        return
    for declaration in style.split(";"):
        prop, colon, value = declaration.partition(":")
        prop, value = prop.strip().lower(), re.sub(r"\s*!\s*important\s*$", "", value.strip(), flags=re.I)
        if colon and prop in _PRESENTATION and value and _safe_value(value):
            yield prop, value


def _attributes(source: Element, local: str) -> dict[str, str] | None:
    """The allowed attributes of an element, or None for a ``use`` that points outside the file."""
    attributes: dict[str, str] = {}
    for prop, value in _style_properties(source.get("style", "")):
        attributes[prop] = value
    for key, value in source.attrib.items():
        if key in _ATTRIBUTES:
            if _safe_value(value):
                attributes.setdefault(key, value)
        elif key in _XML_ATTRIBUTES:
            if re.fullmatch(r"[A-Za-z0-9-]{1,35}", value):
                attributes[_XML_ATTRIBUTES[key]] = value
        elif (
            key in _LINK_ATTRIBUTES
            and local in ("use", "linearGradient", "radialGradient")
            and _INTERNAL_REFERENCE.fullmatch(value.strip())
        ):
            attributes[_LINK_ATTRIBUTES[key]] = value.strip()
    if local == "use" and not any(name in attributes for name in _LINK_ATTRIBUTES.values()):
        return None
    return attributes


def _copy(source: Element, parent: Element, depth: int) -> None:
    """Copy the allowed children of ``source`` into ``parent``, recursively."""
    if depth > _MAX_DEPTH:
        raise LogoRefused(UNSAFE_SVG)
    for child in source:
        if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{_SVG}}}"):
            continue  # comments, processing instructions and other namespaces (editor metadata)
        local = child.tag[len(_SVG) + 2 :]
        if local == "a":
            local = "tspan" if parent.tag in ("text", "tspan") else "g"
        elif local not in _ELEMENTS:
            continue
        attributes = _attributes(child, local)
        if attributes is None:
            continue
        copy = parent.makeelement(local, attributes)
        if local in _WITH_TEXT:
            copy.text = child.text
        if parent.tag in ("text", "tspan"):
            copy.tail = child.tail
        parent.append(copy)
        _copy(child, copy, depth + 1)


def _clean_svg(data: bytes) -> bytes:
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise LogoRefused(UNSAFE_SVG) from exc
    except SafeElementTree.ParseError as exc:
        raise LogoRefused(BROKEN) from exc
    if root.tag != f"{{{_SVG}}}svg":
        raise LogoRefused(NO_SVG_ROOT)
    attributes = _attributes(root, "svg") or {}
    clean = root.makeelement("svg", {"xmlns": _SVG, **attributes})
    _copy(root, clean, 1)
    if not any(element.tag in _DRAWN for element in clean.iter()):
        raise LogoRefused(NOTHING_TO_SHOW)
    if any("xlink:href" in element.attrib for element in clean.iter()):
        clean.set("xmlns:xlink", _XLINK)
    text: str = SafeElementTree.tostring(clean, encoding="unicode")
    return text.encode("utf-8")
