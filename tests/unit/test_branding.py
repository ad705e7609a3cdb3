"""A municipality's branding: tokens checked for WCAG AA contrast, a stylesheet that keeps every
text readable and holds nothing typed, and a logo that is stored only when clean."""

from __future__ import annotations

import re
import struct
import zlib

import defusedxml.ElementTree as SafeElementTree
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backend.settings import WEB_DIR
from backend.tenancy import branding
from backend.tenancy.branding import LogoRefused, contrast_ratio, parse_colour

APP_CSS = (WEB_DIR / "static" / "css" / "app.css").read_text(encoding="utf-8")
SVG = "http://www.w3.org/2000/svg"


def declarations(css: str) -> dict[str, str]:
    """The custom properties of the first ``:root`` block."""
    found = re.search(r":root\s*\{(.*?)\}", css, re.S)
    assert found is not None
    without_comments = re.sub(r"/\*.*?\*/", "", found.group(1), flags=re.S)
    return {
        name: " ".join(value.split())
        for name, value in re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", without_comments)
    }


# -- Colours and contrast ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "colour"),
    [
        ("#154273", "#154273"),
        ("  #ABCDEF ", "#abcdef"),
        ("#fFf", "#ffffff"),
        ("#1a2", "#11aa22"),
        ("154273", None),
        ("#15427", None),
        ("#1542733", None),
        ("#ggg", None),
        ("red", None),
        ("", None),
        ("#fff;}", None),
        ("rgb(0,0,0)", None),
        ("#١٢٣", None),  # Arabic-Indic digits are digits, but not hexadecimal ones
    ],
)
def test_a_colour_is_written_as_hex(typed: str, colour: str | None) -> None:
    assert parse_colour(typed) == colour


def test_known_contrast_ratios() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#154273", "#154273") == pytest.approx(1)


def test_the_defaults_pass_and_are_app_css_own_values() -> None:
    tokens, errors = branding.check_tokens({})
    assert errors == {}
    assert tokens == dict(branding.DEFAULTS)
    assert branding.check_tokens(branding.FIELD_DEFAULTS) == (tokens, {})

    ours, theirs = declarations(branding.stylesheet({})), declarations(APP_CSS)
    for name in ("--color-primary", "--color-link", "--color-focus", "--font-family", "--color-on-primary"):
        assert ours[name] == theirs[name], name
    for name in ("--color-primary-dark", "--color-primary-light", "--color-primary-tint"):
        # Derived, so not to the digit, but no one sees the difference.
        a, b = ours[name], theirs[name]
        assert all(abs(int(a[i : i + 2], 16) - int(b[i : i + 2], 16)) <= 2 for i in (1, 3, 5)), name
    assert ours["--balie-color-primary"] == "#154273"
    assert ours["--balie-font-family"] == theirs["--font-family"]


def test_fields_and_names_line_up() -> None:
    assert [token.css_property for token in branding.TOKENS] == [
        "--balie-color-primary",
        "--balie-color-on-primary",
        "--balie-color-link",
        "--balie-color-focus",
        "--balie-font-family",
    ]
    assert branding.FIELD_DEFAULTS["color_on_primary"] == branding.DEFAULTS["color.on-primary"] == "#ffffff"
    assert set(branding.FONT_NAMES) == set(branding.FONTS) == {"system", "arial", "verdana", "georgia"}
    assert branding.form_values({}) == dict(branding.FIELD_DEFAULTS)
    assert branding.form_values({"color.primary": "#00811f"})["color_primary"] == "#00811f"


@pytest.mark.parametrize(
    ("typed", "field", "needed"),
    [
        ({"color_on_primary": "#5a7ea6"}, "color_on_primary", "4,5"),
        (
            {"color_primary": "#e05a00", "color_on_primary": "#000", "color_focus": "#fff"},
            "color_primary",
            "4,5",
        ),
        ({"color_link": "#777777"}, "color_link", "4,5"),
        ({"color_focus": "#154273"}, "color_focus", "4,5"),
        ({"color_focus": "#4a6ea0"}, "color_focus", "4,5"),
        ({"color_focus": "#828282"}, "color_focus", "3,0"),
    ],
)
def test_each_contrast_rule_names_its_field_and_what_is_needed(
    typed: dict[str, str], field: str, needed: str
) -> None:
    _, errors = branding.check_tokens(typed)
    assert list(errors) == [field]
    text, values = errors[field]
    assert "{ratio}:1" in text and "{needed}:1" in text
    assert values["needed"] == needed
    assert re.fullmatch(r"\d+,\d", str(values["ratio"]))


