"""Document settings: limits, retention, the store and its master keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.settings.fields import UNSET, more_than_zero, required_in_production, setting, zero_or_more
from backend.settings.parsers import KeyList, first_key, key_list, one_of


@dataclass(frozen=True)
class DocumentSettings:
    max_bytes: int = setting(
        "DOCUMENTS_MAX_BYTES",
        10 * 1024 * 1024,
        check=more_than_zero,
        doc="largest document one may share, in bytes",
    )
    max_per_appointment: int = setting(
        "DOCUMENTS_MAX_PER_APPOINTMENT",
        20,
        check=more_than_zero,
        doc="documents an appointment may hold at the same time",
    )
    max_pixels: int = setting(
        "DOCUMENTS_MAX_PIXELS",
        30_000_000,
        check=more_than_zero,
        doc="largest image (width x height) that is decoded; bigger ones are refused before decoding",
    )
    keep_days: int = setting(
        "DOCUMENTS_KEEP_DAYS",
        30,
        check=zero_or_more,
        doc='longest a document marked "bewaren voor de zaak" is kept (a service can set fewer days, '
        "or 0 to switch marking off, in `document_retention`)",
    )
    uploads_per_minute: int = setting(
        "DOCUMENTS_UPLOADS_PER_MINUTE",
        20,
        check=zero_or_more,
        doc="uploads per minute per client and appointment; `0` turns it off",
    )
    purge_seconds: float = setting(
        "DOCUMENTS_PURGE_SECONDS",
        60.0,
        check=more_than_zero,
        doc="how often the worker looks for documents whose time is up (it also runs at once when a "
        "call ends)",
    )
    directory: Path | None = setting(
        "DOCUMENTS_DIR",
        None,
        parse=lambda raw, _name: Path(raw) if raw else UNSET,
        shown="`<data dir>/documents`",
        doc="the document store (encrypted files only); shared by all app nodes and the worker",
    )
    keys: KeyList = setting(
        "DOCUMENTS_KEYS",
        (),
        parse=key_list("master keys for documents"),
        check=required_in_production(),
        shown="derived from the secret key in development",
        doc="master keys that wrap each document's own key: `id:<base64 of 32 bytes>[,id:...]`; "
        "required in production. Rotate by adding a key and making it current; keep the old one "
        "for `BALIE_DOCUMENTS_KEEP_DAYS`",
    )
    key_id: str = setting(
        "DOCUMENTS_KEY_ID",
        "",
        derive=first_key("BALIE_DOCUMENTS_KEYS"),
        check=one_of("BALIE_DOCUMENTS_KEYS"),
        shown="the first of `BALIE_DOCUMENTS_KEYS`",
        doc="the master key that wraps new documents",
    )
