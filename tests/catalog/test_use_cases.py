"""The catalog's use cases on the in-memory unit of work (``shared.uow.in_memory`` + ``FakeStore``): state changes
and the events committed with them, in milliseconds — no Postgres, no Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog import handlers
from catalog.handlers import ChangeVendorStatus, SetPrice, SetStock
from shared.auth import Principal
from shared.bus import Incoming
from shared.envelope import build_event
from shared.errors import Conflict, Forbidden, NotFound
from shared.events.common import OrderLine
from shared.events.orders import OrderPaid, OrderPlaced
from shared.uow import in_memory
from tests.catalog.fakes import FakeStore

CITY = "cimahi"


def vendor(vendor_id: str = "v1") -> Principal:
    return Principal(sub=f"u-{vendor_id}", city=CITY, roles=frozenset({"vendor"}), vendor_id=vendor_id)


def market_admin(market_id: str) -> Principal:
    return Principal(sub="admin", city=CITY, roles=frozenset({"market_admin"}), market_id=market_id)


@pytest.fixture
def store() -> FakeStore:
    s = FakeStore()
    s.add_market("m1")
    s.add_market("m2")
    s.add_vendor("v1", "m1")
    s.add_vendor("v2", "m1")
    s.add_product("p1", "v1", price=10_000, stock=10)
    s.add_product("p2", "v1", price=5_000, stock=None)
    return s


async def test_set_price_saves_records_history_and_emits_price_changed(store: FakeStore) -> None:
    async with in_memory(store, city=CITY, correlation_id="req-1") as uow:
        out = await handlers.set_price(uow, SetPrice(vendor("v1"), "p1", 12_500))
    assert out["price"] == 12_500 and store.products["p1"]["price"] == 12_500
    assert store.price_history == [(CITY, "p1", 12_500)]
    assert uow.event_types() == ["PriceChanged"]
    assert uow.events == [{"product_id": "p1", "old_price": 10_000, "new_price": 12_500}]
    [event] = uow.committed
    assert event.envelope.correlation_id == "req-1" and event.envelope.city == CITY


async def test_the_same_price_again_changes_and_emits_nothing(store: FakeStore) -> None:
    async with in_memory(store, city=CITY) as uow:
        await handlers.set_price(uow, SetPrice(vendor("v1"), "p1", 10_000))
    assert uow.committed == [] and store.price_history == []


async def test_another_vendors_product_is_forbidden_and_nothing_changes(store: FakeStore) -> None:
    with pytest.raises(Forbidden) as refused:
        async with in_memory(store, city=CITY) as uow:
            await handlers.set_stock(uow, SetStock(vendor("v2"), "p1", {"stock": 0}))
    assert refused.value.code == "other-vendor"
    assert store.products["p1"]["stock"] == 10 and uow.committed == []


async def test_another_citys_product_is_not_found(store: FakeStore) -> None:
    store.add_vendor("vt", "mt", city="tegal")
    store.add_product("pt", "vt")
    with pytest.raises(NotFound):
        async with in_memory(store, city=CITY) as uow:
            await handlers.set_price(uow, SetPrice(vendor("v1"), "pt", 1))


async def test_order_placed_reserves_all_lines_and_answers_in_the_events_correlation(store: FakeStore) -> None:
    order = OrderPlaced(order_id="o1", buyer_id="b1", market_id="m1", fulfilment="pickup_stall", subtotal=0, total=0,
                        lines=[OrderLine(product_id="p1", vendor_id="v1", quantity=3, unit_price=10_000),
                               OrderLine(product_id="p2", vendor_id="v1", quantity=1, unit_price=5_000)])
    placed = build_event(order, city=CITY, correlation_id="checkout-42").envelope
    async with in_memory(store, city=None) as bus_uow:  # the bus: one unit of work, scoped per event
        await handlers.on_order_placed(bus_uow.caused_by(placed), order)
    assert store.products["p1"]["stock"] == 7 and store.reservations["o1"]["status"] == "held"
    assert bus_uow.event_types() == ["StockAdjusted", "StockReserved"]
    assert {e.envelope.correlation_id for e in bus_uow.committed} == {"checkout-42"}
    assert {e.envelope.causation_id for e in bus_uow.committed} == {str(placed.event_id)}

    paid = OrderPaid(order_id="o1", payment_id="pay-1", amount=35_000)
    first, repeat = (build_event(paid, city=CITY).envelope for _ in range(2))
    tegal = build_event(paid, city="tegal").envelope
    async with in_memory(store, city=None) as other:  # the same order id sent for another city: ignored
        await handlers.on_orders_paid(other, [Incoming(tegal, paid)])
    assert other.event_types() == [] and store.reservations["o1"]["status"] == "held"
    async with in_memory(store, city=None) as uow:  # one polled batch: the repeat changes nothing
        await handlers.on_orders_paid(uow, [Incoming(first, paid), Incoming(repeat, paid)])
    async with in_memory(store, city=None) as later:  # nor in a later batch
        await handlers.on_orders_paid(later, [Incoming(repeat, paid)])
    assert store.reservations["o1"]["status"] == "committed"
    assert uow.event_types() == ["StockCommitted"] and later.event_types() == []
    [committed] = uow.committed
    assert committed.envelope.causation_id == str(first.event_id)
    assert committed.envelope.payload["lines"] == [{"product_id": "p1", "quantity": 3},
                                                   {"product_id": "p2", "quantity": 1}]


async def test_the_deadline_job_releases_a_due_reservation_into_its_own_city(store: FakeStore) -> None:
    await store.claim_reservation("o9", CITY, "m1", "held")
    await store.insert_reservation_lines("o9", [("p1", 4, True)])
    store.products["p1"]["stock"] = 6
    await store.set_reservation("o9", "held", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    async with in_memory(store, city=None) as uow:  # periodic jobs span cities
        assert await handlers.release_expired_reservation(uow) == 1
    async with in_memory(store, city=None) as idle:
        assert await handlers.release_expired_reservation(idle) == 0
    assert store.reservations["o9"]["status"] == "released" and store.products["p1"]["stock"] == 10
    assert uow.event_types() == ["StockAdjusted", "StockReleased"]
    assert {e.envelope.city for e in uow.committed} == {CITY}
    assert uow.events[-1]["reason"] == "reservation_expired"


async def test_market_admin_activates_a_vendor_of_their_market_only(store: FakeStore) -> None:
    store.add_vendor("v3", "m1", status="pending")
    async with in_memory(store, city=CITY) as uow:
        out = await handlers.change_vendor_status(uow, ChangeVendorStatus(market_admin("m1"), "v3", "activate"))
    assert out["status"] == "active" and uow.event_types() == ["VendorActivated"]

    store.add_vendor("v4", "m2", status="pending")
    with pytest.raises(Forbidden):
        async with in_memory(store, city=CITY) as other:
            await handlers.change_vendor_status(other, ChangeVendorStatus(market_admin("m1"), "v4", "activate"))
    assert store.vendors["v4"]["status"] == "pending"

    store.add_vendor("v5", None, status="draft", verified=False)
    with pytest.raises(Conflict) as refused:
        async with in_memory(store, city=CITY) as draft:
            await handlers.change_vendor_status(draft, ChangeVendorStatus(market_admin("m1"), "v5", "activate"))
    assert refused.value.code == "vendor-status" and draft.committed == []
