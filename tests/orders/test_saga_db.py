"""Orders on a real Postgres, with its neighbours simulated: catalog's and payments' events are fed through
orders' own consumers (inbox included), checkout and the vendor/pickup commands go through its HTTP routes,
and what orders emits is read back from its outbox.

No other service runs here, so nothing races the simulated events (the full flow with the real catalog and
payments is in tests/e2e/test_orders_flow.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

import orders
from orders import grace, stream
from orders.http import router
from orders.store import OrdersStore, StaleOrder
from shared.bus import EventBus, Incoming
from shared.db import create_pool, migrate
from shared.envelope import EventPayload, build_event
from shared.events import catalog as cat
from shared.events import payments as pay
from shared.ids import new_id
from shared.inbox import claim_many
from shared.service import ServiceKernel
from shared.uow import Work
from tests.conftest import Infra
from tests.integration.probe import new_schema
from tests.tokens import bearer

pytestmark = pytest.mark.integration

MIGRATIONS = Path(orders.__file__).resolve().parent / "migrations"
CITY = "cimahi"


class Harness:
    def __init__(self, pool: asyncpg.Pool, bus: EventBus, client: httpx.AsyncClient) -> None:
        self.pool, self.bus, self.client = pool, bus, client
        self.work = Work(lambda: pool, OrdersStore)  # the kernel's units of work, on this schema

    async def deliver(self, payload: EventPayload, *, city: str = CITY, envelope: Any = None) -> bool:
        """Hand one event to the handler its consumer registered, as the bus would: one unit of work that
        claims the event in the consumer's inbox and runs ``handler(uow.caused_by(envelope), event)`` (a set-based
        handler gets a batch of one, as on the bus's one-by-one path)."""
        env = envelope or build_event(payload, city=city).envelope
        for consumer in self.bus.consumers:
            handler = consumer.handlers.get((env.event_type, env.event_version))
            batch_handler = consumer.batch_handlers.get((env.event_type, env.event_version))
            if handler is None and batch_handler is None:
                continue
            async with self.work(city=None) as uow:
                if env.event_id not in await claim_many(uow.conn, consumer.group_id, [env]):
                    return False  # seen before: the inbox drops it
                if batch_handler is not None:
                    await batch_handler(uow, [Incoming(env, payload)])
                else:
                    assert handler is not None
                    await handler(uow.caused_by(env), payload)
            return True
        raise AssertionError(f"no orders consumer handles {env.event_type}")

    async def emitted(self, order_id: str) -> list[tuple[str, dict[str, Any]]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT event_type, body FROM outbox WHERE message_key = $1 ORDER BY id",
                                    order_id)
        return [(r["event_type"], json.loads(r["body"])["payload"]) for r in rows]

    async def types(self, order_id: str) -> list[str]:
        return [t for t, _ in await self.emitted(order_id)]

    async def get(self, order_id: str, headers: dict[str, str]) -> dict[str, Any]:
        r = await self.client.get(f"/cities/{CITY}/orders/{order_id}", headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())


def auth(role: str, sub: str = "buyer-1", city: str = CITY, **kw: Any) -> dict[str, str]:
    return bearer(city, role, sub=sub, **kw)


BUYER = auth("buyer")


