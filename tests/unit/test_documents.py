"""Documents without a server: names, content checks, encryption at rest, the store, settings."""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import uuid
from pathlib import Path

import pytest
from PIL import Image

from backend.crypto import Keyring, SealError
from backend.db.models import DocumentType
from backend.documents.inspection import inspect_upload, sniff
from backend.documents.names import ascii_fallback, clean_name
from backend.documents.rejections import MESSAGES, Rejected
from backend.documents.storage import FilesystemStore, StoreError, new_storage_key
from backend.documents.vault import Vault, master_keyring
from backend.settings import DocumentSettings, Secret, Settings, SettingsError
from signalling import protocol
from tests import documents_samples as samples

LIMITS = DocumentSettings()


def refusal(name: str, data: bytes, limits: DocumentSettings = LIMITS) -> str:
    with pytest.raises(Rejected) as info:
        inspect_upload(name, data, limits)
    return info.value.code


# -- names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("paspoort.pdf", DocumentType.PDF, "paspoort.pdf"),
        ("PASPOORT.PDF", DocumentType.PDF, "PASPOORT.PDF"),
        ("foto.jpeg", DocumentType.JPEG, "foto.jpeg"),
        ("foto", DocumentType.JPEG, "foto.jpg"),
        ("scan 12.03.2026", DocumentType.PDF, "scan 12.03.2026.pdf"),
        ("  a   b  .png", DocumentType.PNG, "a b.png"),
        ("", DocumentType.PDF, "document.pdf"),
        ("...", DocumentType.PDF, "document.pdf"),
        (".pdf", DocumentType.PDF, "pdf.pdf"),
        ("a<b>c.pdf", DocumentType.PDF, "a_b_c.pdf"),
        ("Zoe\u0308.pdf", DocumentType.PDF, "Zoë.pdf"),  # decomposed e-umlaut becomes one character
        ("x" * 200 + ".pdf", DocumentType.PDF, "x" * 96 + ".pdf"),
    ],
)
def test_names_are_tidied(raw: str, kind: DocumentType, expected: str) -> None:
    assert clean_name(raw, kind) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "../x.pdf",
        "/etc/passwd.pdf",
        "C:\\Users\\x.pdf",
        "a\x00b.pdf",
        "a\nb.pdf",
        "a\tb.pdf",
        "factuur\u202efdp.exe",
        "a\u2066b.pdf",
        "zero\u200bwidth.pdf",
        "a\u2028b.pdf",
    ],
)
def test_names_that_pretend_are_refused(raw: str) -> None:
    with pytest.raises(Rejected) as info:
        clean_name(raw, DocumentType.PDF)
    assert info.value.code == "name_invalid"


def test_an_extension_that_lies_is_refused_with_both_facts() -> None:
    with pytest.raises(Rejected) as info:
        clean_name("foto.png", DocumentType.JPEG)
    assert info.value.code == "name_mismatch" and info.value.values == {"kind": "JPG", "extension": ".png"}


def test_ascii_fallback_for_content_disposition() -> None:
    assert ascii_fallback("Zoë – akte.pdf") == "Zoe _ akte.pdf"
    assert ascii_fallback('a"b\\c.pdf') == "a_b_c.pdf"
    assert ascii_fallback("日本.pdf") == "__.pdf"


# -- content ------------------------------------------------------------------------------------------


def test_the_type_comes_from_the_content() -> None:
    assert sniff(samples.pdf()) is DocumentType.PDF
    assert sniff(samples.jpeg_with_gps()) is DocumentType.JPEG
    assert sniff(samples.png_with_text()) is DocumentType.PNG
    assert sniff(samples.svg_with_script()) is None
    assert sniff(samples.gif()) is None
    assert sniff(b"") is None


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (samples.pdf_with_javascript, "pdf_active_content"),
        (samples.pdf_with_hidden_javascript, "pdf_active_content"),
        (samples.pdf_with_orphan_javascript, "pdf_active_content"),
        (samples.pdf_with_launch, "pdf_active_content"),
        (samples.pdf_with_embedded_file, "pdf_embedded_files"),
        (samples.encrypted_pdf, "pdf_encrypted"),
        (samples.polyglot_pdf_html, "pdf_invalid"),
        (samples.pdf_with_zip_after_eof, "pdf_invalid"),
        (samples.html_then_pdf, "type_not_allowed"),
        (lambda: samples.pdf()[:-40], "pdf_invalid"),  # cut off: no %%EOF
        (lambda: b"%PDF-1.4\n%%EOF\n", "pdf_invalid"),  # a header and nothing else
    ],
)
def test_pdfs_that_could_do_more_than_show_pages_are_refused(make: object, code: str) -> None:
    assert callable(make)
    assert refusal("a.pdf", make()) == code


