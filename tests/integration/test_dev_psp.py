"""The development payment provider at /dev/psp, driven by the real Mollie client against a real
server (``balie run``), plus what a real server cannot show quickly: expiry when time moves, and
webhook retries (the provider class on a manual clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from litestar.stores.memory import MemoryStore
from mollie.api.client import Client
from mollie.api.error import NotFoundError, UnauthorizedError, UnprocessableEntityError
from mollie.api.objects.payment import Payment as MolliePayment
from mollie.api.resources.refunds import PaymentRefunds

from backend.clock import ManualClock
from backend.payments.dev_psp.server import DevPaymentProvider, owner_of
from backend.payments.dev_psp.webhooks import Webhooks
from tests.live import CSRF_FIELD, LiveServer, live_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "test_dev0psp0key0of0the0municipality0"
OTHER_KEY = "test_another0municipality0key00000"


# -- a webhook receiver on a loopback port ---------------------------------------------------------


@dataclass(frozen=True)
class Call:
    path: str
    content_type: str
    body: str


@dataclass
class Receiver:
    """Records each POST it gets; answers each with the next status of ``answers`` (then 200)."""

    calls: list[Call] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    port: int = 0
    server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def url(self, path: str = "/webhook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies_about(self, payment_id: str) -> list[str]:
        return [call.body for call in self.calls if call.body.endswith(payment_id)]

    async def wait_for(self, payment_id: str, count: int, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.bodies_about(payment_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} webhook call(s) about {payment_id}: got {self.calls}")
            await asyncio.sleep(0.02)
        return self.bodies_about(payment_id)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        _, path, _ = head[0].split(" ", 2)
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in head[1:])
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.answers.pop(0) if self.answers else 200
        self.calls.append(Call(path, headers.get("content-type", ""), body.decode()))
        writer.write(f"HTTP/1.1 {status} Answer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path_factory.mktemp("dev-psp")) as live:
        yield live


@pytest.fixture
def mollie(server: LiveServer) -> Iterator[Callable[..., Client]]:
    """Mollie clients set up as the app sets up its own: the endpoint and a test key."""
    made: list[Client] = []

    def client(key: str = KEY) -> Client:
        made.append(Client(api_endpoint=f"{server.base_url}/dev/psp", timeout=(2, 10), retry=0))
        made[-1].set_api_key(key)
        return made[-1]

    yield client
    for each in made:
        if hasattr(each, "_client"):
            each._client.close()


def payment_data(receiver: Receiver | None = None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "amount": {"currency": "EUR", "value": "37.60"},
        "description": "Paspoort aanvragen, afspraak 2026-03-03",
        "redirectUrl": "http://127.0.0.1:9/betaald?afspraak=1",
        "webhookUrl": receiver.url() if receiver else None,
        "method": "ideal",
        "locale": "nl_NL",
        "metadata": {"appointment": "A-1234"},
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


async def create(client: Client, data: dict[str, Any], **options: Any) -> MolliePayment:
    payment: MolliePayment = await asyncio.to_thread(client.payments.create, data, **options)
    return payment


async def cancel(client: Client, payment_id: str) -> MolliePayment:
    canceled = await asyncio.to_thread(client.payments.delete, payment_id)
    return cast(MolliePayment, canceled)  # annotated as a dict; the client makes it a Payment


async def get(client: Client, payment_id: str) -> MolliePayment:
    payment: MolliePayment = await asyncio.to_thread(client.payments.get, payment_id)
    return payment


@dataclass
class Browser:
    """A developer's browser at the checkout page; keeps the form's CSRF token, as a tab does."""

    client: httpx.AsyncClient
    token: str = ""

    async def open(self, payment: MolliePayment, **query: str) -> httpx.Response:
        page = await self.client.get(urlsplit(payment.checkout_url).path, params=query)
        found = CSRF_FIELD.search(page.text)
        if found:
            self.token = found.group(1)
        return page

    async def press(self, payment: MolliePayment, status: str) -> httpx.Response:
        path = urlsplit(payment.checkout_url).path
        return await self.client.post(path, data={"_csrf_token": self.token, "status": status})


async def choose(server: LiveServer, payment: MolliePayment, status: str) -> httpx.Response:
    """What a developer does on the checkout page: open it, press the button for ``status``."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        browser = Browser(client)
        await browser.open(payment)
        return await browser.press(payment, status)


