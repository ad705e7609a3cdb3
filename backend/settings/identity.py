"""Identity settings: the two OpenID Connect clients (citizens, officials) and the BSN keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from backend.identity.client_auth import ClientKeys
from backend.settings.fields import (
    IN_DEVELOPMENT,
    Reading,
    Secret,
    SettingsError,
    concern,
    in_development,
    issuer_in_production,
    required_in_production,
    setting,
)
from backend.settings.parsers import (
    DEFAULT_LOA_MAP,
    KeyList,
    algorithms,
    comma_list,
    first_key,
    group_map,
    key_list,
    loa_map,
    one_of,
)

DEV_PLATFORM_ADMIN: Final = "platformbeheer"
"""The development provider's official who is platform admin in development and in the demo."""
TokenAuth = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
ClaimsFrom = Literal["both", "id_token", "userinfo"]


def client_keys(raw: str, name: str) -> ClientKeys | None:
    """A JWKS of the app's private keys, as JSON or as the path of a file that holds it."""
    if not raw:
        return None
    document = raw
    if not raw.lstrip().startswith("{"):
        try:
            document = Path(raw).read_text()
        except OSError as exc:
            raise SettingsError(f"{name}: cannot read {raw!r} ({exc.strerror})") from exc
    try:
        return ClientKeys.parse(document)
    except ValueError as exc:
        raise SettingsError(f"{name} {exc}") from exc


def keys_for_private_key_jwt(value: ClientKeys | None, name: str, reading: Reading) -> None:
    for who in ("CITIZEN", "OFFICIAL"):
        if reading[f"BALIE_{who}_OIDC_TOKEN_AUTH"] == "private_key_jwt" and value is None:
            raise SettingsError(f"BALIE_{who}_OIDC_TOKEN_AUTH is private_key_jwt: {name} is required")


@dataclass(frozen=True)
class OidcClientSettings:
    """One OpenID Connect client registration (citizens and officials each have their own)."""

    issuer: str = setting(
        "OIDC_ISSUER",
        "",
        parse=lambda raw, _name: raw.strip(),
        check=issuer_in_production,
        doc="the OpenID provider for {who}, exactly as its discovery document names it (a trailing "
        "slash included; discovery at `{issuer}/.well-known/openid-configuration`); "
        "empty: the development provider at `/dev/idp` (development only)",
    )
    client_id: str = setting(
        "OIDC_CLIENT_ID",
        "",
        doc="the app's client id at that provider (redirect URI `{public url}{redirect}`); "
        "required in production",
    )
    client_secret: Secret = setting("OIDC_CLIENT_SECRET", Secret(""), doc="... and its secret")
    token_auth: TokenAuth = setting(
        "OIDC_TOKEN_AUTH",
        "client_secret_basic",
        doc="how the app authenticates at the token endpoint: `client_secret_basic`, "
        "`client_secret_post` or `private_key_jwt` (signed with `BALIE_OIDC_CLIENT_KEYS`)",
    )
    scope: str = setting("OIDC_SCOPE", "openid", doc="scopes asked for{scope_note}")
    claims_from: ClaimsFrom = setting(
        "OIDC_CLAIMS_FROM",
        "both",
        doc="where the claims are read: `both` (the ID token, and the userinfo response for what it "
        "lacks), `id_token` or `userinfo` (first, before the ID token); userinfo's `sub` must match",
    )
    algorithms: tuple[str, ...] = setting(
        "OIDC_ALGORITHMS",
        ("RS256", "PS256", "ES256"),
        parse=algorithms,
        doc="ID token signature algorithms accepted; never `none` or an HMAC algorithm",
    )