def test_the_ratio_found_is_rounded_down() -> None:
    # #707070 on the footer's grey (#f3f3f3) is 4.463: "4,5" would say it is enough.
    _, errors = branding.check_tokens({"color_link": "#707070"})
    assert errors["color_link"][1] == {"ratio": "4,4", "needed": "4,5"}
    # #6f6f6f is the lightest grey that passes there (and so on white).
    assert branding.check_tokens({"color_link": "#6f6f6f"})[1] == {}


def test_an_unknown_font_or_a_wrong_colour_is_refused() -> None:
    tokens, errors = branding.check_tokens(
        {"font_family": "Comic Sans", "color_link": "blauw", "color_primary": " #00811F "}
    )
    assert set(errors) == {"font_family", "color_link"}
    assert errors["color_link"] == ("Vul een kleur in als #1a2b3c.", {})
    assert tokens["color.primary"] == "#00811f"
    assert tokens["font.family"] == "system"


def test_a_colour_that_is_not_read_is_not_compared() -> None:
    _, errors = branding.check_tokens({"color_primary": "oranje", "color_on_primary": "#ffbf47"})
    assert set(errors) == {"color_primary"}


# -- Stylesheet -------------------------------------------------------------------------------------

WHITE = "#ffffff"
PAIRS = (
    # (text, background, needed): what app.css puts on what.
    ("--color-on-primary", "--color-primary", 4.5),  # header, primary button, chosen slot, step
    ("--color-on-primary", "--color-primary-dark", 4.5),  # primary button, hovered
    ("--color-primary-dark", "--color-primary-light", 4.5),  # pressed button
    ("--color-primary-dark", "--color-primary-tint", 4.5),  # pressed secondary button, hovered
    ("--color-primary", WHITE, 4.5),  # headings, secondary buttons, slots, table heads
    ("--color-primary", "--color-primary-tint", 4.5),  # hovered secondary button and slot, badge
    ("--color-link", WHITE, 4.5),
    ("--color-link", "--color-primary-tint", 4.5),  # hovered card link, table row
    ("#1a1a1a", "--color-primary-tint", 4.5),  # --color-text in a hovered table row
    ("#535353", "--color-primary-tint", 4.5),  # --color-text-muted there
    ("#5b2a86", "--color-primary-tint", 4.5),  # --color-link-visited there
    ("#0b0c0c", "--color-focus", 4.5),  # a focused link
    ("--color-focus", "--color-primary", 3.0),  # the focus ring in the header
)


def low_pairs(css: str) -> list[str]:
    values = declarations(css)
    low = []
    for text, background, needed in PAIRS:
        a, b = values.get(text, text), values.get(background, background)
        if contrast_ratio(a, b) < needed:
            low.append(f"{text} {a} on {background} {b}: {contrast_ratio(a, b):.2f}")
    return low


colours = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")
FOCUS_CHOICES = ("#ffbf47", "#ffffff", "#ffff00", "#7fffd4", "#000000")


@given(
    primary=colours,
    on_primary=st.sampled_from(["#ffffff", "#000000", "#f5f5f5", "#1a1a1a"]) | colours,
    link=st.just("#154273") | colours,
)
def test_every_derived_pair_keeps_aa_contrast(primary: str, on_primary: str, link: str) -> None:
    raw = {"color_primary": primary, "color_on_primary": on_primary, "color_link": link}
    for focus in FOCUS_CHOICES:
        tokens, errors = branding.check_tokens({**raw, "color_focus": focus})
        if not errors:
            break
    assume(not errors)
    css = branding.stylesheet(tokens)
    assert declarations(css)["--color-primary"] == parse_colour(primary)
    assert low_pairs(css) == []