# -- the payment's life through the Mollie client ---------------------------------------------------


async def test_a_payment_is_made_open_and_paid_at_the_checkout(
    server: LiveServer, mollie: Callable[..., Client], receiver: Receiver
) -> None:
    client = mollie()
    made = await create(client, payment_data(receiver))
    assert made.id.startswith("tr_") and len(made.id) == 13 and made.id[3:].isalnum()
    assert (made.resource, made.mode, made.status, made.sequence_type) == (
        "payment",
        "test",
        "open",
        "oneoff",
    )
    assert made.amount == {"value": "37.60", "currency": "EUR"}
    assert made.method == "ideal" and made.metadata == {"appointment": "A-1234"} and made.is_cancelable
    assert made.redirect_url == "http://127.0.0.1:9/betaald?afspraak=1" and made.webhook_url == receiver.url()
    created = dt.datetime.fromisoformat(made.created_at)
    assert dt.datetime.fromisoformat(made.expires_at) - created == dt.timedelta(minutes=15)
    assert made.profile_id.startswith("pfl_") and made.paid_at is None and made.amount_remaining is None
    assert made.checkout_url == f"{server.base_url}/dev/psp/checkout/{made.id}"
    assert made["_links"]["self"]["href"] == f"{server.base_url}/dev/psp/v2/payments/{made.id}"
    assert {"dashboard", "documentation"} <= set(made["_links"])

    assert (await get(client, made.id)).status == "open"
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        page = await browser.get(urlsplit(made.checkout_url).path)
    assert page.status_code == 200
    assert "Testbetaling — ontwikkelomgeving" in page.text and "€\xa037,60" in page.text
    assert "Paspoort aanvragen, afspraak 2026-03-03" in page.text
    for status in ("paid", "failed", "canceled", "expired"):
        assert f'value="{status}" data-action="{status}"' in page.text

    answer = await choose(server, made, "paid")
    assert answer.status_code == 303 and answer.headers["location"] == made.redirect_url

    paid = await get(client, made.id)
    assert paid.status == "paid" and paid.paid_at is not None
    assert paid.checkout_url is None and not paid.is_cancelable and paid.expires_at is None
    assert paid.amount_refunded == {"value": "0.00", "currency": "EUR"}
    assert paid.amount_remaining == {"value": "37.60", "currency": "EUR"}
    assert paid.details["consumerName"]
    assert await receiver.wait_for(made.id, 1) == [f"id={made.id}"]


async def test_the_checkout_ends_a_payment_only_once(
    server: LiveServer, mollie: Callable[..., Client]
) -> None:
    client = mollie()
    made = await create(client, payment_data())
    async with httpx.AsyncClient(base_url=server.base_url) as tab:
        other_tab = Browser(tab)
        await other_tab.open(made)
        assert (await choose(server, made, "failed")).status_code == 303
        failed = await get(client, made.id)
        assert failed.status == "failed" and failed.failed_at is not None and failed.paid_at is None

        again = await other_tab.press(made, "paid")
        assert again.status_code == 409 and 'data-status="failed"' in again.text
        assert f'href="{made.redirect_url}" data-action="back"' in again.text
        page = await other_tab.open(made)
        assert page.status_code == 200 and "_csrf_token" not in page.text
        assert (await other_tab.press(made, "nothing")).status_code == 400
    assert (await get(client, made.id)).status == "failed"


