"""A municipality's API key at its payment provider: data, sealed at rest, never shown again.

Sealed with the identity keyring (the one that seals BSNs and the municipalities' OpenID client
secrets, rotated the same way), bound to the municipality, so a sealed key copied to another row
does not open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from backend.crypto import Keyring
from backend.db.models import Municipality
from backend.identity.binding import identity_keyring
from backend.payments.mollie import MollieProvider
from backend.payments.provider import PaymentProvider
from backend.settings import Secret, Settings

CONTEXT: Final = b"payment-provider-api-key"
DEV_KEY: Final = "test_digitalebaliedevelopment0000"
"""The demo municipalities' key at the development provider (``/dev/psp``)."""

ProviderFor = Callable[[Municipality], PaymentProvider | None]


def seal_key(keyring: Keyring, municipality: Municipality, key: str) -> bytes:
    return keyring.seal(key.encode(), context=CONTEXT + municipality.id.bytes)


def open_key(keyring: Keyring, municipality: Municipality) -> Secret | None:
    if municipality.payment_key_sealed is None:
        return None
    return Secret(
        keyring.open(municipality.payment_key_sealed, context=CONTEXT + municipality.id.bytes).decode()
    )


def mollie_for(settings: Settings) -> ProviderFor:
    """The provider of each municipality: Mollie at the configured endpoint with its own key, or
    None when it has no key (it asks no payments). With the development provider on, a
    municipality without a key of its own pays there with :data:`DEV_KEY`."""
    keyring = identity_keyring(settings)
    endpoint = settings.payments.endpoint(settings.public_url)

    development = settings.development and settings.payments.dev_psp

    def provider(municipality: Municipality) -> PaymentProvider | None:
        key = open_key(keyring, municipality)
        if key is None and development:
            key = Secret(DEV_KEY)  # every municipality pays at the development provider
        return None if key is None else MollieProvider(endpoint, key.reveal())

    return provider
