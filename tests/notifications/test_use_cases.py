"""The use cases against the unit of work with an in-memory store: no Postgres, no Kafka, milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime

from notifications import domain
from notifications.handlers import Messages
from shared.envelope import build_event
from shared.events.common import OrderLine
from shared.events.orders import OrderPaid, OrderPlaced
from shared.uow import in_memory
from tests.notifications.fakes import FakeStore

RULES = {"cimahi": domain.CityRules.parse("cimahi", {"quiet_hours": "21:00-06:00"})}
NIGHT = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # 22.30 WIB


def messages(now: datetime = NIGHT) -> Messages:
    return Messages(RULES, "https://pasar.example.id", now=lambda: now)


async def _placed(store: FakeStore, m: Messages) -> None:
    placed = OrderPlaced(order_id="ord-1", buyer_id="acc-buyer", market_id="mkt-1", subtotal=30000, total=30000,
                         fulfilment="pickup_stall",
                         lines=[OrderLine(product_id="p-1", vendor_id="v-1", quantity=2, unit_price=10000,
                                          name="Beras Pandan", unit="kg"),
                                OrderLine(product_id="p-2", vendor_id="v-2", quantity=1, unit_price=10000)])
    async with in_memory(store) as uow:
        await m.on_order_placed(uow.caused_by(build_event(placed, city="cimahi").envelope), placed)


async def test_a_paid_order_tells_the_buyer_and_each_vendor_once_whatever_the_redelivery() -> None:
    store, m = FakeStore(), messages()
    store.accounts["acc-buyer"] = "081200000001"
    store.vendor_rows["v-1"] = {"vendor_id": "v-1", "name": "Toko Sari", "phone": "081200000002", "stall": "Los A-01"}
    await _placed(store, m)
    paid = build_event(OrderPaid(order_id="ord-1", payment_id="pay-1", amount=30000), city="cimahi")
    for _ in range(3):  # the same event, redelivered
        async with in_memory(store) as uow:
            await m.on_order_paid(uow.caused_by(paid.envelope), OrderPaid(**paid.envelope.payload))
    assert store.sent_to("081200000001") == ["order_paid"]
    assert store.sent_to("081200000002") == ["vendor_new_order"]  # v-2 has no phone: nothing, counted
    vendor = next(q for q in store.queue.values() if q["recipient"] == "081200000002")
    assert vendor["body"] == ("Pesanan baru ORD-1 sudah dibayar, mohon disiapkan (diambil di lapak):\n"
                              "- 2 kg Beras Pandan")
    buyer = next(q for q in store.queue.values() if q["recipient"] == "081200000001")
    assert "Rp 30.000" in buyer["body"] and buyer["not_before"] == NIGHT  # the buyer waits on it: not deferred
    assert len(store.queue) == 2


async def test_an_opted_out_phone_gets_nothing() -> None:
    store, m = FakeStore(), messages()
    store.accounts["acc-buyer"] = "081200000001"
    store.opted.add(("cimahi", "081200000001"))
    await _placed(store, m)
    paid = build_event(OrderPaid(order_id="ord-1", payment_id="pay-1", amount=30000), city="cimahi")
    async with in_memory(store) as uow:
        await m.on_order_paid(uow.caused_by(paid.envelope), OrderPaid(**paid.envelope.payload))
    assert store.sent_to("081200000001") == []


async def test_an_order_event_before_its_order_placed_is_parked_then_told() -> None:
    store, m = FakeStore(), messages()
    store.accounts["acc-buyer"] = "081200000001"
    paid = build_event(OrderPaid(order_id="ord-1", payment_id="pay-1", amount=30000), city="cimahi")
    async with in_memory(store) as uow:
        await m.on_order_paid(uow.caused_by(paid.envelope), OrderPaid(**paid.envelope.payload))
    assert store.queue == {} and len(store.parked["ord-1"]) == 1
    await _placed(store, m)
    assert store.sent_to("081200000001") == ["order_paid"] and store.parked == {}


async def test_a_delivery_on_its_way_and_a_failed_one_tell_the_buyer() -> None:
    from shared.events.orders import OrderDeliveryFailed, OrderOutForDelivery

    store, m = FakeStore(), messages()
    store.accounts["acc-buyer"] = "081200000001"
    await _placed(store, m)
    out = build_event(OrderOutForDelivery(order_id="ord-1", courier_name="Asep", courier_phone="081300000003"),
                      city="cimahi")
    failed = build_event(OrderDeliveryFailed(order_id="ord-1", reason="rumah kosong", attempts=1), city="cimahi")
    async with in_memory(store) as uow:
        await m.on_out_for_delivery(uow.caused_by(out.envelope), OrderOutForDelivery(**out.envelope.payload))
    async with in_memory(store) as uow:
        await m.on_delivery_failed(uow.caused_by(failed.envelope), OrderDeliveryFailed(**failed.envelope.payload))
    assert store.sent_to("081200000001") == ["order_on_its_way", "order_delivery_failed"]
    bodies = [q["body"] for q in store.queue.values() if q["recipient"] == "081200000001"]
    assert "Asep (081300000003)" in bodies[0] and "rumah kosong" in bodies[1]
