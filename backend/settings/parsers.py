"""Parsers for the settings that are more than a plain type: lists, keys, JSON."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from backend.settings.fields import UNSET, Check, Derive, Parse, Reading, Secret, SettingsError

KeyList = tuple[tuple[str, Secret], ...]
"""(key id, base64 of 32 bytes) pairs, read by :func:`key_list`."""
LEVELS = ("none", "basis", "midden", "substantieel", "hoog")
"""DigiD levels of assurance, lowest first."""
DEFAULT_LOA_MAP: Mapping[str, str] = {
    # DigiD's SAML authentication contexts, as brokers pass them on in ``acr``.
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport": "basis",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract": "midden",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard": "substantieel",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI": "hoog",
    # The numeric AuthSP levels some brokers pass on (`authsp_level`).
    "10": "basis",
    "20": "midden",
    "25": "substantieel",
    "30": "hoog",
    # eIDAS levels of assurance. Logius places DigiD Midden at eIDAS low, so low counts as Midden;
    # substantial and high are DigiD Substantieel and Hoog.
    "http://eidas.europa.eu/LoA/low": "midden",
    "http://eidas.europa.eu/LoA/substantial": "substantieel",
    "http://eidas.europa.eu/LoA/high": "hoog",
}


def comma_list(raw: str, _name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def turn_urls(raw: str, name: str) -> tuple[str, ...]:
    urls = comma_list(raw, name)
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            raise SettingsError(f"{name} holds {url!r}: each URL must start with turn: or turns:")
    return urls


def algorithms(raw: str, name: str) -> tuple[str, ...]:
    """ID token algorithms: asymmetric only, and at least one (an empty variable accepts none)."""
    chosen = comma_list(raw, name)
    unsafe = [a for a in chosen if a.lower() == "none" or a.upper().startswith("HS")]
    if unsafe or not chosen:
        raise SettingsError(f"{name} may only hold asymmetric algorithms, not {unsafe}")
    return chosen


def ice_servers(raw: str, name: str) -> Any:
    if not raw:
        return UNSET
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} must be a JSON list of RTCIceServer objects") from exc
    if not isinstance(value, list) or not all(isinstance(s, dict) and "urls" in s for s in value):
        raise SettingsError(f"{name} must be a JSON list of objects with 'urls'")
    return tuple(value)


def _json_object(raw: str, name: str) -> dict[str, object]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} must be a JSON object") from exc
    if not isinstance(value, dict):
        raise SettingsError(f"{name} must be a JSON object")
    return value


def loa_map(raw: str, name: str) -> Any:
    if not raw:
        return UNSET
    value = _json_object(raw, name)
    if not all(isinstance(level, str) and level in LEVELS for level in value.values()):
        raise SettingsError(f"{name} values must be one of {', '.join(LEVELS)}")
    return {str(k): str(v) for k, v in value.items()}


def group_map(raw: str, name: str) -> Any:
    if not raw:
        return UNSET
    result: dict[str, tuple[str, str]] = {}
    for group, target in _json_object(raw, name).items():
        if (
            not isinstance(target, list)
            or len(target) != 2
            or not isinstance(target[0], str)
            or target[0].count("/") > 1
            or target[1] not in ("official", "admin")
            or ("/" not in target[0] and (target[1] != "admin" or not re.fullmatch(r"[0-9]{4}", target[0])))
        ):
            raise SettingsError(
                f'{name} maps each group to ["<cbs code>/<team slug>", "official"|"admin"] '
                'or, for a municipality admin, to ["<cbs code>", "admin"]'
            )
        result[group] = (target[0], target[1])
    return result


def key_list(purpose: str) -> Parse:
    """``id:<base64 of 32 bytes>[,id:...]``: keys for ``purpose``. The current one (see
    :func:`first_key` and :func:`one_of`) seals new values; the others stay to open what they
    sealed (rotation)."""

    def parse(raw: str, name: str) -> KeyList:
        keys: list[tuple[str, Secret]] = []
        for part in comma_list(raw, name):
            key_id, sep, encoded = part.partition(":")
            try:
                key = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if not sep or not key_id or len(key_id) > 40 or len(key) != 32:
                raise SettingsError(
                    f"{name} ({purpose}) must be a list of id:key, each key 32 bytes in base64 (make "
                    "one with: python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')"
                )
            keys.append((key_id, Secret(encoded)))
        if len({key_id for key_id, _ in keys}) != len(keys):
            raise SettingsError(f"{name} names a key id twice")
        return tuple(keys)

    return parse


def first_key(keys_name: str) -> Derive:
    """The default current key: the first of the list read from ``keys_name``."""

    def derive(reading: Reading) -> str:
        keys: KeyList = reading[keys_name]
        return keys[0][0] if keys else ""

    return derive


def one_of(keys_name: str) -> Check:
    """Checks that the current key is one of the list read from ``keys_name``."""

    def check(current: str, name: str, reading: Reading) -> None:
        keys: KeyList = reading[keys_name]
        if keys and current not in {k for k, _ in keys}:
            raise SettingsError(f"{name} {current!r} is not one of {keys_name}")

    return check