async def test_the_checkout_can_let_a_payment_expire_and_speaks_english(
    server: LiveServer, mollie: Callable[..., Client]
) -> None:
    client = mollie()
    made = await create(client, payment_data(amount={"currency": "EUR", "value": "1234.50"}))
    async with httpx.AsyncClient(base_url=server.base_url) as tab:
        page = await Browser(tab).open(made, lang="en")
    assert "Test payment — development environment" in page.text and "€1,234.50" in page.text
    assert (await choose(server, made, "expired")).status_code == 303
    expired = await get(client, made.id)
    assert expired.status == "expired" and expired.expired_at is not None and expired.checkout_url is None


async def test_a_payment_is_cancelled_through_the_api(
    server: LiveServer, mollie: Callable[..., Client], receiver: Receiver
) -> None:
    client = mollie()
    made = await create(client, payment_data(receiver))
    canceled = await cancel(client, made.id)
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    assert (await get(client, made.id)).status == "canceled"
    with pytest.raises(UnprocessableEntityError):
        await cancel(client, made.id)
    async with httpx.AsyncClient(base_url=server.base_url) as tab:
        page = await Browser(tab).open(made)
    assert 'data-status="canceled"' in page.text and 'data-action="paid"' not in page.text
    assert await receiver.wait_for(made.id, 1) == [f"id={made.id}"]


async def test_refunds_of_a_paid_payment(
    server: LiveServer, mollie: Callable[..., Client], receiver: Receiver
) -> None:
    client = mollie()
    made = await create(client, payment_data(receiver))
    with pytest.raises(UnprocessableEntityError):  # not paid yet
        await asyncio.to_thread(made.refunds.create, {"amount": {"currency": "EUR", "value": "1.00"}})
    await choose(server, made, "paid")
    paid = await get(client, made.id)
    refunds = PaymentRefunds(client, paid)

    refund = await asyncio.to_thread(
        refunds.create, {"amount": {"currency": "EUR", "value": "10.00"}, "description": "Teveel betaald"}
    )
    assert refund.id.startswith("re_") and refund.resource == "refund" and refund.is_pending()
    assert (refund.payment_id, refund.amount, refund.description) == (
        made.id,
        {"value": "10.00", "currency": "EUR"},
        "Teveel betaald",
    )
    assert refund.created_at and refund["_links"]["payment"]["href"].endswith(made.id)

    after = await get(client, made.id)
    assert after.amount_refunded == {"value": "10.00", "currency": "EUR"}
    assert after.amount_remaining == {"value": "27.60", "currency": "EUR"}
    assert "refunds" in after["_links"] and after.status == "paid"

    listed = await asyncio.to_thread(refunds.list)
    assert listed.count == 1 and [item.id for item in listed] == [refund.id]
    assert [item.status for item in listed] == ["refunded"]
    fetched = await asyncio.to_thread(refunds.get, refund.id)
    assert fetched.status == "refunded" and fetched.payment_id == made.id

    with pytest.raises(UnprocessableEntityError) as too_much:
        await asyncio.to_thread(refunds.create, {"amount": {"currency": "EUR", "value": "27.61"}})
    assert too_much.value.field == "amount.value"
    rest = await asyncio.to_thread(refunds.create, {"amount": {"currency": "EUR", "value": "27.60"}})
    assert (await get(client, made.id)).amount_remaining == {"value": "0.00", "currency": "EUR"}
    with pytest.raises(NotFoundError):
        await asyncio.to_thread(refunds.get, "re_unknown00000")
    assert rest.id != refund.id

    # Paid, then two refunds: three changes, three calls. Another payment's call comes after them.
    sentinel = await create(client, payment_data(receiver))
    await cancel(client, sentinel.id)
    await receiver.wait_for(sentinel.id, 1)
    assert await receiver.wait_for(made.id, 3) == [f"id={made.id}"] * 3
    assert all(c.content_type == "application/x-www-form-urlencoded" for c in receiver.calls)


