"""``/dev/psp``: Mollie's Payments API v2 (the part the app uses) and the checkout page.

The API answers as Mollie does, errors included (HAL JSON, 401 without a test key, 404 for a
payment of another key); the checkout page is where a developer says how a payment ends. Every
change is told to the payment's webhook after the answer has gone out.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, Response, delete, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template

from backend.i18n import N_
from backend.payments.dev_psp import DEV_PSP_PATH
from backend.payments.dev_psp.errors import HAL_JSON, MollieError
from backend.payments.dev_psp.hal import Addresses, payment_json, refund_json, refund_list_json
from backend.payments.dev_psp.money import shown
from backend.payments.dev_psp.records import FINAL_STATUSES, Status
from backend.payments.dev_psp.server import DevPaymentProvider, Outcome, owner_of
from backend.settings import Settings
from backend.web import NO_STORE, page, request_locale

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
STATUS_LABELS: Final[dict[str, str]] = {
    "open": N_("Open"),
    "paid": N_("Betaald"),
    "failed": N_("Mislukt"),
    "canceled": N_("Geannuleerd"),
    "expired": N_("Verlopen"),
}
CHOICES: Final[dict[str, Status]] = {status: status for status in FINAL_STATUSES}


def dev_psp_provider(dev_psp: DevPaymentProvider | None, settings: Settings) -> DevPaymentProvider:
    """The app's development payment provider; 404 on every route when there is none."""
    if dev_psp is None or not settings.development:
        raise NotFoundException()
    return dev_psp


def api_owner(request: Request[Any, Any, Any]) -> str:
    return owner_of(request.headers.get("authorization"))


def _told(provider: DevPaymentProvider, outcome: Outcome) -> BackgroundTask | None:
    """The webhook call for a change, to start once the answer is out; None if nothing changed."""
    url = outcome.payment.webhook_url
    if not outcome.changed or not url:
        return None
    return BackgroundTask(provider.webhooks.schedule, url, outcome.payment.id)