def test_a_dark_text_on_a_bright_primary_gets_a_hover_that_keeps_it_readable() -> None:
    tokens = {"color.primary": "#ec0000", "color.on-primary": "#000000", "color.focus": "#ffff00"}
    assert branding.check_tokens(branding.form_values(tokens))[1] == {}
    values = declarations(branding.stylesheet(tokens))
    assert values["--color-primary-dark"] != values["--color-primary"]
    assert low_pairs(branding.stylesheet(tokens)) == []


@pytest.mark.parametrize("typed", ["red;}body{x:1", '"</style>', "#fff;}*{background:url(//x)}", "#fff\n}"])
def test_what_is_typed_never_reaches_the_stylesheet(typed: str) -> None:
    raw = {token.field: typed for token in branding.TOKENS}
    _, errors = branding.check_tokens(raw)
    assert set(errors) == set(raw)
    stored = {token.name: typed for token in branding.TOKENS}
    css = branding.stylesheet(stored)
    assert css == branding.stylesheet({})
    for piece in ("red", "body", "style", "<", "url", "x:1"):
        assert piece not in css
    assert branding.email_style(stored) == branding.email_style({})


def test_stored_tokens_that_lost_their_contrast_fall_back_to_the_defaults() -> None:
    css = branding.stylesheet({"color.primary": "#ffffff", "color.link": "#00811f"})
    values = declarations(css)
    assert values["--color-primary"] == "#154273"
    assert values["--color-link"] == "#154273"


def test_the_stylesheet_declares_every_token_and_app_css_variable() -> None:
    css = branding.stylesheet({"color.primary": "#00811F", "font.family": "verdana"})
    values = declarations(css)
    assert css.count("{") == css.count("}") == 1
    assert {token.css_property for token in branding.TOKENS} <= set(values)
    assert {
        "--color-primary",
        "--color-primary-dark",
        "--color-primary-light",
        "--color-primary-tint",
        "--color-on-primary",
        "--color-link",
        "--color-focus",
        "--font-family",
    } <= set(values)
    assert values["--color-primary"] == values["--balie-color-primary"] == "#00811f"
    assert values["--font-family"] == values["--balie-font-family"] == branding.FONTS["verdana"][1]
    assert branding.css_declarations({"font.family": "verdana"})[4][0] == "--balie-font-family"


def test_email_style_has_the_checked_colours_and_font_stack() -> None:
    assert branding.email_style({}) == {
        "primary": "#154273",
        "on_primary": "#ffffff",
        "link": "#154273",
        "font": branding.FONTS["system"][1],
    }
    assert branding.email_style({"color.link": "#00811F"})["link"] == "#00811f"


def test_app_css_puts_on_primary_text_on_every_primary_background() -> None:
    assert declarations(APP_CSS)["--color-on-primary"] == "#ffffff"
    css = re.sub(r"/\*.*?\*/", "", APP_CSS, flags=re.S)
    checked = 0
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        rules: dict[str, str] = dict(re.findall(r"([\w-]+)\s*:\s*([^;]+);", body))
        background = rules.get("background", rules.get("background-color", ""))
        if background.strip() in ("var(--color-primary)", "var(--color-primary-dark)") and "color" in rules:
            assert rules["color"].strip() == "var(--color-on-primary)", selector.strip()
            checked += 1
    assert checked >= 4  # header, primary button, chosen slot, current step


# -- Logo: PNG --------------------------------------------------------------------------------------

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int = 3, height: int = 2, *, before_idat: bytes = b"", row_filter: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(bytes([row_filter]) + b"\x15\x42\x73" * width for _ in range(height))
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + before_idat
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def chunk_types(data: bytes) -> list[bytes]:
    kinds, position = [], 8
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kinds.append(data[position + 4 : position + 8])
        position += 12 + length
    return kinds


def test_a_png_keeps_its_picture_and_loses_its_metadata() -> None:
    phys = chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
    text = chunk(b"tEXt", b"Author\x00Jan Jansen, afdeling Communicatie")
    exif = chunk(b"eXIf", b"MM\x00*" + b"\x00" * 8)
    data = png(before_idat=phys + text + exif)
    stored, content_type = branding.sanitise_logo(data, "image/svg+xml")
    assert content_type == "image/png"
    assert chunk_types(stored) == [b"IHDR", b"pHYs", b"IDAT", b"IEND"]
    assert b"Jansen" not in stored
    assert stored == png(before_idat=phys)
    assert branding.sanitise_logo(stored) == (stored, "image/png")


