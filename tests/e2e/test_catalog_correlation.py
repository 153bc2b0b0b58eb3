"""Every event a request causes carries that request's correlation id: a vendor changes a price and the stock
through the portal's vendor page with ``X-Correlation-ID``; the portal forwards it to catalog, whose
``PriceChanged`` and ``StockAdjusted`` carry it (read back from Kafka). The same straight on catalog's API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from shared.events.catalog import PRODUCT
from tests.catalog.support import catalog_events, vendor_headers, vendor_id
from tests.conftest import Platform, eventually

pytestmark = pytest.mark.integration

CITY = "cimahi"
VENDOR = 6


async def new_product(platform: Platform) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=platform.url("catalog"), timeout=20) as c:
        r = await c.post(f"/cities/{CITY}/products", headers=vendor_headers(platform, CITY, VENDOR),
                         json={"name": f"Opak Korelasi {uuid.uuid4().hex[:6]}", "category": "kue", "unit": "bungkus",
                               "price": 16000, "stock": 20})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def events_of(platform: Platform, product_id: str, *types: str) -> list[dict[str, Any]]:
    async def there() -> list[dict[str, Any]] | None:
        evs = await catalog_events(platform.infra.bootstrap, PRODUCT, product_id)
        return evs if all(any(e["event_type"] == t for e in evs) for t in types) else None

    found: list[dict[str, Any]] = await eventually(there, what=f"{types} of {product_id}")
    return found


async def test_a_price_and_stock_change_on_the_portal_carries_the_pages_correlation_id(platform: Platform) -> None:
    p = await new_product(platform)
    correlation_id = f"portal-{uuid.uuid4()}"
    async with httpx.AsyncClient(base_url=platform.url("portal"), timeout=20, follow_redirects=False) as portal:
        portal.cookies.set("pk_token", platform.token(CITY, "vendor", vendor_id=vendor_id(CITY, VENDOR)))
        r = await portal.post(f"/kota/{CITY}/pedagang/produk/{p['id']}",
                              data={"price": "17500", "old_price": "16000", "stock": "9", "available": "1"},
                              headers={"X-Correlation-ID": correlation_id})
    assert r.status_code == 303, r.text
    assert r.headers["x-correlation-id"] == correlation_id

    evs = await events_of(platform, p["id"], "PriceChanged", "ProductListed")
    [price] = [e for e in evs if e["event_type"] == "PriceChanged"]
    assert price["payload"]["new_price"] == 17500
    assert price["correlation_id"] == correlation_id

    async def stock_event() -> dict[str, Any] | None:
        evs = await catalog_events(platform.infra.bootstrap, PRODUCT, p["id"])
        return next((e for e in evs if e["event_type"] == "StockAdjusted" and e["payload"]["stock"] == 9), None)

    stock = await eventually(stock_event, what="StockAdjusted to 9")
    assert stock["correlation_id"] == correlation_id
    # the product was created by another request (no header): its events carry another id
    [listed] = [e for e in evs if e["event_type"] == "ProductListed"]
    assert listed["correlation_id"] != correlation_id


async def test_a_catalog_request_with_a_correlation_id_passes_it_to_its_events(platform: Platform) -> None:
    p = await new_product(platform)
    correlation_id = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=platform.url("catalog"), timeout=20) as c:
        r = await c.put(f"/cities/{CITY}/products/{p['id']}/price", json={"price": 18000},
                        headers={**vendor_headers(platform, CITY, VENDOR), "X-Correlation-ID": correlation_id})
    assert r.status_code == 200, r.text
    [price] = [e for e in await events_of(platform, p["id"], "PriceChanged") if e["event_type"] == "PriceChanged"]
    assert price["correlation_id"] == correlation_id