def test_a_plain_pdf_passes_unchanged() -> None:
    data = samples.pdf()
    inspected = inspect_upload("akte.pdf", data, LIMITS)
    assert inspected.content == data and inspected.content_type is DocumentType.PDF


def test_pdf_text_that_mentions_html_inside_a_stream_is_no_polyglot() -> None:
    # Compressed streams are random bytes; only markup outside them (or <script anywhere) counts.
    assert inspect_upload("a.pdf", samples.pdf("uitleg over <html> en <body>"), LIMITS).content


def test_images_are_reencoded_without_metadata() -> None:
    photo = inspect_upload("foto.jpg", samples.jpeg_with_gps(size=(64, 48), orientation=6), LIMITS)
    image = Image.open(io.BytesIO(photo.content))
    assert image.size == (48, 64) and not image.getexif()
    assert image.getpixel((44, 4))[2] > 200 > image.getpixel((4, 44))[2]  # the band turned along
    png = inspect_upload("scan.png", samples.png_with_text(), LIMITS)
    assert Image.open(io.BytesIO(png.content)).info.get("Author") is None


def test_image_limits_are_checked_before_decoding() -> None:
    small = DocumentSettings(max_pixels=1_000)
    assert refusal("foto.jpg", samples.jpeg_with_gps(size=(50, 50)), small) == "image_too_big"
    assert refusal("foto.png", samples.png_bomb(40_000, 10)) == "image_too_big"  # too long a side
    assert refusal("foto.png", samples.png_bomb(30_000, 30_000)) == "image_too_big"


def test_size_is_checked_on_the_bytes() -> None:
    limits = DocumentSettings(max_bytes=1_000)
    assert inspect_upload("a.pdf", samples.pdf(pad_to=1_000), limits).content
    assert refusal("a.pdf", samples.pdf(pad_to=1_001), limits) == "too_large"


def test_every_refusal_has_a_text() -> None:
    for code in MESSAGES:
        assert Rejected(code).message
    with pytest.raises(ValueError):
        Rejected("no_such_reason")


# -- the vault and the store --------------------------------------------------------------------------


def keyring(*ids: str) -> Keyring:
    return Keyring({i: bytes([n]) * 32 for n, i in enumerate(ids, start=1)}, ids[-1])


async def test_documents_are_sealed_under_their_own_key(tmp_path: Path) -> None:
    vault = Vault(FilesystemStore(tmp_path), keyring("k1"))
    document_id = uuid.uuid4()
    sealed = await vault.put(document_id, samples.pdf())
    blob = (tmp_path / sealed.storage_key[:2] / sealed.storage_key).read_bytes()
    assert blob.startswith(b"BD1") and samples.MARKER.encode() not in blob
    assert await vault.get(document_id, sealed.storage_key, sealed.wrapped_key) == samples.pdf()

    # The wrapped key is one per document: a second copy of the same content shares nothing.
    other = await vault.put(uuid.uuid4(), samples.pdf())
    assert other.wrapped_key != sealed.wrapped_key and other.storage_key != sealed.storage_key

    with pytest.raises(SealError):  # a file (or key) moved under another row
        await vault.get(uuid.uuid4(), sealed.storage_key, sealed.wrapped_key)
    with pytest.raises(SealError):  # the row's key with another row's file
        await vault.get(document_id, other.storage_key, sealed.wrapped_key)
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    (tmp_path / sealed.storage_key[:2] / sealed.storage_key).write_bytes(bytes(tampered))
    with pytest.raises(SealError):
        await vault.get(document_id, sealed.storage_key, sealed.wrapped_key)


