"""The keyring that seals data at rest: round trips, rotation, and every way a value must not open."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.crypto import Keyring, SealError

OLD, NEW = os.urandom(32), os.urandom(32)


@given(st.binary(max_size=4096), st.binary(max_size=64))
def test_what_is_sealed_opens_in_its_context(plaintext: bytes, context: bytes) -> None:
    ring = Keyring({"k1": OLD}, "k1")
    sealed = ring.seal(plaintext, context=context)
    assert ring.open(sealed, context=context) == plaintext
    assert len(plaintext) < 8 or plaintext not in sealed  # short ones may occur by chance


def test_rotation_keeps_old_values_readable_and_seals_new_ones_with_the_new_key() -> None:
    before = Keyring({"2026-01": OLD}, "2026-01").seal(b"123456782", context=b"bsn")
    after = Keyring({"2026-01": OLD, "2026-11": NEW}, "2026-11")
    assert after.open(before, context=b"bsn") == b"123456782"
    assert after.key_id_of(after.seal(b"x", context=b"bsn")) == "2026-11"


def test_values_do_not_open_elsewhere_or_after_tampering() -> None:
    ring = Keyring({"k1": OLD}, "k1")
    sealed = ring.seal(b"geheim", context=b"participant:1")
    with pytest.raises(SealError):
        ring.open(sealed, context=b"participant:2")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealError):
        ring.open(bytes(tampered), context=b"participant:1")
    with pytest.raises(SealError, match="not in the keyring"):
        Keyring({"k2": NEW}, "k2").open(sealed, context=b"participant:1")
    with pytest.raises(SealError):
        ring.open(b"", context=b"participant:1")


def test_derived_rings_differ_by_secret_and_by_purpose() -> None:
    a = Keyring.derived("secret", "outbox-message")
    sealed = a.seal(b"x", context=b"c")
    assert Keyring.derived("secret", "outbox-message").open(sealed, context=b"c") == b"x"
    for other in (Keyring.derived("secret", "documents"), Keyring.derived("other", "outbox-message")):
        with pytest.raises(SealError):
            other.open(sealed, context=b"c")


def test_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring({"k": b"short"}, "k")
    with pytest.raises(ValueError, match="not in the keyring"):
        Keyring({"k": OLD}, "other")