def test_an_interlaced_png_is_read_too() -> None:
    width, height = 9, 5
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 1)
    passes = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ]
    raw = b""
    for x0, y0, dx, dy in passes:
        columns, rows = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if columns > 0 and rows > 0:
            raw += (b"\x00" + b"\x80" * columns) * rows
    data = SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    assert branding.sanitise_logo(data) == (data, "image/png")


def broken_crc() -> bytes:
    data = bytearray(png())
    data[-13] ^= 0xFF  # the last byte of the IDAT chunk's CRC
    return bytes(data)


def too_little_pixel_data() -> bytes:
    header = struct.pack(">IIBBBBB", 3, 3, 8, 2, 0, 0, 0)
    rows = (b"\x00" + b"\x15\x42\x73" * 3) * 2
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(broken_crc(), id="wrong CRC"),
        pytest.param(png()[:-20], id="truncated"),
        pytest.param(png()[:40], id="cut in IHDR"),
        pytest.param(png(row_filter=9), id="unknown row filter"),
        pytest.param(too_little_pixel_data(), id="fewer rows than IHDR says"),
        pytest.param(SIGNATURE + chunk(b"IEND", b""), id="no IHDR"),
        pytest.param(png(before_idat=chunk(b"XBAD", b"")), id="unknown critical chunk"),
        pytest.param(png(width=0), id="no pixels"),
    ],
)
def test_a_broken_png_is_refused(data: bytes) -> None:
    with pytest.raises(LogoRefused) as refused:
        branding.sanitise_logo(data)
    assert refused.value.message == (branding.BROKEN, {})


def test_a_png_of_absurd_size_is_refused() -> None:
    header = struct.pack(">IIBBBBB", 40_000, 1, 8, 2, 0, 0, 0)
    data = SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")
    with pytest.raises(LogoRefused) as refused:
        branding.sanitise_logo(data)
    assert refused.value.message == (branding.TOO_MANY_PIXELS, {"max": 4000})


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32, id="JPEG"),
        pytest.param(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", id="GIF"),
        pytest.param(b"<!doctype html><html><body><script>alert(1)</script></body></html>", id="HTML"),
        pytest.param(b"%PDF-1.7\n", id="PDF"),
    ],
)
def test_other_files_are_refused(data: bytes) -> None:
    with pytest.raises(LogoRefused) as refused:
        branding.sanitise_logo(data, "image/png")
    assert refused.value.message == (branding.NOT_AN_IMAGE, {})


def test_an_empty_or_too_large_file_is_refused() -> None:
    with pytest.raises(LogoRefused) as refused:
        branding.sanitise_logo(b"")
    assert refused.value.message == (branding.EMPTY, {})
    with pytest.raises(LogoRefused) as refused:
        branding.sanitise_logo(png() + b"\x00" * branding.MAX_LOGO_BYTES)
    text, values = refused.value.message
    assert text == branding.TOO_LARGE and "{size}" in text
    assert values == {"size": "512 kB"}


# -- Logo: SVG --------------------------------------------------------------------------------------