async def test_an_idempotency_key_makes_one_payment(mollie: Callable[..., Client]) -> None:
    client, other = mollie(), mollie(OTHER_KEY)
    first = await create(client, payment_data(), idempotency_key="afspraak-A-1234")
    again = await create(client, payment_data(), idempotency_key="afspraak-A-1234")
    assert again.id == first.id
    assert (await create(client, payment_data(), idempotency_key="afspraak-A-5678")).id != first.id
    assert (await create(other, payment_data(), idempotency_key="afspraak-A-1234")).id != first.id
    with pytest.raises(UnprocessableEntityError):  # the same key for another request
        await create(client, payment_data(description="Iets anders"), idempotency_key="afspraak-A-1234")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": None}, "amount"),
        ({"amount": {"currency": "EUR", "value": "37.6"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": 37.60}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "0.00"}}, "amount.value"),
        ({"amount": {"currency": "USD", "value": "37.60"}}, "amount.currency"),
        ({"description": None}, "description"),
        ({"description": "x" * 256}, "description"),
        ({"redirectUrl": None}, "redirectUrl"),
        ({"redirectUrl": "/betaald"}, "redirectUrl"),
        ({"webhookUrl": "ftp://127.0.0.1/hook"}, "webhookUrl"),
        ({"method": "bitcoin"}, "method"),
    ],
)
async def test_a_request_mollie_would_refuse_names_its_field(
    mollie: Callable[..., Client], changes: dict[str, Any], field: str
) -> None:
    data = payment_data()
    data.update(changes)
    with pytest.raises(UnprocessableEntityError) as refused:
        await create(mollie(), {k: v for k, v in data.items() if v is not None})
    assert refused.value.status == 422 and refused.value.field == field and str(refused.value)


async def test_mollie_error_answers(server: LiveServer, mollie: Callable[..., Client]) -> None:
    with pytest.raises(UnauthorizedError):
        await create(mollie("live_not0a0test0key"), payment_data())
    with pytest.raises(NotFoundError):
        await get(mollie(), "tr_unknown000")
    made = await create(mollie(), payment_data())
    with pytest.raises(NotFoundError):  # a key sees only its own profile's payments
        await get(mollie(OTHER_KEY), made.id)
    with pytest.raises(NotFoundError):
        await cancel(mollie(OTHER_KEY), made.id)

    api = f"{server.base_url}/dev/psp/v2"
    async with httpx.AsyncClient() as raw:
        for headers in ({}, {"Authorization": "Basic dGVzdA=="}, {"Authorization": "Bearer test_"}):
            refused = await raw.get(f"{api}/payments/{made.id}", headers=headers)
            assert refused.status_code == 401 and refused.headers["content-type"] == "application/hal+json"
            assert refused.json()["title"] == "Unauthorized Request"
        broken = await raw.post(
            f"{api}/payments", content=b"{not json", headers={"Authorization": f"Bearer {KEY}"}
        )
        missing = await raw.get(f"{api}/payments/tr_unknown000", headers={"Authorization": f"Bearer {KEY}"})
        unknown_page = await raw.get(f"{server.base_url}/dev/psp/checkout/tr_unknown000")
    assert broken.status_code == 400 and broken.json()["status"] == 400
    body = missing.json()
    assert body["status"] == 404 and body["title"] == "Not Found" and "tr_unknown000" in body["detail"]
    assert body["_links"]["documentation"]["type"] == "text/html"
    assert unknown_page.status_code == 404


async def test_the_provider_is_not_there_when_switched_off(tmp_path: Path) -> None:
    async with (
        live_server(tmp_path, env={"BALIE_DEV_PSP": "false"}) as off,
        httpx.AsyncClient(base_url=off.base_url) as raw,
    ):
        api = await raw.get("/dev/psp/v2/payments/tr_unknown000", headers={"Authorization": f"Bearer {KEY}"})
        page = await raw.get("/dev/psp/checkout/tr_unknown000")
    assert (api.status_code, page.status_code) == (404, 404)
    assert "Testbetaling" not in page.text


# -- the provider on a manual clock ------------------------------------------------------------------

START = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
OWNER = owner_of(f"Bearer {KEY}")
ASKED = json.dumps(payment_data()).encode()


def provider_on(clock: ManualClock, store: MemoryStore | None = None, **webhooks: Any) -> DevPaymentProvider:
    return DevPaymentProvider(store or MemoryStore(), clock, "http://127.0.0.1/dev/psp", Webhooks(**webhooks))


async def test_an_open_payment_expires_at_its_expiry_once() -> None:
    clock = ManualClock(START)
    provider = provider_on(clock)
    made = (await provider.create(OWNER, ASKED)).payment
    clock.advance(dt.timedelta(minutes=14, seconds=59))
    assert [(await provider.payment(OWNER, made.id)).changed, made.status] == [False, "open"]
    clock.advance(dt.timedelta(minutes=5))
    readings = [await provider.payment(OWNER, made.id) for _ in range(3)]
    assert [(r.payment.status, r.changed) for r in readings] == [
        ("expired", True),
        ("expired", False),
        ("expired", False),
    ]
    assert readings[0].payment.settled_at == START + dt.timedelta(minutes=15)
    cancel = await provider.cancel(OWNER, made.id)
    assert cancel.refusal is not None and cancel.refusal.status == 422 and not cancel.changed
    choice = await provider.choose(made.id, "paid")
    assert choice is not None and choice.payment.status == "expired" and not choice.changed


async def test_looking_at_a_payment_past_its_expiry_while_cancelling_still_tells_the_change() -> None:
    clock = ManualClock(START)
    provider = provider_on(clock)
    made = (await provider.create(OWNER, ASKED)).payment
    clock.advance(dt.timedelta(hours=1))
    cancel = await provider.cancel(OWNER, made.id)
    assert cancel.changed and cancel.refusal is not None and cancel.payment.status == "expired"


async def test_two_processes_on_one_store_see_the_same_payments() -> None:
    store, clock = MemoryStore(), ManualClock(START)
    one, two = provider_on(clock, store), provider_on(clock, store)
    made = (await one.create(OWNER, ASKED)).payment
    chosen = await two.choose(made.id, "paid")
    assert chosen is not None and chosen.changed
    assert (await one.payment(OWNER, made.id)).payment.status == "paid"


async def test_a_refund_asked_twice_with_one_idempotency_key_is_made_once() -> None:
    provider = provider_on(ManualClock(START))
    made = (await provider.create(OWNER, ASKED)).payment
    await provider.choose(made.id, "paid")
    asked = b'{"amount":{"currency":"EUR","value":"37.60"},"description":"Terugbetaling"}'
    first = await provider.refund(OWNER, made.id, asked, "refund:1")
    again = await provider.refund(OWNER, made.id, asked, "refund:1")
    assert first.refund is not None and again.refund is not None and again.refund.id == first.refund.id
    assert (first.changed, again.changed, again.replayed) == (True, False, True)
    paid = (await provider.payment(OWNER, made.id)).payment
    assert paid.amount_remaining.value == 0 and len(paid.refunds) == 1


async def test_a_failing_webhook_receiver_is_tried_again() -> None:
    webhooks, receiver = Webhooks(retry_delays=(0.01, 0.01, 0.01)), Receiver()
    await receiver.start()
    try:
        receiver.answers[:] = [500, 503]
        assert await webhooks.call(receiver.url("/retry"), "tr_retry000001") is True
        assert receiver.bodies_about("tr_retry000001") == ["id=tr_retry000001"] * 3

        receiver.answers[:] = [500, 500, 500, 500]
        assert await webhooks.call(receiver.url("/retry"), "tr_retry000002") is False
        assert len(receiver.bodies_about("tr_retry000002")) == 4  # the call and three retries
    finally:
        await webhooks.close()
        await receiver.stop()


async def test_shutting_down_cancels_webhook_calls_still_going() -> None:
    webhooks, receiver = Webhooks(retry_delays=(60.0,)), Receiver(answers=[500])
    await receiver.start()
    try:
        call = webhooks.call(receiver.url("/slow"), "tr_shutdown001")
        await receiver.wait_for("tr_shutdown001", 1)
        await webhooks.close()
        assert call.cancelled()
    finally:
        await receiver.stop()
