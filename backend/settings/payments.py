"""Payment settings: the payment service provider's API and the development stand-in."""

from __future__ import annotations

from dataclasses import dataclass

from backend.settings.fields import IN_DEVELOPMENT, in_development, more_than_zero, setting

MOLLIE_API = "https://api.mollie.com"


@dataclass(frozen=True)
class PaymentSettings:
    dev_psp: bool = setting(
        "DEV_PSP",
        True,
        derive=in_development,
        shown=IN_DEVELOPMENT,
        doc="serve the development payment provider (a stand-in for Mollie's Payments API) at "
        "`/dev/psp`, and send payments there; `balie run` refuses to start with it in production",
    )
    api_endpoint: str = setting(
        "PAYMENTS_API",
        "",
        shown=f"`{MOLLIE_API}`; `<public url>/dev/psp` with `BALIE_DEV_PSP`",
        doc="the Payments API the municipalities' Mollie keys are used at",
    )
    reconcile_seconds: float = setting(
        "PAYMENTS_RECONCILE_SECONDS",
        60.0,
        check=more_than_zero,
        doc="how often the worker asks the provider about payments still open (a missed webhook)",
    )
    expire_minutes: int = setting(
        "PAYMENTS_EXPIRE_MINUTES",
        20,
        check=more_than_zero,
        doc="after how long an open payment is given up (cancelled at the provider, shown as expired); "
        "iDEAL itself expires a payment after 15 minutes",
    )

    def endpoint(self, public_url: str) -> str:
        """Where the app talks to the provider."""
        if self.api_endpoint:
            return self.api_endpoint.rstrip("/")
        return f"{public_url.rstrip('/')}/dev/psp" if self.dev_psp else MOLLIE_API