HOSTILE_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet href="http://evil.example/x.css"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
     viewBox="0 0 200 80" width="200" height="80" onload="alert(1)" inkscape:version="1.3">
  <title>Gemeente Voorbeeld</title>
  <style>rect { fill: url(http://evil.example/style) }</style>
  <script>alert(2)</script>
  <defs>
    <linearGradient id="blue">
      <stop offset="0" stop-color="#154273"/><stop offset="1" style="stop-color:#fff"/>
    </linearGradient>
  </defs>
  <rect id="bar" width="20" height="80" fill="url(#blue)" onclick="alert(3)" class="st0"
        style="stroke:#000000; stroke-width: 2 !important; fill: url(http://evil.example/fill); behavior: x"/>
  <circle cx="40" cy="40" r="10" fill="url(http://evil.example/circle)"/>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>
  <a href="javascript:alert(4)"><path d="M60 0h20v80h-20z"/></a>
  <use xlink:href="http://evil.example/sprite.svg#logo"/>
  <use xlink:href="#bar" x="100"/>
  <image href="http://evil.example/tracker.png" width="1" height="1"/>
  <animate attributeName="href" to="javascript:alert(5)"/>
  <set attributeName="fill" to="red"/>
  <path d="M0 0" fill="javascript:alert(6)" stroke="&#x75;rl(data:x)"/>
  <text x="90" y="50" font-family="Arial">Gemeente <tspan font-weight="bold">Voorbeeld</tspan> &amp; co</text>
</svg>"""


def test_a_hostile_svg_comes_out_clean_and_still_shows_the_logo() -> None:
    stored, content_type = branding.sanitise_logo(HOSTILE_SVG, "image/png")
    assert content_type == "image/svg+xml"
    text = stored.decode("utf-8")
    for gone in (
        "script",
        "alert",
        "onload",
        "onclick",
        "foreignObject",
        "javascript",
        "evil.example",
        "<image",
        "<style",
        "style=",
        "class=",
        "<a ",
        "animate",
        "<set",
        "data:",
        "inkscape",
        "behavior",
        "xml-stylesheet",
    ):
        assert gone not in text, gone
    root = SafeElementTree.fromstring(stored, forbid_dtd=True)
    assert root.tag == f"{{{SVG}}}svg"
    assert root.get("viewBox") == "0 0 200 80"
    rect = root.find(f"{{{SVG}}}rect")
    assert rect is not None
    assert rect.get("fill") == "url(#blue)"
    assert (rect.get("stroke"), rect.get("stroke-width")) == ("#000000", "2")
    circle = root.find(f"{{{SVG}}}circle")
    assert circle is not None and circle.get("fill") is None
    stops = root.findall(f".//{{{SVG}}}stop")
    assert [stop.get("stop-color") for stop in stops] == ["#154273", "#fff"]
    uses = root.findall(f"{{{SVG}}}use")
    assert [use.get("{http://www.w3.org/1999/xlink}href") for use in uses] == ["#bar"]
    assert root.find(f"{{{SVG}}}g/{{{SVG}}}path") is not None  # the link's content stays, as a group
    label = root.find(f"{{{SVG}}}text")
    assert label is not None and "".join(label.itertext()) == "Gemeente Voorbeeld & co"
    assert branding.sanitise_logo(stored) == (stored, "image/svg+xml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&lol3;</text></svg>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&secret;</text></svg>"""
PLAIN_DOCTYPE = b"""<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DOCTYPE])
def test_an_svg_with_a_doctype_is_refused(data: bytes) -> None:
    with pytest.raises(LogoRefused) as refused:
        branding.sanitise_logo(data)
    assert refused.value.message == (branding.UNSAFE_SVG, {})


@pytest.mark.parametrize(
    ("data", "text"),
    [
        pytest.param(b'<svg width="1"><rect width="1" height="1"/></svg>', branding.NO_SVG_ROOT, id="no ns"),
        pytest.param(
            b'<html xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="http://www.w3.org/2000/svg"/></html>',
            branding.NO_SVG_ROOT,
            id="svg inside html",
        ),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', branding.BROKEN, id="broken"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,AAAA"/></svg>',
            branding.NOTHING_TO_SHOW,
            id="only a picture",
        ),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg">' + b"<g>" * 200 + b"</g>" * 200 + b"</svg>",
            branding.UNSAFE_SVG,
            id="nested too deep",
        ),
    ],
)
def test_an_svg_that_is_not_a_logo_is_refused(data: bytes, text: str) -> None:
    with pytest.raises(LogoRefused) as refused:
        branding.sanitise_logo(data)
    assert refused.value.message == (text, {})


def test_a_refusal_carries_its_message() -> None:
    refused = LogoRefused(branding.TOO_LARGE, size="512 kB")
    assert refused.message == (branding.TOO_LARGE, {"size": "512 kB"})
    assert str(refused) == branding.TOO_LARGE
