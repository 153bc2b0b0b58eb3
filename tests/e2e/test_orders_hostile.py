"""Hostile input at orders (issue 18, item 9): a NUL byte anywhere in what orders reads — checkout ids, the
note, the delivery address, a query parameter — is answered 422 problem+json (it used to be a 500 from
Postgres), and creates nothing.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import Platform
from tests.orders.e2e_support import CITY

pytestmark = pytest.mark.integration


def cart(product_id: str = "p-1", market_id: str = "m-1", note: str | None = None,
         fulfilment: dict[str, str] | None = None) -> dict[str, object]:
    return {"market_id": market_id, "items": [{"product_id": product_id, "quantity": 1, "note": note}],
            "fulfilment": fulfilment or {"type": "pickup_stall"}}


@pytest.mark.parametrize("body", [
    cart(product_id="p-\x00-1"),
    cart(market_id="m\x00"),
    cart(note="yang segar\x00"),
    cart(fulfilment={"type": "delivery", "address": "Jl. Cihanjuang\x00 3"}),
    cart(fulfilment={"type": "pickup_rw_hub", "rw_hub_id": "\x00"}),
], ids=["product_id", "market_id", "note", "address", "rw_hub_id"])
async def test_a_nul_byte_in_a_checkout_is_refused_with_422(platform: Platform, body: dict[str, object]) -> None:
    sub = f"nul-buyer-{uuid.uuid4()}"
    buyer = platform.headers(CITY, "buyer", sub=sub)
    async with httpx.AsyncClient(base_url=platform.url("orders"), timeout=30) as c:
        r = await c.post(f"/cities/{CITY}/orders", json=body, headers=buyer)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 422
        listed = await c.get(f"/cities/{CITY}/orders?mine=1", headers=buyer)
        assert listed.status_code == 200 and listed.json()["orders"] == []


async def test_a_nul_byte_in_a_query_or_path_is_refused_with_422(platform: Platform) -> None:
    vendor = platform.headers(CITY, "vendor", sub="nul-vendor", vendor_id=str(uuid.uuid4()))
    staff = platform.headers(CITY, "city_admin", sub="nul-admin")
    async with httpx.AsyncClient(base_url=platform.url("orders"), timeout=30) as c:
        for path, headers in [(f"/cities/{CITY}/vendor/orders?status=%00", vendor),
                              (f"/cities/{CITY}/orders/abc%00def", staff)]:
            r = await c.get(path, headers=headers)
            assert r.status_code == 422, (path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
