"""Claims in the shapes real providers send: paths, userinfo, sector BSNs, group paths, levels."""

from __future__ import annotations

import pytest

from backend.identity import levels
from backend.identity.claims import bsn_from, claim_at, merged
from backend.identity.groups import TeamGrant, grants_from
from backend.settings.parsers import DEFAULT_LOA_MAP


def test_a_claim_is_found_by_its_key_or_by_a_path_into_nested_objects() -> None:
    claims = {"realm_access": {"roles": ["a"]}, "https://example.nl/bsn": "999993653", "x": {"y": 1}}
    assert claim_at(claims, "realm_access.roles") == ["a"]
    assert claim_at(claims, "https://example.nl/bsn") == "999993653"  # a key with dots, first
    assert claim_at(claims, "x.y.z") is None and claim_at(claims, "nope") is None


def test_userinfo_fills_in_but_never_sets_the_protocol_claims() -> None:
    id_token = {"iss": "https://op", "sub": "s", "nonce": "n", "name": "From the token"}
    userinfo = {"sub": "s", "iss": "https://evil", "nonce": "x", "name": "From userinfo", "bsn": "1"}
    both = merged(id_token, userinfo, userinfo_first=False)
    assert both["name"] == "From the token" and both["bsn"] == "1"
    first = merged(id_token, userinfo, userinfo_first=True)
    assert first["name"] == "From userinfo"
    assert (first["iss"], first["nonce"]) == ("https://op", "n")


@pytest.mark.parametrize(
    ("value", "bsn"),
    [
        ("999993653", "999993653"),
        ("s00000000:999993653", "999993653"),  # the BSN sector prefix
        (999993653, "999993653"),
        (12345672, "012345672"),  # a number lost its leading zero
        ("12345672", "012345672"),
        ("s00000001:999993653", "s00000001:999993653"),  # another sector: left for the elfproef to refuse
        (None, ""),
        (True, ""),
    ],
)
def test_the_bsn_in_a_claim(value: object, bsn: str) -> None:
    assert bsn_from(value) == bsn


def test_keycloak_full_group_paths_map_like_their_group() -> None:
    groups = ["/balie:0599:burgerzaken:official", "/gemeente/afdeling/balie:0599:wijkteam:admin", "/other"]
    assert grants_from(groups, {}) == [
        TeamGrant("0599", "burgerzaken", "official"),
        TeamGrant("0599", "wijkteam", "admin"),
    ]
    table = {"/gemeente/balie-medewerkers": ("0599/burgerzaken", "official")}
    expected = [TeamGrant("0599", "burgerzaken", "official")]
    assert grants_from(["/gemeente/balie-medewerkers"], table) == expected


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract", "midden"),
        ("20", "midden"),
        (25, "substantieel"),
        ("http://eidas.europa.eu/LoA/substantial", "substantieel"),
        ("http://eidas.europa.eu/LoA/high", "hoog"),
        ("hoog", "hoog"),
        ("urn:example:unknown", "none"),
    ],
)
def test_levels_out_of_the_box(value: object, level: str) -> None:
    assert levels.level_of(value, DEFAULT_LOA_MAP) == level


def test_the_level_asked_for_is_digids_own_saml_context() -> None:
    assert levels.acr_for("midden", DEFAULT_LOA_MAP) == (
        "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
    )
