"""Orders' use cases on the kernel's in-memory unit of work and a fake store: no Postgres, no Kafka.

What is asserted is what the real path must do too: the state the store ends with, and the events the use
case committed (``uow.committed``) with their city, correlation and causation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orders import handlers
from orders.domain import CartItem, CheckoutRejected, Fulfilment, Status
from shared.auth import Principal
from shared.bus import Incoming
from shared.envelope import build_event
from shared.errors import NotFound
from shared.events import catalog as cat
from shared.events import payments as pay
from shared.uow import in_memory
from tests.orders.fakes import FakeStore

CITY, MARKET, HUB = "cimahi", "m-1", "h-1"
BUYER = Principal(sub="b-1", city=CITY, roles=frozenset({"buyer"}))


async def seeded() -> FakeStore:
    """A store with catalog's projections as the projection handlers build them."""
    store = FakeStore()
    events = [
        cat.MarketOpened(market_id=MARKET, name="Pasar Atas Baru"),
        cat.RwHubRegistered(rw_hub_id=HUB, name="RW 05", kelurahan="Cigugur Tengah", rw="05", address="Jl. RW 05"),
        cat.ProductListed(product_id="p-beras", vendor_id="v-1", market_id=MARKET, name="Beras", category="pokok",
                          unit="kg", price=14_000, max_per_order=10),
        cat.PriceChanged(product_id="p-beras", old_price=14_000, new_price=15_000),
        cat.ProductListed(product_id="p-telur", vendor_id="v-2", market_id=MARKET, name="Telur", category="pokok",
                          unit="kg", price=28_000),
    ]
    handler_of = {cat.MarketOpened: handlers.on_market_opened, cat.RwHubRegistered: handlers.on_rw_hub_registered,
                  cat.ProductListed: handlers.on_product_listed, cat.PriceChanged: handlers.on_price_changed}
    async with in_memory(store, city=None) as uow:
        for e in events:
            await handler_of[type(e)](uow.caused_by(build_event(e, city=CITY).envelope), e)
    return store


def checkout(*items: tuple[str, int], key: str | None = None, body_hash: str = "h-1") -> handlers.PlaceOrder:
    return handlers.PlaceOrder(buyer_id=BUYER.sub, market_id=MARKET, items=tuple(CartItem(p, q) for p, q in items),
                               fulfilment=Fulfilment("pickup_rw_hub", rw_hub_id=HUB), delivery_fee=10_000,
                               idempotency_key=key, body_hash=body_hash)


async def test_checkout_creates_the_order_and_commits_order_placed_with_the_request_correlation() -> None:
    store = await seeded()
    async with in_memory(store, city=CITY, correlation_id="req-42") as uow:
        answer = await handlers.place_order(uow, checkout(("p-beras", 2), ("p-telur", 1)))
    assert answer.status == 201 and answer.body["total"] == 58_000  # the projected (changed) price, no fee
    order = store.orders[answer.body["order_id"]]
    assert order.status is Status.PLACED and [li.unit_price for li in order.lines] == [15_000, 28_000]
    assert uow.event_types() == ["OrderPlaced"]
    [placed] = uow.committed
    assert placed.envelope.city == CITY and placed.envelope.correlation_id == "req-42"
    assert placed.envelope.payload["order_id"] == order.order_id and placed.key == order.order_id
    assert store.history == [(order.order_id, None, "placed", "checkout")]


async def test_a_repeated_idempotency_key_answers_the_first_order_once() -> None:
    store = await seeded()
    async with in_memory(store, city=CITY) as uow:
        first = await handlers.place_order(uow, checkout(("p-beras", 1), key="k-1"))
        again = await handlers.place_order(uow, checkout(("p-beras", 1), key="k-1"))
    assert again == first and len(store.orders) == 1 and uow.event_types() == ["OrderPlaced"]


async def test_a_bad_cart_raises_and_commits_nothing() -> None:
    store = await seeded()
    with pytest.raises(CheckoutRejected) as exc:
        async with in_memory(store, city=CITY) as uow:
            await handlers.place_order(uow, checkout(("p-beras", 11)))
    assert exc.value.code == "quantity-out-of-range"
    assert store.orders == {} and uow.committed == []


