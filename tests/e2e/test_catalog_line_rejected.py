"""A vendor rejects one line of a paid order (orders emits OrderLineRejected): catalog puts that line's quantity
back on the shelf, once; a later cancellation of the whole order restocks only the other lines. The real orders,
catalog and payments, every service its own process on the real Kafka and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.events.catalog import PRODUCT, RESERVATION
from tests.catalog.support import by_type, catalog_events
from tests.conftest import Platform, eventually
from tests.orders.e2e_support import CITY, Shop

pytestmark = pytest.mark.integration


@pytest.fixture
async def shop(platform: Platform) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Shop(platform, client)


async def stock_is(shop: Shop, product: dict[str, Any], expected: int) -> bool:
    return await shop.stock(product) == expected


async def test_a_rejected_line_comes_back_once_and_a_later_cancel_restocks_only_the_rest(shop: Shop) -> None:
    market_id, (a, b) = await shop.pick(vendors=2, stock=40)
    order = await shop.checkout(market_id, [(a, 2), (b, 3)])
    order_id = order["order_id"]
    order = await shop.wait(order_id, "awaiting_payment")
    await shop.pay(order["payment"]["qris"])
    order = await shop.wait(order_id, "paid")
    assert await shop.stock(a) == 38 and await shop.stock(b) == 37  # sold

    line_b = next(li for li in order["lines"] if li["vendor_id"] == b["vendor_id"])
    r = await shop.c.post(shop.p.url("orders") + f"/cities/{CITY}/vendor/orders/{order_id}/lines/"
                          f"{line_b['line_id']}/reject", json={"reason": "habis"}, headers=shop.vendor(b["vendor_id"]))
    assert r.status_code == 200, r.text
    await eventually(lambda: stock_is(shop, b, 40), what="the rejected line's quantity back on the shelf")
    # a repeated click changes nothing at orders, so nothing more comes back
    again = await shop.c.post(shop.p.url("orders") + f"/cities/{CITY}/vendor/orders/{order_id}/lines/"
                              f"{line_b['line_id']}/reject", json={}, headers=shop.vendor(b["vendor_id"]))
    assert again.status_code == 200, again.text
    assert await shop.stock(a) == 38

    r = await shop.c.post(shop.p.url("orders") + f"/cities/{CITY}/orders/{order_id}/cancel", headers=shop.buyer)
    assert r.status_code == 200, r.text
    order = await shop.wait(order_id, "refunded")
    assert order["refunded_amount"] == order["total"]
    await eventually(lambda: stock_is(shop, a, 40), what="the other line restocked on cancel")

    async def released() -> list[dict[str, Any]] | None:
        found = by_type(await catalog_events(shop.p.infra.bootstrap, RESERVATION, order_id), "StockReleased")
        return found or None

    [restock] = await eventually(released, what="StockReleased for the cancelled order")
    assert restock["payload"]["restocked"] is True
    assert restock["payload"]["lines"] == [{"product_id": a["id"], "quantity": 2}]  # b was back already
    assert await shop.stock(b) == 40  # not a second time
    r = await shop.c.get(shop.p.url("catalog") + f"/cities/{CITY}/reservations/{order_id}",
                         headers=shop.p.headers(CITY, "city_admin"))
    assert r.json()["status"] == "restocked"
    assert {x["product_id"]: (x["quantity"], x["returned"]) for x in r.json()["lines"]} == {a["id"]: (2, 2),
                                                                                            b["id"]: (3, 3)}
    # b's stock went 37 → 40 in one StockAdjusted after the rejection, and no other change since
    b_changes = [e["payload"]["stock"] for e in by_type(await catalog_events(shop.p.infra.bootstrap, PRODUCT,
                                                                             b["id"]), "StockAdjusted")]
    assert b_changes[-2:] == [37, 40], b_changes