@pytest.fixture(scope="module")
async def h(infra: Infra) -> AsyncIterator[Harness]:
    schema, dsn = await new_schema(infra.admin_url)
    pool = await create_pool(dsn, schema, "orders-test", max_size=5)
    async with pool.acquire() as conn:
        await migrate(conn, schema, MIGRATIONS)
    kernel = ServiceKernel(schema, None, uses_database=False, store=OrdersStore)
    kernel.pool = pool  # never started: no Kafka here, the harness hands the events to the handlers itself
    stream.register(kernel.bus)
    app = kernel.http_app(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as client:
        harness = Harness(pool, kernel.bus, client)
        await seed(harness)
        yield harness
    await pool.close()


MARKET, OTHER_MARKET, HUB, TEGAL_HUB = new_id(), new_id(), new_id(), new_id()
V1, V2 = new_id(), new_id()
BERAS, TELUR, IKAN, CABAI = new_id(), new_id(), new_id(), new_id()


async def seed(h: Harness) -> None:
    await h.deliver(cat.MarketOpened(market_id=MARKET, name="Pasar Atas Baru"))
    await h.deliver(cat.MarketOpened(market_id=OTHER_MARKET, name="Pasar Cimindi"))
    await h.deliver(cat.RwHubRegistered(rw_hub_id=HUB, name="RW 05", kelurahan="Cigugur Tengah", rw="05",
                                        address="Jl. RW 05"))
    await h.deliver(cat.RwHubRegistered(rw_hub_id=TEGAL_HUB, name="RW 02", kelurahan="Pekauman", rw="02",
                                        address="Jl. RW 02"), city="tegal")
    await h.deliver(cat.ProductListed(product_id=BERAS, vendor_id=V1, market_id=MARKET, name="Beras", category="pokok",
                                      unit="kg", price=14_000, min_per_order=1, max_per_order=10))
    await h.deliver(cat.PriceChanged(product_id=BERAS, old_price=14_000, new_price=15_000))
    await h.deliver(cat.ProductListed(product_id=TELUR, vendor_id=V2, market_id=MARKET, name="Telur", category="pokok",
                                      unit="kg", price=28_000))
    await h.deliver(cat.ProductListed(product_id=IKAN, vendor_id=V2, market_id=OTHER_MARKET, name="Ikan",
                                      category="lauk", unit="kg", price=40_000))
    await h.deliver(cat.ProductListed(product_id=CABAI, vendor_id=V1, market_id=MARKET, name="Cabai",
                                      category="bumbu", unit="ons", price=5_000))
    await h.deliver(cat.StockAdjusted(product_id=CABAI, stock=0, available=False))


def cart(*items: tuple[str, int], fulfilment: dict[str, Any] | None = None, market: str = MARKET) -> dict[str, Any]:
    return {"market_id": market, "items": [{"product_id": p, "quantity": q} for p, q in items],
            "fulfilment": fulfilment or {"type": "pickup_rw_hub", "rw_hub_id": HUB}}


async def place(h: Harness, body: dict[str, Any] | None = None, headers: dict[str, str] = BUYER) -> dict[str, Any]:
    r = await h.client.post(f"/cities/{CITY}/orders", json=body or cart((BERAS, 2), (TELUR, 1)), headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def to_awaiting_payment(h: Harness, order_id: str) -> None:
    await h.deliver(cat.StockReserved(order_id=order_id, lines=[], expires_at=datetime.now(UTC)))
    await h.deliver(pay.PaymentRequested(payment_id=f"pay-{order_id}", order_id=order_id, amount=58_000,
                                         qris="000201010212...6304ABCD",
                                         expires_at=datetime.now(UTC) + timedelta(minutes=15)))


async def to_paid(h: Harness, order_id: str, amount: int = 58_000) -> None:
    await to_awaiting_payment(h, order_id)
    await h.deliver(pay.PaymentSucceeded(payment_id=f"pay-{order_id}", order_id=order_id, amount=amount,
                                         acquirer_reference="sim-1", paid_at=datetime.now(UTC)))


async def count_orders(h: Harness) -> int:
    async with h.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM orders"))


# ------------------------------------------------------------------------------------------------ checkout

async def test_checkout_uses_projected_prices_and_emits_order_placed(h: Harness) -> None:
    body = cart((BERAS, 2), (TELUR, 1))
    body["items"][0]["unit_price"] = 1  # a client's price is ignored
    order = await place(h, body)
    assert order["status"] == "placed" and order["status_label"] == "Menunggu Konfirmasi"
    assert [(li["unit_price"], li["amount"]) for li in order["lines"]] == [(15_000, 30_000), (28_000, 28_000)]
    assert (order["subtotal"], order["delivery_fee"], order["total"]) == (58_000, 0, 58_000)
    [(kind, placed)] = await h.emitted(order["order_id"])
    assert kind == "OrderPlaced" and placed["total"] == 58_000 and placed["rw_hub_id"] == HUB
    assert {li["vendor_id"] for li in placed["lines"]} == {V1, V2}


def delivery(**over: Any) -> dict[str, Any]:
    """A delivery to Cibabat (Rp 8.000 in the demo config) in tomorrow's first slot."""
    tomorrow = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=1)).date().isoformat()
    return {"type": "delivery", "phone": "0812-3456-7890", "kelurahan": "cibabat", "rw": "05",
            "street": "Jl. Cihanjuang 3", "note": "pagar hijau", "slot_date": tomorrow,
            "slot_window": "08:00-10:00", **over}


