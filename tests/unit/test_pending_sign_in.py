"""A sign-in under way as kept in the session: named keys, and the one-letter keys written before."""

from __future__ import annotations

import json

from backend.identity.pending import PendingSignIn, read_pending, write_pending

ENTRY = PendingSignIn(
    purpose="official", nonce="n0nce", code_verifier="v" * 64, started_at=1_700_000_000, context={"next": "/"}
)


def test_an_entry_survives_the_session_store_with_readable_keys() -> None:
    stored = json.loads(json.dumps(write_pending({"st4te": ENTRY})))
    assert stored == {
        "st4te": {
            "purpose": "official",
            "nonce": "n0nce",
            "code_verifier": "v" * 64,
            "started_at": 1_700_000_000,
            "context": {"next": "/"},
        }
    }
    assert read_pending(stored) == {"st4te": ENTRY}


def test_an_entry_with_one_letter_keys_is_still_read() -> None:
    old = {"p": "official", "n": "n0nce", "v": "v" * 64, "t": 1_700_000_000, "c": {"next": "/"}}
    assert PendingSignIn.from_dict(old) == ENTRY


def test_what_is_not_a_pending_sign_in_is_left_out() -> None:
    stored = {"a": ENTRY.to_dict(), "b": "junk", "c": {"purpose": "official"}, "d": None}
    assert read_pending(stored) == {"a": ENTRY}
    assert read_pending(None) == {} and read_pending(["a"]) == {}
