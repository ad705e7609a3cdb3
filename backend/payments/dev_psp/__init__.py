"""The development payment provider at ``/dev/psp``: the part of Mollie's Payments API v2 the app
uses (payments, cancelling, refunds, webhooks) and a checkout page where a developer chooses how a
payment ends, so the whole payment flow runs on a fresh machine through the real Mollie client.

On only in development; ``balie run`` refuses to start in production with it switched on. The app
points its Mollie client at ``<public url>/dev/psp`` with any ``test_...`` key.
"""

from __future__ import annotations

from typing import Final

from litestar.stores.base import Store

from backend.background import Lifespan
from backend.clock import Clock
from backend.payments.dev_psp.server import DevPaymentProvider
from backend.payments.dev_psp.webhooks import webhooks_lifespan
from backend.settings import Settings

DEV_PSP_PATH: Final = "/dev/psp"


def dev_psp_for(settings: Settings, store: Store, clock: Clock) -> DevPaymentProvider | None:
    """The development payment provider, or None when it is off (its routes are then not there)."""
    if not (settings.development and settings.payments.dev_psp):
        return None
    return DevPaymentProvider(store, clock, f"{settings.public_url.rstrip('/')}{DEV_PSP_PATH}")


def dev_psp_lifespan(provider: DevPaymentProvider | None) -> Lifespan:
    """Cancels the provider's webhook calls still going when the app stops."""
    return webhooks_lifespan(provider.webhooks if provider is not None else None)


__all__ = ["DEV_PSP_PATH", "DevPaymentProvider", "dev_psp_for", "dev_psp_lifespan"]
