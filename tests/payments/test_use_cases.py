"""Payments' use cases on the kernel's in-memory unit of work and a fake store: no Postgres, no Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from payments import handlers
from payments.merchant import merchants_of_record
from payments.simulator import notification_body, scan
from shared.bus import Incoming
from shared.cities import all_cities
from shared.envelope import build_event
from shared.errors import Conflict, NotFound
from shared.events.orders import OrderCancelled, OrderPaymentRequested, RefundRequested
from shared.problems import Problem
from shared.uow import in_memory
from tests.payments.fakes import FakeStore, SpyAcquirer

CITY = "cimahi"


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def acquirer() -> SpyAcquirer:
    return SpyAcquirer()


@pytest.fixture
def issuing(acquirer: SpyAcquirer) -> handlers.Issuing:
    return handlers.Issuing(acquirer, merchants_of_record(all_cities()), all_cities())


def asked(event: OrderPaymentRequested, city: str = CITY, correlation_id: str | None = None) -> Incoming:
    """The event as the bus hands it to the set-based handler: in its envelope (city, correlation)."""
    return Incoming(build_event(event, city=city, correlation_id=correlation_id).envelope, event)


def request(amount: int = 25_000, order_id: str | None = None) -> OrderPaymentRequested:
    return OrderPaymentRequested(order_id=order_id or str(uuid.uuid4()), buyer_id="b-1", amount=amount,
                                 vendor_amounts={"v-1": amount})


async def new_intent(store: FakeStore, issuing: handlers.Issuing, amount: int = 25_000,
                     correlation_id: str = "corr-order") -> dict[str, object]:
    event = request(amount)
    async with in_memory(store, city=None) as uow:
        await handlers.create_intents(uow, [asked(event, correlation_id=correlation_id)], issuing=issuing)
    row = await store.intent_by_order(CITY, event.order_id)
    assert row is not None
    return row


async def test_an_intent_gets_a_qris_and_a_repeated_request_re_sends_it(store: FakeStore,
                                                                       issuing: handlers.Issuing) -> None:
    event = request(31_000)
    async with in_memory(store, city=None) as uow:
        await handlers.create_intents(uow, [asked(event, correlation_id="c-1")], issuing=issuing)
    assert uow.event_types() == ["PaymentRequested"]
    first = uow.events[0]
    assert scan(first["qris"]).amount == 31_000  # type: ignore[index]
    assert first["merchant_name"] == all_cities()[CITY].merchant.name  # type: ignore[index]
    assert uow.committed[0].envelope.correlation_id == "c-1"

    async with in_memory(store, city=None) as again:
        await handlers.create_intents(again, [asked(event)], issuing=issuing)
    assert again.event_types() == ["PaymentRequested"] and again.events[0] == first
    assert len(store.intents) == 1

    other = request(12_000)  # one batch: a new order, and the same order twice: one intent each, asked twice
    async with in_memory(store, city=None) as batch:
        await handlers.create_intents(batch, [asked(other), asked(other), asked(event)], issuing=issuing)
    assert batch.event_types() == ["PaymentRequested"] * 3 and len(store.intents) == 2
    assert batch.events[0] == batch.events[1] and batch.events[2] == first


async def test_no_qris_above_the_limit_is_a_payment_failed(store: FakeStore, issuing: handlers.Issuing) -> None:
    async with in_memory(store, city=None) as uow:
        await handlers.create_intents(uow, [asked(request(10_000_001))], issuing=issuing)
    assert uow.event_types() == ["PaymentFailed"]
    assert uow.events[0]["reason"] == "amount_above_qris_limit"  # type: ignore[index]


async def test_an_unknown_city_has_no_merchant_of_record(store: FakeStore, issuing: handlers.Issuing) -> None:
    with pytest.raises(ValueError, match="atlantis"):
        async with in_memory(store, city=None) as uow:
            await handlers.create_intents(uow, [asked(request(), city="atlantis")], issuing=issuing)


async def test_a_staff_refund_is_decided_now_and_sent_to_the_acquirer_after_commit(
        store: FakeStore, issuing: handlers.Issuing, acquirer: SpyAcquirer) -> None:
    intent = await new_intent(store, issuing, 50_000)
    pid = intent["payment_id"]
    assert isinstance(pid, uuid.UUID)
    command = handlers.RefundPayment(payment_id=pid, amount=20_000, reason="vendor_rejected", idempotency_key="k-1")
    with pytest.raises(Conflict) as unpaid:
        async with in_memory(store, city=CITY) as uow:
            await handlers.refund_payment(uow, command)
    assert unpaid.value.code == "nothing-to-refund" and unpaid.value.extra == {"status_value": "pending"}

    store.mark_paid_now(pid)
    async with in_memory(store, city=CITY, correlation_id="corr-staff") as uow:
        status, body = await handlers.refund_payment(uow, command)
        # the same key again in the same unit of work answers the same and refunds nothing more
        assert await handlers.refund_payment(uow, command) == (status, body)
        with pytest.raises(Problem, match="Idempotency-Key"):
            await handlers.refund_payment(uow, handlers.RefundPayment(pid, 5_000, "other", "k-1"))
    assert status == 201 and body["amount"] == 20_000 and body["payment_status"] == "partially_refunded"
    assert uow.event_types() == ["PaymentRefunded"]
    assert uow.committed[0].envelope.correlation_id == "corr-staff"
    assert store.intents[pid]["refunded_amount"] == 20_000
    # recorded, not yet sent: no network call inside the deciding transaction
    assert acquirer.refunded == [] and [r["acquirer_refund_reference"] for r in store.refunds] == [None]

    async with in_memory(store, city=None) as worker:
        assert await handlers.send_refunds(worker, acquirer=acquirer) == 1
    assert [o.amount for o in acquirer.refunded] == [20_000]
    assert acquirer.refunded[0].refund_id == body["refund_id"]
    assert store.refunds[0]["acquirer_refund_reference"].startswith("SIMRF-")
    assert worker.committed == []

    with pytest.raises(NotFound):
        async with in_memory(store, city=CITY) as uow:
            await handlers.refund_payment(uow, handlers.RefundPayment(uuid.uuid4(), None, "x", None))


async def test_an_unreachable_acquirer_keeps_the_refund_queued(store: FakeStore, issuing: handlers.Issuing,
                                                               acquirer: SpyAcquirer) -> None:
    intent = await new_intent(store, issuing)
    store.mark_paid_now(intent["payment_id"])  # type: ignore[arg-type]
    async with in_memory(store, city=CITY, causation=build_event(
            RefundRequested(order_id=str(intent["order_id"]), amount=5_000, reason="line_rejected"),
            city=CITY).envelope) as uow:
        await handlers.refund_requested(uow, RefundRequested(order_id=str(intent["order_id"]), amount=5_000,
                                                             reason="line_rejected"))
    assert uow.event_types() == ["PaymentRefunded"]
    acquirer.failing = True
    async with in_memory(store, city=None) as worker:
        assert await handlers.send_refunds(worker, acquirer=acquirer) == 0
    assert store.refunds[0]["send_attempts"] == 1 and "unreachable" in store.refunds[0]["send_error"]
    acquirer.failing = False
    async with in_memory(store, city=None) as worker:
        assert await handlers.send_refunds(worker, acquirer=acquirer) == 1
    assert store.refunds[0]["acquirer_refund_reference"] is not None


async def notify(store: FakeStore, qris: str, reference: str, request_id: str) -> handlers.Stored | None:
    body = notification_body(scan(qris), acquirer_reference=reference)
    import json

    data = json.loads(body)
    async with in_memory(store, city=CITY) as uow:
        return await handlers.store_notification(uow, handlers.StoreNotification(
            request_id=request_id, body=body.decode(), body_sha256="h", bill_number=data["bill_number"],
            amount=data["amount"], acquirer_reference=reference, paid_at=datetime.now(UTC), status="paid"))


async def test_notifications_pay_once_and_refund_a_second_payment_after_commit(
        store: FakeStore, issuing: handlers.Issuing, acquirer: SpyAcquirer) -> None:
    intent = await new_intent(store, issuing, correlation_id="corr-checkout")
    qris = str(intent["qris"])
    assert (await notify(store, qris, "A-1", "r-1")) is not None
    replay = await notify(store, qris, "A-1", "r-1")
    assert replay is not None and replay.replay
    await notify(store, qris, "A-1", "r-2")  # the same payment under a new request id: no effect
    await notify(store, qris, "A-2", "r-3")  # a second, different payment: refunded
    async with in_memory(store, city=None) as worker:
        assert await handlers.process_notifications(worker, 500) == 3
    assert worker.event_types() == ["PaymentSucceeded", "PaymentRefunded"]
    assert {e.envelope.correlation_id for e in worker.committed} == {"corr-checkout"}
    assert {e.envelope.city for e in worker.committed} == {CITY}
    assert worker.events[1]["reason"] == "duplicate_payment"  # type: ignore[index]
    assert [n["outcome"] for n in store.notifications] == ["paid", "repeat", "duplicate_payment"]
    assert acquirer.refunded == []  # nothing sent while the batch was being applied
    async with in_memory(store, city=None) as sender:
        assert await handlers.send_refunds(sender, acquirer=acquirer) == 1
    assert acquirer.refunded[0].acquirer_reference == "A-2"


async def test_an_unknown_bill_is_recorded_and_refused(store: FakeStore, issuing: handlers.Issuing) -> None:
    async with in_memory(store, city=CITY) as uow:
        stored = await handlers.store_notification(uow, handlers.StoreNotification(
            "r-x", "{}", "h", "PKNOSUCHBILL", 1_000, "A-X", datetime.now(UTC), "paid"))
    assert stored is None and [m["kind"] for m in store.mismatches] == ["unknown_intent"]


async def test_expiry_and_cancellation(store: FakeStore, issuing: handlers.Issuing) -> None:
    due = await new_intent(store, issuing, correlation_id="corr-due")
    store.intents[due["payment_id"]]["expires_at"] = datetime.now(UTC) - timedelta(seconds=1)  # type: ignore[index]
    fresh = await new_intent(store, issuing)
    async with in_memory(store, city=None) as worker:
        assert await handlers.expire_due(worker) == 1
    assert worker.event_types() == ["PaymentExpired"]
    assert worker.committed[0].envelope.correlation_id == "corr-due"
    assert worker.committed[0].envelope.city == CITY

    async with in_memory(store, city=CITY) as uow:
        await handlers.cancel_for_order(uow, OrderCancelled(order_id=str(fresh["order_id"]), reason="x", paid=False))
    assert uow.committed == [] and store.intents[fresh["payment_id"]]["status"] == "cancelled"  # type: ignore[index]


async def test_the_simulator_expires_now_through_the_workers_code(store: FakeStore,
                                                                 issuing: handlers.Issuing) -> None:
    intent = await new_intent(store, issuing, correlation_id="corr-x")
    async with in_memory(store, city=CITY) as uow:
        result = await handlers.expire_now(uow, handlers.ExpireNow(qris=str(intent["qris"])))
        again = await handlers.expire_now(uow, handlers.ExpireNow(payment_id=intent["payment_id"]))  # type: ignore[arg-type]
        unknown = await handlers.expire_now(uow, handlers.ExpireNow(payment_id=uuid.uuid4()))
    assert result is not None and (result.status, result.expired_now) == ("expired", True)
    assert again is not None and (again.status, again.expired_now) == ("expired", False)
    assert unknown is None
    assert uow.event_types() == ["PaymentExpired"] and uow.committed[0].envelope.correlation_id == "corr-x"


async def test_a_poison_notification_is_isolated_then_quarantined(store: FakeStore, issuing: handlers.Issuing,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    intent = await new_intent(store, issuing)
    await notify(store, str(intent["qris"]), "A-1", "r-1")
    original = store.intents_for_bills

    async def boom(keys: object) -> object:
        raise RuntimeError("poison")

    monkeypatch.setattr(store, "intents_for_bills", boom)
    drain = handlers.NotificationDrain(500)
    for _ in range(1 + drain.QUARANTINE_AFTER):  # the batch, then the oldest alone five times
        with pytest.raises(RuntimeError):
            async with in_memory(store, city=None) as uow:
                await drain(uow)
        assert drain.isolating
    async with in_memory(store, city=None) as uow:
        assert await drain(uow) == 1  # quarantined
    assert store.notifications[0]["outcome"] == "error"
    assert [m["kind"] for m in store.mismatches] == ["processing_error"]
    monkeypatch.setattr(store, "intents_for_bills", original)
    async with in_memory(store, city=None) as uow:
        assert await drain(uow) == 0