@dataclass(frozen=True)
class IdentitySettings:
    citizen: OidcClientSettings = concern(
        OidcClientSettings,
        prefix="CITIZEN_",
        words={
            "who": "citizens (a DigiD broker)",
            "redirect": "/digid/terug",
            "scope_note": " (some DigiD brokers want an extra scope for the BSN)",
        },
    )
    official: OidcClientSettings = concern(
        lambda: OidcClientSettings(scope="openid profile"),
        prefix="OFFICIAL_",
        words={"who": "officials", "redirect": "/balie/inloggen/terug", "scope_note": ""},
    )
    loa_claim: str = setting(
        "CITIZEN_OIDC_LOA_CLAIM", "acr", doc="the citizens' claim with the level of assurance"
    )
    loa_map: Mapping[str, str] = setting(
        "CITIZEN_OIDC_LOA_MAP",
        factory=lambda: dict(DEFAULT_LOA_MAP),
        parse=loa_map,
        shown="DigiD's SAML contexts, AuthSP levels 10-30 and the eIDAS LoA URIs",
        doc="JSON: claim value -> `basis`, `midden`, `substantieel` or `hoog` (the level names "
        "always map to themselves)",
    )
    bsn_claim: str = setting("CITIZEN_OIDC_BSN_CLAIM", "bsn", doc="the citizens' claim with the BSN")
    groups_claim: str = setting(
        "OFFICIAL_OIDC_GROUPS_CLAIM", "groups", doc="the officials' claim with their groups or roles"
    )
    group_map: Mapping[str, tuple[str, str]] = setting(
        "OFFICIAL_OIDC_GROUP_MAP",
        factory=dict,
        parse=group_map,
        doc='JSON: group -> `["<cbs code>/<team slug>", "official"|"admin"]` (a team role) or '
        '`["<cbs code>", "admin"]` (a municipality admin); empty: groups named '
        "`balie:<cbs code>:<team slug>:<official|admin>` and `balie:<cbs code>:admin` map by their name",
    )
    platform_admins: tuple[str, ...] = setting(
        "PLATFORM_ADMINS",
        (DEV_PLATFORM_ADMIN,),
        parse=comma_list,
        derive=lambda reading: (DEV_PLATFORM_ADMIN,) if in_development(reading) else (),
        shown=f"`{DEV_PLATFORM_ADMIN}` in development, none in production",
        doc="comma-separated `sub` claims of the staff provider's officials who run this deployment: "
        "they create and deactivate municipalities and invite each one's first admin (only with the "
        "deployment's own staff provider, never a municipality's own)",
    )
    client_keys: ClientKeys | None = setting(
        "OIDC_CLIENT_KEYS",
        None,
        parse=client_keys,
        check=keys_for_private_key_jwt,
        shown="none",
        doc="the app's private keys for `private_key_jwt`: a JWKS as JSON, or the path of a file with "
        "it; the first key signs, all public halves are served at `/oidc/jwks.json` (rotation: add "
        "the new key second, register, then move it first)",
    )
    keys: KeyList = setting(
        "IDENTITY_KEYS",
        (),
        parse=key_list("keys that seal BSNs"),
        check=required_in_production(" (it seals BSNs)"),
        shown="derived from the secret key in development",
        doc="`id:<base64 of 32 bytes>[,id:...]`: AES-256-GCM keys that seal BSNs; the current one "
        "seals, the others still open (rotation); required in production",
    )
    key_id: str = setting(
        "IDENTITY_KEY_ID",
        "",
        derive=first_key("BALIE_IDENTITY_KEYS"),
        check=one_of("BALIE_IDENTITY_KEYS"),
        shown="the first of `BALIE_IDENTITY_KEYS`",
        doc="the key that seals new BSNs",
    )
    dev_provider: bool = setting(
        "DEV_IDP",
        True,
        derive=in_development,
        shown=IN_DEVELOPMENT,
        doc="serve the development identity provider at `/dev/idp`; `balie run` refuses to start "
        "with it in production",
    )
    clock_skew_seconds: int = 60
    login_minutes: int = 10
    """How long a started sign-in may take before its state expires."""