def hal(
    body: dict[str, Any],
    status: int = 200,
    *,
    background: BackgroundTask | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    return Response(body, status_code=status, media_type=HAL_JSON, background=background, headers=headers)


def mollie_error(_: Request[Any, Any, Any], exc: MollieError) -> Response[dict[str, Any]]:
    return hal(exc.body(), exc.status)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """What the framework refuses (a body too large, a wrong method) in Mollie's words too."""
    return mollie_error(_, MollieError(exc.status_code, str(exc.detail)))


class DevPaymentsApi(Controller):
    path = f"{DEV_PSP_PATH}/v2"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {
        "provider": Provide(dev_psp_provider, sync_to_thread=False),
        "owner": Provide(api_owner, sync_to_thread=False),
    }
    exception_handlers = {MollieError: mollie_error, HTTPException: http_error}

    @post("/payments", status_code=201)
    async def create_payment(
        self, request: Request[Any, Any, Any], provider: DevPaymentProvider, owner: str
    ) -> Response[dict[str, Any]]:
        outcome = await provider.create(owner, await request.body(), request.headers.get("idempotency-key"))
        body = payment_json(outcome.payment, Addresses(provider.base_url))
        return hal(body, 201, headers={"Idempotent-Replayed": "true"} if outcome.replayed else None)

    @get("/payments/{payment_id:str}")
    async def payment(
        self, provider: DevPaymentProvider, owner: str, payment_id: str
    ) -> Response[dict[str, Any]]:
        outcome = await provider.payment(owner, payment_id)
        return self._payment(provider, outcome)

    @delete("/payments/{payment_id:str}", status_code=200)
    async def cancel(
        self, provider: DevPaymentProvider, owner: str, payment_id: str
    ) -> Response[dict[str, Any]]:
        outcome = await provider.cancel(owner, payment_id)
        return self._payment(provider, outcome)

    @post("/payments/{payment_id:str}/refunds", status_code=201)
    async def create_refund(
        self, request: Request[Any, Any, Any], provider: DevPaymentProvider, owner: str, payment_id: str
    ) -> Response[dict[str, Any]]:
        key = request.headers.get("idempotency-key")
        outcome = await provider.refund(owner, payment_id, await request.body(), key)
        if outcome.refusal is not None or outcome.refund is None:
            return self._payment(provider, outcome)
        body = refund_json(outcome.payment, outcome.refund, Addresses(provider.base_url))
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        return hal(body, 201, background=_told(provider, outcome), headers=headers)

    @get("/payments/{payment_id:str}/refunds")
    async def refunds(
        self, provider: DevPaymentProvider, owner: str, payment_id: str
    ) -> Response[dict[str, Any]]:
        outcome = await provider.refunds(owner, payment_id)
        body = refund_list_json(outcome.payment, Addresses(provider.base_url))
        return hal(body, background=_told(provider, outcome))

    @get("/payments/{payment_id:str}/refunds/{refund_id:str}")
    async def refund(
        self, provider: DevPaymentProvider, owner: str, payment_id: str, refund_id: str
    ) -> Response[dict[str, Any]]:
        outcome, refund = await provider.refund_of(owner, payment_id, refund_id)
        body = refund_json(outcome.payment, refund, Addresses(provider.base_url))
        return hal(body, background=_told(provider, outcome))

    @staticmethod
    def _payment(provider: DevPaymentProvider, outcome: Outcome) -> Response[dict[str, Any]]:
        """The payment, or the refusal (with the webhook call if looking at it let it expire)."""
        told = _told(provider, outcome)
        if outcome.refusal is not None:
            return hal(outcome.refusal.body(), outcome.refusal.status, background=told)
        return hal(payment_json(outcome.payment, Addresses(provider.base_url)), background=told)


class DevCheckout(Controller):
    """The page a payment's checkout link opens: how did it go? (Mollie's test mode asks the same.)"""

    path = f"{DEV_PSP_PATH}/checkout"
    include_in_schema = False
    cache_control = NO_STORE
    dependencies = {"provider": Provide(dev_psp_provider, sync_to_thread=False)}

    @get("/{payment_id:str}")
    async def checkout(
        self, request: Request[Any, Any, Any], provider: DevPaymentProvider, payment_id: str
    ) -> Template:
        outcome = await provider.at_checkout(payment_id)
        if outcome is None:
            raise NotFoundException()
        return _checkout_page(request, provider, outcome)

    @post("/{payment_id:str}")
    async def choose(
        self,
        request: Request[Any, Any, Any],
        provider: DevPaymentProvider,
        payment_id: str,
        data: dict[str, str] = Form,
    ) -> Template | Redirect:
        choice = CHOICES.get(data.get("status", ""))
        if choice is None:
            outcome = await provider.at_checkout(payment_id)
            if outcome is None:
                raise NotFoundException()
            return _checkout_page(request, provider, outcome, status_code=400, missing=True)
        outcome = await provider.choose(payment_id, choice)
        if outcome is None:
            raise NotFoundException()
        if not outcome.changed or outcome.payment.status != choice:
            return _checkout_page(request, provider, outcome, status_code=409)
        return Redirect(outcome.payment.redirect_url, status_code=303, background=_told(provider, outcome))


def _checkout_page(
    request: Request[Any, Any, Any],
    provider: DevPaymentProvider,
    outcome: Outcome,
    *,
    status_code: int = 200,
    missing: bool = False,
) -> Template:
    payment = outcome.payment
    template = page(
        request,
        "pages/dev_psp_checkout.html",
        status_code=status_code,
        payment=payment,
        amount=shown(payment.amount, request_locale(request)),
        status_label=STATUS_LABELS[payment.status],
        choices=[(status, STATUS_LABELS[status]) for status in FINAL_STATUSES],
        action=f"{DEV_PSP_PATH}/checkout/{payment.id}",
        missing=missing,
    )
    template.background = _told(provider, outcome)  # looking at it may have let it expire
    return template
