"""The two OIDC client registrations (citizens, officials), with development defaults.

With no issuer configured, a client uses the built-in development provider at
``{public_url}/dev/idp``, under a fixed client id and a secret derived from the app's secret key.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final, Literal

from backend.identity.relying_party import ClientConfig
from backend.settings import OidcClientSettings, Secret, Settings

Who = Literal["citizen", "official"]
DEV_PATH: Final = "/dev/idp"
DEV_CLIENT_IDS: Final[dict[Who, str]] = {"citizen": "balie-burger", "official": "balie-medewerker"}
REDIRECT_PATHS: Final[dict[Who, str]] = {"citizen": "/digid/terug", "official": "/balie/inloggen/terug"}


def dev_issuer(settings: Settings) -> str:
    return f"{settings.public_url}{DEV_PATH}"


def _registration(settings: Settings, who: Who) -> OidcClientSettings:
    return settings.identity.citizen if who == "citizen" else settings.identity.official


def uses_dev_provider(settings: Settings, who: Who) -> bool:
    return not _registration(settings, who).issuer


def dev_client_secret(settings: Settings, who: Who) -> Secret:
    digest = hmac.new(
        settings.secret_key.reveal().encode(), f"dev-idp:{DEV_CLIENT_IDS[who]}".encode(), hashlib.sha256
    )
    return Secret(digest.hexdigest())


def client_config(settings: Settings, who: Who) -> ClientConfig:
    registration = _registration(settings, who)
    redirect_uri = f"{settings.public_url}{REDIRECT_PATHS[who]}"
    if uses_dev_provider(settings, who):
        return ClientConfig(
            issuer=dev_issuer(settings),
            client_id=DEV_CLIENT_IDS[who],
            client_secret=dev_client_secret(settings, who),
            scope=registration.scope,
            algorithms=registration.algorithms,
            redirect_uri=redirect_uri,
        )
    return ClientConfig(
        issuer=registration.issuer,
        client_id=registration.client_id,
        client_secret=registration.client_secret,
        scope=registration.scope,
        algorithms=registration.algorithms,
        redirect_uri=redirect_uri,
        token_auth=registration.token_auth,
        claims_from=registration.claims_from,
        keys=settings.identity.client_keys,
    )