async def test_delivery_charges_the_kelurahan_fee_and_keeps_phone_address_and_slot(h: Harness) -> None:
    order = await place(h, cart((TELUR, 1), fulfilment=delivery()))
    assert (order["delivery_fee"], order["total"]) == (8_000, 36_000)
    d = order["delivery"]
    assert (d["phone"], d["kelurahan"], d["rw"], d["slot_window"]) == ("081234567890", "Cibabat", "05", "08:00-10:00")
    assert order["fulfilment"]["address"] == "Jl. Cihanjuang 3, RW 05, Kel. Cibabat (pagar hijau)"


async def test_a_full_delivery_slot_is_refused(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from orders import http as orders_http
    from orders.delivery import rules_for

    tight = dataclasses.replace(rules_for(CITY), slot_capacity=1)
    monkeypatch.setattr(orders_http, "rules_for", lambda city: tight)
    slot = delivery(slot_window="15:00-17:00")
    await place(h, cart((TELUR, 1), fulfilment=slot))
    r = await h.client.post(f"/cities/{CITY}/orders", json=cart((TELUR, 1), fulfilment=slot), headers=BUYER)
    assert r.status_code == 422 and r.json()["type"].endswith("/slot-full"), r.text


@pytest.mark.parametrize(("body", "status", "code"), [
    (cart(), 422, "empty-cart"),
    (cart(("no-such-product", 1)), 422, "unknown-product"),
    (cart((IKAN, 1)), 422, "product-other-market"),
    (cart((CABAI, 1)), 422, "product-unavailable"),
    (cart((BERAS, 11)), 422, "quantity-out-of-range"),
    (cart((BERAS, 0)), 422, "validation-error"),
    (cart((BERAS, 1), fulfilment={"type": "pickup_rw_hub", "rw_hub_id": TEGAL_HUB}), 422, "unknown-rw-hub"),
    (cart((BERAS, 1), fulfilment={"type": "delivery"}), 422, "address-required"),
    (cart((BERAS, 1), fulfilment=delivery(phone=None)), 422, "phone-required"),
    (cart((BERAS, 1), fulfilment=delivery(kelurahan="Menteng")), 422, "outside-delivery-zone"),
    (cart((BERAS, 1), fulfilment=delivery(slot_date="2020-01-01")), 422, "slot-unavailable"),
    (cart((BERAS, 1), fulfilment=delivery(slot_window="03:00-04:00")), 422, "slot-required"),
    (cart((BERAS, 1), fulfilment={"type": "teleport"}), 422, "validation-error"),
    (cart((BERAS, 1), market="no-such-market"), 422, "unknown-market"),
])
async def test_bad_carts_answer_4xx_and_create_nothing(h: Harness, body: dict[str, Any], status: int,
                                                       code: str) -> None:
    before = await count_orders(h)
    r = await h.client.post(f"/cities/{CITY}/orders", json=body, headers=BUYER)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/" + code)
    assert await count_orders(h) == before


async def test_other_city_and_roles_are_refused(h: Harness) -> None:
    r = await h.client.post(f"/cities/{CITY}/orders", json=cart((BERAS, 1)), headers=auth("buyer", city="tegal"))
    assert r.status_code == 403
    r = await h.client.post(f"/cities/{CITY}/orders", json=cart((BERAS, 1)), headers=auth("vendor", vendor_id=V1))
    assert r.status_code == 403
    r = await h.client.post("/cities/atlantis/orders", json=cart((BERAS, 1)), headers=auth("buyer", city="atlantis"))
    assert r.status_code == 404


async def test_idempotency_key_gives_the_same_order_once(h: Harness) -> None:
    before = await count_orders(h)
    key = {"Idempotency-Key": new_id()}
    first = await h.client.post(f"/cities/{CITY}/orders", json=cart((BERAS, 1)), headers={**BUYER, **key})
    again = await h.client.post(f"/cities/{CITY}/orders", json=cart((BERAS, 1)), headers={**BUYER, **key})
    assert first.status_code == again.status_code == 201
    assert first.json()["order_id"] == again.json()["order_id"]
    assert await count_orders(h) == before + 1
    other = await h.client.post(f"/cities/{CITY}/orders", json=cart((BERAS, 2)), headers={**BUYER, **key})
    assert other.status_code == 422


# ------------------------------------------------------------------------------------------------ the saga

async def test_happy_path_to_selesai_with_duplicates_ignored(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    reserved = cat.StockReserved(order_id=order_id, lines=[], expires_at=datetime.now(UTC))
    envelope = build_event(reserved, city=CITY).envelope
    assert await h.deliver(reserved, envelope=envelope)
    assert not await h.deliver(reserved, envelope=envelope)  # the same event again: the inbox drops it
    await h.deliver(cat.StockReserved(order_id=order_id, lines=[], expires_at=datetime.now(UTC)))  # a copy: no-op
    assert await h.types(order_id) == ["OrderPlaced", "OrderPaymentRequested"]
    requested = (await h.emitted(order_id))[1][1]
    assert requested["amount"] == 58_000 and requested["vendor_amounts"] == {V1: 30_000, V2: 28_000}

    await to_paid(h, order_id)
    order = await h.get(order_id, BUYER)
    assert order["status_label"] == "Dibayar" and order["payment"]["payment_id"] == f"pay-{order_id}"
    assert await h.types(order_id) == ["OrderPlaced", "OrderPaymentRequested", "OrderPaid"]

    # vendors see only their own lines
    v1, v2 = auth("vendor", sub="v1", vendor_id=V1), auth("vendor", sub="v2", vendor_id=V2)
    mine = (await h.client.get(f"/cities/{CITY}/vendor/orders", headers=v1)).json()["orders"]
    seen = next(o for o in mine if o["order_id"] == order_id)
    assert [li["vendor_id"] for li in seen["lines"]] == [V1] and "pickup_code" not in seen
    r = await h.client.post(f"/cities/{CITY}/vendor/orders/{order_id}/lines/L1/accept", headers=v1)
    assert r.status_code == 200 and r.json()["status_label"] == "Dikemas"
    assert (await h.client.post(f"/cities/{CITY}/vendor/orders/{order_id}/lines/L2/accept",
                                headers=v1)).status_code == 409  # not their line
    assert (await h.client.post(f"/cities/{CITY}/vendor/orders/{order_id}/prepared", headers=v1)).status_code == 200
    r = await h.client.post(f"/cities/{CITY}/vendor/orders/{order_id}/prepared", headers=v2)
    assert r.status_code == 200 and r.json()["status_label"] == "Siap Diambil"

    order = await h.get(order_id, BUYER)
    code = order["pickup_code"]
    assert order["status_label"] == "Siap Diambil" and len(code) == 6 and code.isdigit()
    staff = auth("city_admin", sub="admin")
    assert (await h.get(order_id, staff))["pickup_code"] is None  # the confirmer never sees it
    hub_vendor = await h.client.post(f"/cities/{CITY}/orders/{order_id}/pickup", json={"code": code}, headers=v1)
    assert hub_vendor.status_code == 404  # RW-hub pickup is confirmed at the hub, not at the stall
    wrong = await h.client.post(f"/cities/{CITY}/orders/{order_id}/pickup",
                                json={"code": "000000" if code != "000000" else "111111"}, headers=staff)
    assert wrong.status_code == 422 and wrong.json()["attempts_left"] == 4 and code not in wrong.text
    r = await h.client.post(f"/cities/{CITY}/orders/{order_id}/pickup", json={"code": code}, headers=staff)
    assert r.status_code == 200 and r.json()["status_label"] == "Selesai"
    events = await h.emitted(order_id)
    assert [t for t, _ in events] == ["OrderPlaced", "OrderPaymentRequested", "OrderPaid", "OrderReady",
                                      "OrderCompleted"]
    assert events[-1][1] == {"order_id": order_id, "buyer_id": "buyer-1", "vendor_ids": sorted([V1, V2]),
                             "total": 58_000}

    # replaying every neighbour event of the finished order changes nothing
    version = (await h.get(order_id, BUYER))["version"]
    await to_paid(h, order_id)
    await h.deliver(pay.PaymentExpired(payment_id=f"pay-{order_id}", order_id=order_id))
    await h.deliver(cat.StockRejected(order_id=order_id, rejected=[]))
    order = await h.get(order_id, BUYER)
    assert order["status_label"] == "Selesai" and order["version"] == version
    assert len(await h.emitted(order_id)) == 5


async def test_out_of_stock_cancels_without_payment(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    await h.deliver(cat.StockRejected(order_id=order_id, rejected=[{"product_id": BERAS, "reason": "habis"}]))
    order = await h.get(order_id, BUYER)
    assert (order["status"], order["status_label"]) == ("rejected", "Dibatalkan")
    events = await h.emitted(order_id)
    assert [t for t, _ in events] == ["OrderPlaced", "OrderCancelled"]  # no OrderPaymentRequested
    assert events[1][1] == {"order_id": order_id, "reason": "out_of_stock", "paid": False}


async def test_payment_expiry(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    await to_awaiting_payment(h, order_id)
    order = await h.get(order_id, BUYER)
    assert order["status_label"] == "Menunggu Pembayaran" and order["payment"]["qris"].startswith("000201")
    await h.deliver(pay.PaymentExpired(payment_id=f"pay-{order_id}", order_id=order_id))
    assert (await h.get(order_id, BUYER))["status_label"] == "Waktu Pembayaran Habis"
    assert (await h.types(order_id))[-1] == "OrderPaymentExpired"
    # the late payment payments refunded on its own is recorded; the state stays
    await h.deliver(pay.PaymentRefunded(payment_id=f"pay-{order_id}", order_id=order_id, amount=58_000,
                                        reason="late_payment"))
    order = await h.get(order_id, BUYER)
    assert order["status_label"] == "Waktu Pembayaran Habis" and order["refunded_amount"] == 58_000


async def test_cancel_before_paying(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    await to_awaiting_payment(h, order_id)
    other = auth("buyer", sub="someone-else")
    assert (await h.client.post(f"/cities/{CITY}/orders/{order_id}/cancel", headers=other)).status_code == 404
    assert (await h.client.get(f"/cities/{CITY}/orders/{order_id}", headers=other)).status_code == 404
    r = await h.client.post(f"/cities/{CITY}/orders/{order_id}/cancel", headers=BUYER)
    assert r.status_code == 200 and r.json()["status_label"] == "Dibatalkan"
    assert (await h.emitted(order_id))[-1] == ("OrderCancelled", {"order_id": order_id, "reason": "buyer_cancelled",
                                                                  "paid": False})
    assert (await h.client.post(f"/cities/{CITY}/orders/{order_id}/cancel", headers=BUYER)).status_code == 409
    # payments had not heard yet and took the money: it is sent back
    await h.deliver(pay.PaymentSucceeded(payment_id=f"pay-{order_id}", order_id=order_id, amount=58_000,
                                         acquirer_reference="sim-2", paid_at=datetime.now(UTC)))
    assert (await h.emitted(order_id))[-1] == ("RefundRequested", {"order_id": order_id, "amount": 58_000,
                                                                   "reason": "paid_after_close",
                                                                   "vendor_amounts": None})


async def test_cancel_after_paying_refunds(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    await to_paid(h, order_id)
    r = await h.client.post(f"/cities/{CITY}/orders/{order_id}/cancel", headers=BUYER)
    assert r.status_code == 200 and r.json()["status"] == "refund_requested"
    assert (await h.emitted(order_id))[-2:] == [
        ("OrderCancelled", {"order_id": order_id, "reason": "buyer_cancelled", "paid": True}),
        ("RefundRequested", {"order_id": order_id, "amount": 58_000, "reason": "buyer_cancelled",
                             "vendor_amounts": None})]
    await h.deliver(pay.PaymentRefunded(payment_id=f"pay-{order_id}", order_id=order_id, amount=58_000,
                                        reason="buyer_cancelled"))
    assert (await h.get(order_id, BUYER))["status_label"] == "Dana Dikembalikan"


async def test_vendor_rejects_a_line(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    await to_paid(h, order_id)
    v2 = auth("vendor", sub="v2", vendor_id=V2)
    r = await h.client.post(f"/cities/{CITY}/vendor/orders/{order_id}/lines/L2/reject", json={"reason": "habis"},
                            headers=v2)
    assert r.status_code == 200, r.text
    assert (await h.emitted(order_id))[-1] == ("RefundRequested", {"order_id": order_id, "amount": 28_000,
                                                                   "reason": "line_rejected",
                                                                   "vendor_amounts": {V2: 28_000}})
    assert (await h.client.post(f"/cities/{CITY}/vendor/orders/{order_id}/prepared", headers=v2)).status_code == 409


async def test_pickup_locks_after_five_wrong_codes(h: Harness) -> None:
    order_id = (await place(h, cart((BERAS, 1), fulfilment={"type": "pickup_stall"})))["order_id"]
    await to_paid(h, order_id, amount=15_000)
    v1 = auth("vendor", sub="v1", vendor_id=V1)
    assert (await h.client.post(f"/cities/{CITY}/vendor/orders/{order_id}/prepared", headers=v1)).status_code == 200
    code = (await h.get(order_id, BUYER))["pickup_code"]
    wrong = "000000" if code != "000000" else "111111"
    statuses = [(await h.client.post(f"/cities/{CITY}/orders/{order_id}/pickup", json={"code": wrong},
                                     headers=v1)).status_code for _ in range(5)]
    assert statuses == [422, 422, 422, 422, 409]
    r = await h.client.post(f"/cities/{CITY}/orders/{order_id}/pickup", json={"code": code}, headers=v1)
    assert r.status_code == 409 and code not in r.text
    assert (await h.get(order_id, BUYER))["status_label"] == "Siap Diambil"
    # the market's staff check the buyer in person and unlock; a vendor cannot
    unlock = f"/cities/{CITY}/orders/{order_id}/pickup/unlock"
    assert (await h.client.post(unlock, headers=v1)).status_code == 403
    r = await h.client.post(unlock, headers=auth("market_admin", sub="ma", market_id=MARKET))
    assert r.status_code == 200 and code not in r.text
    r = await h.client.post(f"/cities/{CITY}/orders/{order_id}/pickup", json={"code": code}, headers=v1)
    assert r.status_code == 200 and r.json()["status_label"] == "Selesai"


async def test_buyer_lists_only_their_orders(h: Harness) -> None:
    mine = await place(h, cart((TELUR, 1)), headers=auth("buyer", sub="lister"))
    r = await h.client.get(f"/cities/{CITY}/orders?mine=1", headers=auth("buyer", sub="lister"))
    assert [o["order_id"] for o in r.json()["orders"]] == [mine["order_id"]]


# ------------------------------------------------------------------------------------------------ robustness

async def test_stale_writes_are_refused(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    async with h.pool.acquire() as conn:
        first = await OrdersStore(conn).load(order_id)
        second = await OrdersStore(conn).load(order_id)
        assert first and second
        first.stock_reserved()
        await OrdersStore(conn).save(first)
        second.stock_rejected()
        with pytest.raises(StaleOrder):
            await OrdersStore(conn).save(second)
    assert (await h.get(order_id, BUYER))["status"] == "stock_reserved"


async def test_a_polled_batch_is_decided_in_order_and_written_set_based(h: Harness) -> None:
    """The saga's set-based handler: one batch with every step of one order (each sees the one before), a second
    order paid, a repeated payment and an event of another city — as one polled batch would bring them."""
    first, second = (await place(h))["order_id"], (await place(h))["order_id"]
    await to_awaiting_payment(h, second)
    expires = datetime.now(UTC) + timedelta(minutes=15)
    batch: list[tuple[EventPayload, str]] = [
        (cat.StockReserved(order_id=first, lines=[], expires_at=datetime.now(UTC)), CITY),
        (pay.PaymentRequested(payment_id=f"pay-{first}", order_id=first, amount=58_000, qris="000201...6304ABCD",
                              expires_at=expires), CITY),
        (pay.PaymentSucceeded(payment_id=f"pay-{second}", order_id=second, amount=58_000,
                              acquirer_reference="ref-2", paid_at=datetime.now(UTC)), CITY),
        (pay.PaymentSucceeded(payment_id=f"pay-{first}", order_id=first, amount=58_000,
                              acquirer_reference="ref-1", paid_at=datetime.now(UTC)), CITY),
        (pay.PaymentSucceeded(payment_id=f"pay-{first}", order_id=first, amount=58_000,
                              acquirer_reference="ref-1b", paid_at=datetime.now(UTC)), CITY),  # a copy: no-op
        (pay.PaymentFailed(payment_id="x", order_id=second, reason="forged"), "tegal"),  # another city: ignored
    ]
    items = [Incoming(build_event(e, city=c).envelope, e) for e, c in batch]
    [handler] = {c.batch_handlers[(i.envelope.event_type, 1)] for c in h.bus.consumers for i in items
                 if (i.envelope.event_type, 1) in c.batch_handlers}
    async with h.work(city=None) as uow:
        await handler(uow, items)
    assert await h.types(first) == ["OrderPlaced", "OrderPaymentRequested", "OrderPaid"]
    assert await h.types(second) == ["OrderPlaced", "OrderPaymentRequested", "OrderPaid"]
    for order_id in (first, second):
        order = await h.get(order_id, BUYER)
        assert order["status_label"] == "Dibayar" and order["payment"]["payment_id"] == f"pay-{order_id}"
    async with h.pool.acquire() as conn:
        steps = [r["to_status"] for r in await conn.fetch(
            "SELECT to_status FROM order_history WHERE order_id = $1 ORDER BY id", first)]
        causes = await conn.fetch("SELECT o.body FROM outbox o WHERE o.message_key = $1 AND o.event_type = 'OrderPaid'",
                                  first)
    assert steps == ["placed", "stock_reserved", "awaiting_payment", "paid"]
    assert json.loads(causes[0]["body"])["causation_id"] == str(items[3].envelope.event_id)


async def test_a_set_based_write_refuses_a_stale_order_and_writes_nothing(h: Harness) -> None:
    done, raced = (await place(h))["order_id"], (await place(h))["order_id"]
    async with h.pool.acquire() as conn:
        loaded = await OrdersStore(conn).load_many([done, raced])
        concurrent = await OrdersStore(conn).load(raced)
        assert concurrent is not None
        concurrent.stock_reserved()
        await OrdersStore(conn).save(concurrent)
        for order in loaded.values():
            order.stock_rejected()
        with pytest.raises(StaleOrder):
            async with conn.transaction():
                await OrdersStore(conn).save_many(list(loaded.values()))
    assert (await h.get(done, BUYER))["status"] == "placed"  # rolled back with the stale one
    assert (await h.get(raced, BUYER))["status"] == "stock_reserved"


async def test_grace_worker_flags_and_nudges_a_stuck_order_once(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    async def grace_pass() -> list[str]:  # one run of the periodic job, in its own unit of work (all cities)
        async with h.work(city=None) as uow:
            return await grace.flag_stuck_orders(uow, 600)

    assert order_id not in await grace_pass()
    async with h.pool.acquire() as conn:
        await conn.execute("UPDATE orders SET state_changed_at = now() - interval '11 minutes' WHERE order_id = $1",
                           order_id)
    assert order_id in await grace_pass()
    assert order_id not in await grace_pass()
    assert await h.types(order_id) == ["OrderPlaced", "OrderPlaced"]
    async with h.pool.acquire() as conn:
        assert await conn.fetchval("SELECT stuck_since IS NOT NULL FROM orders WHERE order_id = $1", order_id)
    await h.deliver(cat.StockReserved(order_id=order_id, lines=[], expires_at=datetime.now(UTC)))
    async with h.pool.acquire() as conn:  # the answer came: the flag is lifted
        assert await conn.fetchval("SELECT stuck_since IS NULL FROM orders WHERE order_id = $1", order_id)


async def test_staff_see_orders_of_their_city_and_market_only(h: Harness) -> None:
    order_id = (await place(h))["order_id"]
    assert (await h.get(order_id, auth("market_admin", sub="ma", market_id=MARKET)))["order_id"] == order_id
    for headers in (auth("market_admin", sub="ma2", market_id=OTHER_MARKET), auth("market_admin", sub="ma3"),
                    auth("vendor", sub="v9", vendor_id=new_id())):
        r = await h.client.get(f"/cities/{CITY}/orders/{order_id}", headers=headers)
        assert r.status_code in (403, 404), r.text
    r = await h.client.get(f"/cities/{CITY}/orders/{order_id}", headers=auth("city_admin", sub="ca", city="tegal"))
    assert r.status_code == 403


# ------------------------------------------------------------------------------------------------ hostile input

async def test_an_event_of_another_city_never_rewrites_this_citys_projection(h: Harness) -> None:
    """Issue 18 (6): the envelope's city decides; ids in the payload that name another city's rows do nothing."""
    product = new_id()
    await h.deliver(cat.ProductListed(product_id=product, vendor_id=V1, market_id=MARKET, name="Gula",
                                      category="pokok", unit="kg", price=16_000))
    forged: list[EventPayload] = [
        cat.PriceChanged(product_id=product, old_price=16_000, new_price=1),
        cat.StockAdjusted(product_id=product, stock=0, available=False),
        cat.ProductListed(product_id=product, vendor_id=V1, market_id=MARKET, name="Gula", category="pokok",
                          unit="kg", price=2),  # would move the row to tegal
        cat.MarketOpened(market_id=MARKET, name="Pasar Palsu", active=False),
        cat.VendorSuspended(vendor_id=V1, reason="forged"),
    ]
    for event in forged:
        assert await h.deliver(event, city="tegal")
    await h.deliver(cat.ProductDelisted(product_id=product), city="tegal")
    order = await place(h, cart((product, 1)))
    assert order["lines"][0]["unit_price"] == 16_000 and order["total"] == 16_000
    async with h.pool.acquire() as conn:
        assert await conn.fetchval("SELECT city FROM product_view WHERE product_id = $1", product) == CITY
        assert await conn.fetchval("SELECT city FROM market_view WHERE market_id = $1", MARKET) == CITY
