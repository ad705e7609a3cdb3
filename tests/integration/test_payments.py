"""Payments in a call, against the real ``mollie-api-python`` client talking to the development
provider over HTTP, on SQLite and PostgreSQL: webhooks repeated, webhooks missed, refunds, the
provider away, a payment that turns paid after the call, and every refusal."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend import rooms
from backend.app import create_app
from backend.db.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Fee,
    Official,
    OutboxMessage,
    Payment,
    Service,
)
from backend.payments.dev_psp import DevPaymentProvider
from backend.payments.refusals import PaymentRefused
from backend.payments.service import Asker, Payments
from backend.settings import PaymentSettings, Settings
from tests.support import citizen_appointment, free_port, make_settings, seed_agenda


@dataclass
class Counter:
    app: Litestar
    base_url: str
    payments: Payments
    dev_psp: DevPaymentProvider
    sessionmaker: async_sessionmaker[AsyncSession]
    appointment: Appointment
    official: Official
    fixed: Fee
    open_fee: Fee
    other_fee: Fee


@asynccontextmanager
async def _serve(app: Litestar, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def _seed(session: AsyncSession) -> tuple[Appointment, Official, Fee, Fee, Fee]:
    service = await seed_agenda(session)
    other = Service(team_id=service.team_id, name="Ondertrouw", slug="ondertrouw", state="published")
    session.add(other)
    await session.flush()
    fixed = Fee(service_id=service.id, description="Afschrift van de geboorteakte", amount_cents=1710)
    open_fee = Fee(
        service_id=service.id,
        description="Afschriften",
        amount_cents=1710,
        min_cents=1710,
        max_cents=17100,
        translations={"en": {"description": "Copies"}},
    )
    other_fee = Fee(service_id=other.id, description="Trouwboekje", amount_cents=3760)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    appointment = citizen_appointment(
        service, start, join_token=secrets.token_urlsafe(24), manage_token=secrets.token_urlsafe(24)
    )
    appointment.status = AppointmentStatus.IN_CALL
    appointment.participants[0].state = rooms.IN_CALL
    session.add_all([fixed, open_fee, other_fee, appointment])
    await session.commit()
    official = await session.scalar(select(Official))
    assert official is not None
    return appointment, official, fixed, open_fee, other_fee


def _settings(tmp_path: Path, database_url: str, port: int, **payments: Any) -> Settings:
    settings = make_settings(tmp_path, database_url, public_url=f"http://127.0.0.1:{port}")
    return dataclasses.replace(settings, payments=PaymentSettings(**payments))


@pytest.fixture
async def counter(tmp_path: Path, database_url: str, engine: AsyncEngine) -> AsyncIterator[Counter]:
    port = free_port()
    app = create_app(_settings(tmp_path, database_url, port))
    sessionmaker = app.state["sessionmaker"]
    async with sessionmaker() as session:
        appointment, official, fixed, open_fee, other_fee = await _seed(session)
    async with _serve(app, port):
        yield Counter(
            app=app,
            base_url=f"http://127.0.0.1:{port}",
            payments=app.state["payments"],
            dev_psp=app.state["dev_psp"],
            sessionmaker=sessionmaker,
            appointment=appointment,
            official=official,
            fixed=fixed,
            open_fee=open_fee,
            other_fee=other_fee,
        )


async def _ask(counter: Counter, fee: Fee | None = None, amount: str = "") -> Payment:
    async with counter.sessionmaker() as session:
        return await counter.payments.request(
            session,
            counter.appointment.id,
            counter.official.id,
            (fee or counter.fixed).id,
            amount,
            origin="198.51.100.4",
        )


async def _reload(counter: Counter, payment: Payment) -> Payment:
    async with counter.sessionmaker() as session:
        found = await session.get(Payment, payment.id)
        assert found is not None
        return found


async def _count(counter: Counter, query: Any) -> int:
    async with counter.sessionmaker() as session:
        return int(await session.scalar(query) or 0)


def _events(action: str) -> Any:
    return select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)


def _receipts() -> Any:
    return select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "payment_receipt")


async def _webhook(counter: Counter, provider_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=counter.base_url) as http:
        return await http.post("/betaling/webhook", data={"id": provider_id})


async def test_a_payment_asked_in_the_call_is_open_at_the_provider(counter: Counter) -> None:
    payment = await _ask(counter)
    assert payment.status == "open"
    assert payment.provider_payment_id is not None and payment.provider_payment_id.startswith("tr_")
    assert payment.amount_cents == 1710
    assert payment.description.startswith("Afschrift van de geboorteakte (")
    assert payment.checkout_url.startswith(f"{counter.base_url}/dev/psp/checkout/")
    assert await _count(counter, _events("payment.requested")) == 1


async def test_ten_identical_webhooks_record_the_payment_once(counter: Counter) -> None:
    payment = await _ask(counter)
    assert payment.provider_payment_id is not None
    await counter.dev_psp.choose(payment.provider_payment_id, "paid")  # no webhook yet
    answers = [await _webhook(counter, payment.provider_payment_id) for _ in range(10)]
    assert {a.status_code for a in answers} == {200}
    paid = await _reload(counter, payment)
    assert paid.status == "paid" and paid.paid_at is not None
    assert await _count(counter, _events("payment.status")) == 1
    assert await _count(counter, _receipts()) == 1


async def test_a_missed_webhook_is_caught_up_by_reconciliation(counter: Counter) -> None:
    payment = await _ask(counter)
    assert payment.provider_payment_id is not None
    await counter.dev_psp.choose(payment.provider_payment_id, "paid")  # the webhook never comes
    async with counter.sessionmaker() as session:
        moved = await counter.payments.reconcile(session, settled_after_seconds=0)
    assert moved == 1
    assert (await _reload(counter, payment)).status == "paid"
    assert await _count(counter, _receipts()) == 1
    async with counter.sessionmaker() as session:  # a second round changes nothing
        assert await counter.payments.reconcile(session, settled_after_seconds=0) == 0


async def test_a_paid_payment_is_refunded_once(counter: Counter) -> None:
    payment = await _ask(counter)
    assert payment.provider_payment_id is not None
    await counter.dev_psp.choose(payment.provider_payment_id, "paid")
    await _webhook(counter, payment.provider_payment_id)
    async with counter.sessionmaker() as session:
        paid = await _reload(counter, payment)
        refunded = await counter.payments.refund(session, paid, counter.official.id, origin="")
    assert refunded.refund_id.startswith("re_")
    assert refunded.refunded_cents == 1710
    assert await _count(counter, _events("payment.refunded")) == 1
    async with counter.sessionmaker() as session:
        with pytest.raises(PaymentRefused) as refusal:
            await counter.payments.refund(
                session, await _reload(counter, payment), counter.official.id, origin=""
            )
    assert refusal.value.code == "not_refundable"


async def test_an_expired_payment_can_be_tried_again_once(counter: Counter) -> None:
    payment = await _ask(counter)
    assert payment.provider_payment_id is not None
    await counter.dev_psp.choose(payment.provider_payment_id, "expired")
    await _webhook(counter, payment.provider_payment_id)
    expired = await _reload(counter, payment)
    assert expired.status == "expired"
    citizen = Asker(f"participant:{counter.appointment.participants[0].id}")
    async with counter.sessionmaker() as session:
        again = await counter.payments.retry(session, expired, citizen, origin="")
    assert again.status == "open" and again.retry_of_id == payment.id
    assert (
        again.amount_cents == payment.amount_cents
        and again.provider_payment_id != payment.provider_payment_id
    )
    async with counter.sessionmaker() as session:
        with pytest.raises(PaymentRefused) as refusal:
            await counter.payments.retry(session, expired, citizen, origin="")
    assert refusal.value.code in ("not_retryable", "already_open")


async def test_a_payment_paid_after_the_call_ended_is_still_recorded(counter: Counter) -> None:
    payment = await _ask(counter)
    assert payment.provider_payment_id is not None
    async with counter.sessionmaker() as session:
        appointment = await session.get(Appointment, counter.appointment.id)
        assert appointment is not None
        appointment.status = AppointmentStatus.COMPLETED
        await session.commit()
    await counter.dev_psp.choose(payment.provider_payment_id, "paid")
    assert (await _webhook(counter, payment.provider_payment_id)).status_code == 200
    assert (await _reload(counter, payment)).status == "paid"
    assert await _count(counter, _receipts()) == 1


async def test_unknown_forged_and_empty_webhooks_change_nothing(counter: Counter) -> None:
    payment = await _ask(counter)
    assert (await _webhook(counter, "tr_doesnotexist")).status_code == 200
    async with httpx.AsyncClient(base_url=counter.base_url) as http:
        empty = await http.post("/betaling/webhook", data={})
        assert empty.status_code == 400
        assert empty.headers["content-type"].startswith("application/problem+json")
        json_body = await http.post("/betaling/webhook", json={"id": payment.provider_payment_id})
        assert json_body.status_code in (400, 415)
    # A webhook for a real payment that did not move: the provider's word (still open) is kept.
    assert payment.provider_payment_id is not None
    assert (await _webhook(counter, payment.provider_payment_id)).status_code == 200
    assert (await _reload(counter, payment)).status == "open"
    assert await _count(counter, _events("payment.status")) == 0


@pytest.mark.parametrize(
    ("which", "amount", "code"),
    [
        ("other", "", "fee_unknown"),
        ("none", "", "fee_unknown"),
        ("open", "abc", "amount_format"),
        ("open", "-5", "amount_negative"),
        ("open", "0", "amount_zero"),
        ("open", "0,00", "amount_zero"),
        ("open", "17,09", "amount_out_of_bounds"),
        ("open", "171,01", "amount_out_of_bounds"),
        ("open", "1e3", "amount_format"),
        ("open", "99999999", "amount_too_high"),
    ],
)
async def test_a_wrong_fee_or_amount_is_refused_and_nothing_is_asked(
    counter: Counter, which: str, amount: str, code: str
) -> None:
    fee = {"other": counter.other_fee, "open": counter.open_fee, "none": None}[which]
    async with counter.sessionmaker() as session:
        with pytest.raises(PaymentRefused) as refusal:
            await counter.payments.request(
                session,
                counter.appointment.id,
                counter.official.id,
                fee.id if fee else None,
                amount,
                origin="",
            )
    assert refusal.value.code == code
    assert await _count(counter, select(func.count()).select_from(Payment)) == 0


async def test_an_open_fee_takes_an_amount_within_its_bounds(counter: Counter) -> None:
    payment = await _ask(counter, counter.open_fee, "€ 51,30")
    assert payment.amount_cents == 5130


async def test_a_second_request_while_one_is_open_is_refused(counter: Counter) -> None:
    await _ask(counter)
    with pytest.raises(PaymentRefused) as refusal:
        await _ask(counter, counter.open_fee, "20")
    assert refusal.value.code == "already_open" and refusal.value.status == 409


async def test_no_request_when_the_citizen_has_left(counter: Counter) -> None:
    async with counter.sessionmaker() as session:
        appointment = await session.get(Appointment, counter.appointment.id)
        assert appointment is not None
        appointment.participants[0].state = rooms.LEFT
        await session.commit()
    with pytest.raises(PaymentRefused) as refusal:
        await _ask(counter)
    assert refusal.value.code == "citizen_left"


async def test_the_provider_away_leaves_nothing_half_recorded(
    tmp_path: Path, database_url: str, engine: AsyncEngine
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    app = create_app(_settings(tmp_path, database_url, free_port(), api_endpoint=nowhere))
    sessionmaker = app.state["sessionmaker"]
    async with sessionmaker() as session:
        appointment, official, fixed, _, _ = await _seed(session)
    payments: Payments = app.state["payments"]
    async with sessionmaker() as session:
        with pytest.raises(PaymentRefused) as refusal:
            await payments.request(session, appointment.id, official.id, fixed.id, "", origin="")
        assert refusal.value.code == "provider_down" and refusal.value.status == 503
        assert await session.scalar(select(func.count()).select_from(Payment)) == 0
        assert await session.scalar(_events("payment.requested")) == 0