async def test_master_keys_rotate(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    document_id = uuid.uuid4()
    sealed = await Vault(store, keyring("2025")).put(document_id, b"%PDF- oud")
    rotated = Vault(store, keyring("2025", "2026"))
    assert rotated.keyring.current == "2026"
    assert await rotated.get(document_id, sealed.storage_key, sealed.wrapped_key) == b"%PDF- oud"
    with pytest.raises(SealError):  # the old key retired too early
        await Vault(store, keyring("2026")).get(document_id, sealed.storage_key, sealed.wrapped_key)


async def test_the_filesystem_store(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "docs")
    key = new_storage_key()
    await store.put(key, b"one")
    await store.put(key, b"two")  # replaced whole
    assert await store.get(key) == b"two"
    path = tmp_path / "docs" / key[:2] / key
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == [key]  # no temporary file left
    await store.delete(key)
    await store.delete(key)  # twice is fine
    with pytest.raises(StoreError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.get("../../etc/passwd")

    old, fresh = new_storage_key(), new_storage_key()
    await store.put(old, b"x")
    await store.put(fresh, b"y")
    (tmp_path / "docs" / old[:2] / f"{old}.1234.part").write_bytes(b"half")
    an_hour_ago = dt.datetime.now(dt.UTC).timestamp() - 3600
    os.utime(tmp_path / "docs" / old[:2] / old, (an_hour_ago, an_hour_ago))
    os.utime(tmp_path / "docs" / old[:2] / f"{old}.1234.part", (an_hour_ago, an_hour_ago))
    assert await store.stored_before(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)) == [old]
    assert not (tmp_path / "docs" / old[:2] / f"{old}.1234.part").exists()  # a crashed put, cleared


# -- settings -----------------------------------------------------------------------------------------


def test_document_settings_from_the_environment(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    newer = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = Settings.from_env(
        {
            "BALIE_DATA_DIR": str(tmp_path),
            "BALIE_DOCUMENTS_MAX_BYTES": "5000000",
            "BALIE_DOCUMENTS_KEYS": f"2025:{key}, 2026:{newer}",
            "BALIE_DOCUMENTS_KEY_ID": "2026",
        }
    )
    assert settings.documents.max_bytes == 5_000_000
    assert settings.documents_dir == tmp_path / "documents"
    assert [k for k, _ in settings.documents.keys] == ["2025", "2026"]
    assert "Secret('**********')" in repr(settings.documents) and key not in repr(settings.documents)
    assert master_keyring(settings).current == "2026"


@pytest.mark.parametrize(
    "env",
    [
        {"BALIE_DOCUMENTS_KEYS": "k1:c2hvcnQ="},  # not 32 bytes
        {"BALIE_DOCUMENTS_KEYS": "no-colon"},
        {"BALIE_DOCUMENTS_KEYS": "a:{0},a:{0}".format(base64.b64encode(bytes(32)).decode())},
        {"BALIE_DOCUMENTS_KEYS": f"a:{base64.b64encode(bytes(32)).decode()}", "BALIE_DOCUMENTS_KEY_ID": "b"},
        {"BALIE_DOCUMENTS_MAX_BYTES": "0"},
        {"BALIE_DOCUMENTS_KEEP_DAYS": "-1"},
        {"BALIE_ENV": "production", "BALIE_SECRET_KEY": "s"},  # production needs its own master keys
    ],
)
def test_bad_document_settings_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"BALIE_DATA_DIR": str(tmp_path), **env})


def test_development_derives_a_master_key_from_the_secret(tmp_path: Path) -> None:
    settings = Settings(secret_key=Secret("s1"), data_dir=tmp_path)
    again = master_keyring(Settings(secret_key=Secret("s1"), data_dir=tmp_path))
    sealed = master_keyring(settings).seal(b"k" * 32, context=b"x")
    assert again.open(sealed, context=b"x") == b"k" * 32
    with pytest.raises(SealError):
        master_keyring(Settings(secret_key=Secret("s2"), data_dir=tmp_path)).open(sealed, context=b"x")


def test_the_document_event() -> None:
    assert protocol.document("removed", {"id": "x"}) == {
        "type": "document",
        "action": "removed",
        "document": {"id": "x"},
    }
    with pytest.raises(ValueError):
        protocol.document("exploded", {})