async def test_the_saga_moves_the_order_and_emits_caused_by_the_incoming_event() -> None:
    store = await seeded()
    async with in_memory(store, city=CITY, correlation_id="req-7") as uow:
        order_id = (await handlers.place_order(uow, checkout(("p-beras", 2), ("p-telur", 1)))).body["order_id"]
    event = cat.StockReserved(order_id=order_id, lines=[], expires_at=datetime.now(UTC))
    reserved = build_event(event, city=CITY, correlation_id="req-7").envelope
    async with in_memory(store, city=None) as uow:  # as the bus does: one unit of work, scoped per event
        await handlers.on_saga_events(uow, [Incoming(reserved, event)])
    assert store.orders[order_id].status is Status.STOCK_RESERVED
    [requested] = uow.committed
    assert requested.envelope.event_type == "OrderPaymentRequested"
    assert requested.envelope.payload["vendor_amounts"] == {"v-1": 30_000, "v-2": 28_000}
    assert requested.envelope.causation_id == str(reserved.event_id)
    assert requested.envelope.correlation_id == "req-7"


async def test_an_event_of_another_city_does_not_touch_the_order_or_the_projection() -> None:
    store = await seeded()
    async with in_memory(store, city=CITY) as uow:
        order_id = (await handlers.place_order(uow, checkout(("p-beras", 1)))).body["order_id"]
    async with in_memory(store, city="tegal") as uow:
        forged = pay.PaymentFailed(payment_id="x", order_id=order_id, reason="forged")
        await handlers.on_saga_events(uow, [Incoming(build_event(forged, city="tegal").envelope, forged)])
        await handlers.on_price_changed(uow, cat.PriceChanged(product_id="p-beras", old_price=15_000, new_price=1))
    assert store.orders[order_id].status is Status.PLACED and store.product_rows["p-beras"]["price"] == 15_000
    assert uow.committed == []


async def test_only_the_buyer_may_cancel_and_a_cancel_commits_order_cancelled() -> None:
    store = await seeded()
    async with in_memory(store, city=CITY) as uow:
        order_id = (await handlers.place_order(uow, checkout(("p-beras", 1)))).body["order_id"]
    stranger = Principal(sub="b-2", city=CITY, roles=frozenset({"buyer"}))
    with pytest.raises(NotFound):
        async with in_memory(store, city=CITY) as uow:
            await handlers.cancel_order(uow, handlers.CancelOrder(order_id, stranger))
    async with in_memory(store, city=CITY) as uow:
        order = await handlers.cancel_order(uow, handlers.CancelOrder(order_id, BUYER))
    assert order.status is Status.CANCELLED and store.orders[order_id].status is Status.CANCELLED
    assert uow.events == [{"order_id": order_id, "reason": "buyer_cancelled", "paid": False}]


async def test_a_wrong_pickup_code_is_counted_and_answered_after_the_commit() -> None:
    store = await seeded()
    async with in_memory(store, city=CITY) as uow:
        order_id = (await handlers.place_order(uow, checkout(("p-beras", 1)))).body["order_id"]
    order = await store.load(order_id)
    assert order is not None
    order.stock_reserved()
    order.payment_requested("pay-1", "000201", datetime.now(UTC) + timedelta(minutes=15))
    order.payment_succeeded("pay-1", order.total)
    order.mark_prepared("v-1", lambda: "123456")
    await store.save(order)
    staff = Principal(sub="admin", city=CITY, roles=frozenset({"city_admin"}))
    async with in_memory(store, city=CITY) as uow:
        _, result = await handlers.confirm_pickup(uow, handlers.ConfirmPickup(order_id, "000000", staff))
    refusal = result.refusal()
    assert refusal is not None and refusal.code == "wrong-pickup-code"
    assert store.orders[order_id].pickup_attempts == 1 and uow.committed == []
    async with in_memory(store, city=CITY) as uow:
        order, result = await handlers.confirm_pickup(uow, handlers.ConfirmPickup(order_id, "123456", staff))
    assert result.ok and order.status is Status.COMPLETED and uow.event_types() == ["OrderCompleted"]
