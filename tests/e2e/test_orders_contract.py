"""Orders against its neighbours' event contracts on the real platform, with the neighbours' events
published by the test itself: catalog's product, market, RW-hub and vendor events build orders' own
projections (read over Kafka by the running orders process), and checkout trusts only them.

Products here are unknown to the real catalog, which therefore rejects their orders: that closes the loop
"catalog cannot reserve → Dibatalkan, no payment". The full saga with the real catalog and payments is in
test_orders_flow.py; the saga with simulated neighbours, event by event, in tests/orders/test_saga_db.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.events import catalog as cat
from tests.conftest import Platform, eventually
from tests.orders.e2e_support import CITY, publish

pytestmark = pytest.mark.integration


def uid() -> str:
    return str(uuid.uuid4())


MARKET, HUB, TEGAL_HUB, VENDOR, VENDOR2 = uid(), uid(), uid(), uid(), uid()
P1, P2, P3 = uid(), uid(), uid()


@pytest.fixture(scope="module")
async def seeded(platform: Platform) -> AsyncIterator[Platform]:
    bootstrap = platform.infra.bootstrap
    await publish(bootstrap, [
        cat.MarketOpened(market_id=MARKET, name="Pasar Uji Kontrak"),
        cat.RwHubRegistered(rw_hub_id=HUB, name="RW 07 Cibabat", kelurahan="Cibabat", rw="07", address="Jl. RW 07"),
        cat.ProductListed(product_id=P1, vendor_id=VENDOR, market_id=MARKET, name="Beras Pandan Wangi",
                          category="pokok", unit="kg", price=12_000, max_per_order=5),
        cat.ProductListed(product_id=P2, vendor_id=VENDOR, market_id=MARKET, name="Gula Aren", category="pokok",
                          unit="kg", price=20_000),
        cat.ProductListed(product_id=P3, vendor_id=VENDOR2, market_id=MARKET, name="Tahu Cibuntu",
                          category="lauk", unit="pak", price=6_000),
    ])
    await publish(bootstrap, [cat.RwHubRegistered(rw_hub_id=TEGAL_HUB, name="RW 01", kelurahan="Pekauman", rw="01",
                                                  address="Jl. RW 01")], city="tegal")
    yield platform


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


def body(*items: tuple[str, int], hub: str = HUB) -> dict[str, Any]:
    return {"market_id": MARKET, "fulfilment": {"type": "pickup_rw_hub", "rw_hub_id": hub},
            "items": [{"product_id": p, "quantity": q} for p, q in items]}


async def answer(p: Platform, c: httpx.AsyncClient, payload: dict[str, Any], sub: str = "contract-buyer",
                 **headers: str) -> httpx.Response:
    return await c.post(p.url("orders") + f"/cities/{CITY}/orders", json=payload,
                        headers={**p.headers(CITY, "buyer", sub=sub), **headers})


async def until(p: Platform, c: httpx.AsyncClient, payload: dict[str, Any], status: int,
                code: str | None = None) -> httpx.Response:
    async def probe() -> httpx.Response | None:
        r = await answer(p, c, payload)
        ok = r.status_code == status and (code is None or r.json().get("type", "").endswith("/" + code))
        return r if ok else None

    return await eventually(probe, timeout=60, interval=0.3, what=f"checkout answering {status} {code or ''}")


async def test_checkout_prices_come_from_catalog_events(seeded: Platform, client: httpx.AsyncClient) -> None:
    r = await until(seeded, client, body((P1, 2), (P3, 1)), 201)
    order = r.json()
    assert (order["subtotal"], order["total"]) == (30_000, 30_000)
    assert [li["unit_price"] for li in order["lines"]] == [12_000, 6_000]

    await publish(seeded.infra.bootstrap, [cat.PriceChanged(product_id=P1, old_price=12_000, new_price=13_000)])

    async def repriced() -> bool:
        r = await answer(seeded, client, body((P1, 1)))
        return r.status_code == 201 and r.json()["total"] == 13_000

    await eventually(repriced, what="the new price used at checkout")


async def test_an_order_catalog_cannot_reserve_is_cancelled_without_payment(
        seeded: Platform, client: httpx.AsyncClient) -> None:
    order = (await until(seeded, client, body((P3, 1)), 201)).json()
    headers = seeded.headers(CITY, "buyer", sub="contract-buyer")

    async def rejected() -> dict[str, Any] | None:
        o = (await client.get(seeded.url("orders") + f"/cities/{CITY}/orders/{order['order_id']}",
                              headers=headers)).json()
        return o if o["status"] == "rejected" else None

    o = await eventually(rejected, what="catalog rejecting a product it does not know")
    assert o["status_label"] == "Dibatalkan" and o["payment"] is None


async def test_bad_input_is_refused_and_creates_nothing(seeded: Platform, client: httpx.AsyncClient) -> None:
    await until(seeded, client, body((P2, 1)), 201)  # projections are there
    mine = seeded.headers(CITY, "buyer", sub="contract-bad-input")
    cases = [
        (body(), "empty-cart"),
        (body((uid(), 1)), "unknown-product"),
        (body((P1, 6)), "quantity-out-of-range"),
        (body((P1, 1), hub=TEGAL_HUB), "unknown-rw-hub"),
        ({**body((P1, 1)), "fulfilment": {"type": "delivery"}}, "address-required"),
        ({**body((P1, 1)), "market_id": uid()}, "unknown-market"),
    ]
    for payload, code in cases:
        r = await client.post(seeded.url("orders") + f"/cities/{CITY}/orders", json=payload, headers=mine)
        assert r.status_code == 422 and r.json()["type"].endswith("/" + code), (code, r.text)
    listed = await client.get(seeded.url("orders") + f"/cities/{CITY}/orders?mine=1", headers=mine)
    assert listed.json()["orders"] == []


async def test_unavailable_delisted_and_suspended_products_cannot_be_ordered(
        seeded: Platform, client: httpx.AsyncClient) -> None:
    await until(seeded, client, body((P2, 1)), 201)
    await publish(seeded.infra.bootstrap, [cat.StockAdjusted(product_id=P2, stock=0, available=False)])
    await until(seeded, client, body((P2, 1)), 422, "product-unavailable")
    await publish(seeded.infra.bootstrap, [cat.StockAdjusted(product_id=P2, stock=5, available=True)])
    await until(seeded, client, body((P2, 1)), 201)
    await publish(seeded.infra.bootstrap, [cat.ProductDelisted(product_id=P2)])
    await until(seeded, client, body((P2, 1)), 422, "product-unavailable")
    await publish(seeded.infra.bootstrap, [cat.VendorSuspended(vendor_id=VENDOR2, reason="uji")])
    await until(seeded, client, body((P3, 1)), 422, "product-unavailable")


async def test_idempotency_key_on_the_running_service(seeded: Platform, client: httpx.AsyncClient) -> None:
    await until(seeded, client, body((P1, 1)), 201)
    key = uid()
    first = await answer(seeded, client, body((P1, 1)), sub="contract-idem", **{"Idempotency-Key": key})
    again = await answer(seeded, client, body((P1, 1)), sub="contract-idem", **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["order_id"] == again.json()["order_id"]
    mine = seeded.headers(CITY, "buyer", sub="contract-idem")
    listed = await client.get(seeded.url("orders") + f"/cities/{CITY}/orders?mine=1", headers=mine)
    assert [o["order_id"] for o in listed.json()["orders"]] == [first.json()["order_id"]]
