"""The buying flow end to end: orders, the real catalog and the real payments (with its acquirer simulator),
every service its own process on the real Kafka and Postgres.

These close issue 4's "done when": happy path to Selesai; out of stock → Dibatalkan with no payment; payment
expiry → Waktu Pembayaran Habis with the stock back and the late payment refunded; cancel after paying →
Dana Dikembalikan with the stock back; replaying every event of a finished order changes nothing; orders
SIGKILLed mid-saga and restarted → the saga finishes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Platform, eventually
from tests.integration.probe import read_topic
from tests.orders.e2e_support import CITY, Shop, metric_sum, republish

pytestmark = pytest.mark.integration

SAGA_INPUTS = {"StockReserved", "StockRejected", "PaymentRequested", "PaymentSucceeded", "PaymentExpired",
               "PaymentRefunded", "PaymentFailed"}


@pytest.fixture
async def shop(platform: Platform) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Shop(platform, client)


async def happy_path(shop: Shop) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    market_id, (a, b) = await shop.pick(vendors=2, stock=50)
    order = await shop.checkout(market_id, [(a, 2), (b, 1)])
    assert order["status_label"] == "Menunggu Konfirmasi"
    assert order["total"] == 2 * a["price"] + b["price"]  # catalog's prices
    order_id = order["order_id"]

    order = await shop.wait(order_id, "awaiting_payment")
    assert order["status_label"] == "Menunggu Pembayaran"
    assert order["payment"]["qris"].startswith("000201") and order["payment"]["payment_id"]
    assert await shop.stock(a) == 48 and await shop.stock(b) == 49  # held for the order

    await shop.pay(order["payment"]["qris"])
    order = await shop.wait(order_id, "paid")
    assert order["status_label"] == "Dibayar" and order["paid_amount"] == order["total"]

    ready = await shop.prepare_all(order)
    assert ready["status_label"] == "Siap Diambil"
    order = await shop.order(order_id)
    code = order["pickup_code"]
    assert len(code) == 6 and code.isdigit()

    wrong = await shop.pickup(order_id, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 422 and code not in wrong.text
    done = await shop.pickup(order_id, code)
    assert done.status_code == 200, done.text
    assert done.json()["status_label"] == "Selesai"
    assert await shop.stock(a) == 48 and await shop.stock(b) == 49  # sold
    return await shop.order(order_id), [a, b]


async def test_happy_path_to_selesai(shop: Shop) -> None:
    order, _ = await happy_path(shop)
    assert order["status"] == "completed"
    assert [h["to"] for h in order["history"]] == ["placed", "stock_reserved", "awaiting_payment", "paid",
                                                   "preparing", "ready", "completed"]


async def test_out_of_stock_is_cancelled_without_a_payment(shop: Shop) -> None:
    market_id, (a,) = await shop.pick(vendors=1, stock=1)
    order = await shop.checkout(market_id, [(a, 2)])
    order = await shop.wait(order["order_id"], "rejected")
    assert order["status_label"] == "Dibatalkan" and order["cancel_reason"] == "out_of_stock"
    assert order["payment"] is None
    r = await shop.c.get(shop.p.url("payments") + f"/cities/{CITY}/payments/by-order/{order['order_id']}",
                         headers=shop.buyer)
    assert r.status_code == 404  # no payment intent was ever created
    assert await shop.stock(a) == 1


async def test_payment_expiry_gives_the_stock_back_and_a_late_payment_is_refunded(shop: Shop) -> None:
    market_id, (a,) = await shop.pick(vendors=1, stock=20)
    order = await shop.checkout(market_id, [(a, 3)])
    order = await shop.wait(order["order_id"], "awaiting_payment")
    assert await shop.stock(a) == 17
    # the payer scans after the QR expired: payments expires the intent first, then refunds the late money
    await shop.pay(order["payment"]["qris"], late=True)
    order = await shop.wait(order["order_id"], "payment_expired")
    assert order["status_label"] == "Waktu Pembayaran Habis"
    await eventually(lambda: _stock_is(shop, a, 20), what="stock released after expiry")

    async def refunded() -> dict[str, Any] | None:
        o = await shop.order(order["order_id"])
        return o if o["refunded_amount"] == o["total"] else None

    order = await eventually(refunded, what="the late payment refunded")
    assert order["status_label"] == "Waktu Pembayaran Habis" and order["paid_amount"] == 0


async def test_payment_expiry_without_any_payment_gives_the_stock_back(shop: Shop) -> None:
    market_id, (a,) = await shop.pick(vendors=1, stock=15)
    order = await shop.checkout(market_id, [(a, 4)])
    order = await shop.wait(order["order_id"], "awaiting_payment")
    assert order["status_label"] == "Menunggu Pembayaran"
    assert await shop.stock(a) == 11
    # nobody scans the QR: payments' simulator runs the expiry now, through the expiry worker's own code
    r = await shop.c.post(shop.p.url("payments") + f"/simulator/{CITY}/expire",
                          json={"payment_id": order["payment"]["payment_id"]})
    assert r.status_code == 200 and r.json()["status"] == "expired", r.text
    order = await shop.wait(order["order_id"], "payment_expired")
    assert order["status_label"] == "Waktu Pembayaran Habis"
    assert order["paid_amount"] == 0 and order["refunded_amount"] == 0
    await eventually(lambda: _stock_is(shop, a, 15), what="stock released after expiry")


async def test_cancel_after_paying_refunds_and_restocks(shop: Shop) -> None:
    market_id, (a, b) = await shop.pick(vendors=2, stock=30)
    order = await shop.checkout(market_id, [(a, 1), (b, 2)])
    order = await shop.wait(order["order_id"], "awaiting_payment")
    await shop.pay(order["payment"]["qris"])
    await shop.wait(order["order_id"], "paid")
    r = await shop.c.post(shop.p.url("orders") + f"/cities/{CITY}/orders/{order['order_id']}/cancel",
                          headers=shop.buyer)
    assert r.status_code == 200, r.text
    order = await shop.wait(order["order_id"], "refunded")
    assert order["status_label"] == "Dana Dikembalikan" and order["refunded_amount"] == order["total"]
    await eventually(lambda: _stock_is(shop, a, 30), what="stock of a back")
    await eventually(lambda: _stock_is(shop, b, 30), what="stock of b back")


async def test_cancel_before_paying(shop: Shop) -> None:
    market_id, (a,) = await shop.pick(vendors=1, stock=10)
    order = await shop.checkout(market_id, [(a, 1)])
    order = await shop.wait(order["order_id"], "awaiting_payment")
    r = await shop.c.post(shop.p.url("orders") + f"/cities/{CITY}/orders/{order['order_id']}/cancel",
                          headers=shop.buyer)
    assert r.status_code == 200 and r.json()["status_label"] == "Dibatalkan"
    await eventually(lambda: _stock_is(shop, a, 10), what="stock released")


async def test_a_vendor_rejecting_a_line_refunds_that_line(shop: Shop) -> None:
    market_id, (a, b) = await shop.pick(vendors=2, stock=25)
    order = await shop.checkout(market_id, [(a, 1), (b, 2)])
    order = await shop.wait(order["order_id"], "awaiting_payment")
    await shop.pay(order["payment"]["qris"])
    order = await shop.wait(order["order_id"], "paid")
    line_b = next(li for li in order["lines"] if li["vendor_id"] == b["vendor_id"])
    r = await shop.c.post(shop.p.url("orders") + f"/cities/{CITY}/vendor/orders/{order['order_id']}/lines/"
                          f"{line_b['line_id']}/reject", json={"reason": "habis"}, headers=shop.vendor(b["vendor_id"]))
    assert r.status_code == 200, r.text

    async def refunded() -> dict[str, Any] | None:
        o = await shop.order(order["order_id"])
        return o if o["refunded_amount"] == line_b["amount"] else None

    await eventually(refunded, what="the rejected line refunded by payments")
    ready = await shop.prepare_all({"order_id": order["order_id"], "lines": [
        li for li in order["lines"] if li["vendor_id"] == a["vendor_id"]]})
    assert ready["status_label"] == "Siap Diambil"
    code = (await shop.order(order["order_id"]))["pickup_code"]
    done = await shop.pickup(order["order_id"], code)
    assert done.status_code == 200 and done.json()["status_label"] == "Selesai"


async def test_replaying_every_event_of_a_finished_order_changes_nothing(shop: Shop) -> None:
    order, products = await happy_path(shop)
    order_id = order["order_id"]
    bootstrap = shop.p.infra.bootstrap
    topics = ["orders.order.v1", "catalog.reservation.v1", "payments.payment.v1"]
    story = {"OrderPlaced", "StockReserved", "PaymentRequested", "PaymentSucceeded", "OrderPaid", "StockCommitted",
             "OrderReady", "OrderCompleted"}

    async def whole_story() -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] | None:
        found = []
        for topic in topics:
            for _partition, value, headers in await read_topic(bootstrap, topic, order_id.encode()):
                found.append((topic, order_id.encode(), value, list(headers.items())))
        types = {dict(hs).get("event_type", b"").decode() for *_, hs in found}
        return found if story <= types else None

    # the last events may still be on their way from the outboxes
    records = await eventually(whole_story, what="every event of the order on its topic")
    counts_before = {t: len(await read_topic(bootstrap, t, order_id.encode())) for t in topics}
    before = await shop.metrics("orders")
    seen = metric_sum(before, "pasarkota_events_duplicate_total", service="orders", consumer="saga")

    applied = metric_sum(before, "pasarkota_events_consumed_total", service="orders", consumer="saga")
    # the very same messages again (a redelivery: same event ids) ...
    await republish(bootstrap, records)
    # ... and copies of catalog's and payments' events under new event ids (a re-send: only state guards help)
    copies = [(topic, key, *_fresh_id(value, headers)) for topic, key, value, headers in records
              if topic != "orders.order.v1"]
    await republish(bootstrap, copies)

    # (orders' saga ignores the neighbours' other events, e.g. StockCommitted, without counting them)
    expected = sum(1 for _, _, _, hs in copies if dict(hs).get("event_type", b"").decode() in SAGA_INPUTS)
    assert expected >= 3  # StockReserved, PaymentRequested, PaymentSucceeded

    async def all_seen() -> bool:
        text = await shop.metrics("orders")
        dropped = metric_sum(text, "pasarkota_events_duplicate_total", service="orders", consumer="saga") - seen
        handled = metric_sum(text, "pasarkota_events_consumed_total", service="orders", consumer="saga") - applied
        return dropped >= expected and handled >= expected

    await eventually(all_seen, what="orders saw every replayed event")
    records += copies
    after = await shop.order(order_id)
    assert (after["status"], after["version"], after["history"]) == (order["status"], order["version"],
                                                                     order["history"])
    for p in products:
        assert await shop.stock(p) in (48, 49)
    counts_after = {t: len(await read_topic(bootstrap, t, order_id.encode())) for t in topics}
    assert {t: counts_after[t] - counts_before[t] for t in topics} == {
        t: sum(1 for topic, *_ in records if topic == t) for t in topics}  # only our replays, no reactions


async def test_orders_killed_mid_saga_finishes_after_restart(shop: Shop) -> None:
    market_id, (a, b) = await shop.pick(vendors=2, stock=40)
    order = await shop.checkout(market_id, [(a, 1), (b, 1)])
    order_id = order["order_id"]
    # SIGKILL right after the order committed: OrderPlaced is in the outbox, relayed or not yet; either way
    # catalog's answer is waiting in Kafka for the restarted orders
    shop.p.kill("orders")
    shop.p.restart("orders")
    order = await shop.wait(order_id, "awaiting_payment")

    shop.p.kill("orders")  # and again while the payment comes in
    await shop.pay(order["payment"]["qris"])
    shop.p.restart("orders")
    order = await shop.wait(order_id, "paid")
    await shop.prepare_all(order)
    code = (await shop.order(order_id))["pickup_code"]
    r = await shop.pickup(order_id, code)
    assert r.status_code == 200 and r.json()["status_label"] == "Selesai"
    assert (await shop.order(order_id))["paid_amount"] == order["total"]


def _fresh_id(value: bytes, headers: list[tuple[str, bytes]]) -> tuple[bytes, list[tuple[str, bytes]]]:
    body = json.loads(value)
    body["event_id"] = str(uuid.uuid4())
    return (json.dumps(body).encode(),
            [(k, body["event_id"].encode() if k == "event_id" else v) for k, v in headers])


async def _stock_is(shop: Shop, product: dict[str, Any], expected: int) -> bool:
    return await shop.stock(product) == expected


async def test_demo_command_plays_a_whole_purchase(platform: Platform) -> None:
    """`pasarkota demo`'s story against this platform (the command itself only adds the stack's URLs)."""
    from deploy.commands.demo import Demo

    lines: list[str] = []
    demo = Demo({name: platform.url(name) for name in platform.ports}, 60, out=lines.append)
    order_id = await asyncio.to_thread(demo.run)
    labels = [line.split("status: ")[1] for line in lines if "status: " in line]
    assert labels[0] == "Menunggu Konfirmasi" and labels[-1] == "Selesai"
    assert {"Menunggu Pembayaran", "Dibayar", "Siap Diambil"} <= set(labels), lines
    async with httpx.AsyncClient() as c:
        r = await c.get(platform.url("orders") + f"/cities/{CITY}/orders/{order_id}",
                        headers=platform.headers(CITY, "city_admin"))
    assert r.json()["status"] == "completed" and r.json()["fulfilment"]["type"] == "pickup_rw_hub"
    assert len({li["vendor_id"] for li in r.json()["lines"]}) == 2
