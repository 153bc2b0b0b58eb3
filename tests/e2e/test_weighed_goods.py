"""Goods sold by weight, end to end: 250 g of chili at Rp 60.000/kg is Rp 15.000 in the cart (portal), the
order (orders), the QRIS amount (payments' EMVCo tag 54) and the vendor's balance (payments' ledger); a weight
that is not a multiple of the step is refused with a clear problem; stock is counted in grams."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from payments.qris import decode_qris
from tests.conftest import Platform, eventually
from tests.orders.e2e_support import CITY, Shop

pytestmark = pytest.mark.integration


async def weighed_chili(shop: Shop, client: httpx.AsyncClient) -> dict[str, Any]:
    """A new product of a demo vendor: chili by weight, Rp 60.000/kg, in 250 g steps, 2 kg in stock."""
    vendor_id = (await shop.products())[0]["vendor_id"]
    r = await client.post(shop.p.url("catalog") + f"/cities/{CITY}/products", headers=shop.vendor(vendor_id), json={
        "name": f"Cabai Rawit Timbang {uuid.uuid4().hex[:4]}", "category": "sayur", "unit": "kg", "price": 60_000,
        "sold_by": "weight", "step_grams": 250, "stock": 2_000})
    assert r.status_code == 201, r.text
    product = r.json()
    assert (product["sold_by"], product["step_grams"], product["min_per_order"]) == ("weight", 250, 250)
    bad = await client.post(shop.p.url("catalog") + f"/cities/{CITY}/products", headers=shop.vendor(vendor_id),
                            json={"name": "Cabai per ikat", "category": "sayur", "unit": "ikat", "price": 5_000,
                                  "sold_by": "weight", "step_grams": 250})
    assert bad.status_code == 422 and bad.json()["type"].endswith("/weight-unit-kg"), bad.text
    return dict(product)


async def test_250_grams_of_chili_cost_15000_everywhere(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        shop = Shop(platform, client, buyer=f"buyer-weigh-{uuid.uuid4().hex[:6]}")
        chili = await weighed_chili(shop, client)

        # the portal's product page offers weights, the cart shows 250 g and Rp 15.000
        async with httpx.AsyncClient(base_url=platform.url("portal"), timeout=30) as portal:
            token = platform.token(CITY, "buyer", sub="portal-weigh-buyer")
            assert (await portal.post("/masuk/token", data={"token": token})).status_code == 303
            page = await portal.get(f"/kota/{CITY}/produk/{chili['id']}")
            assert page.status_code == 200, page.text
            assert "250 g — Rp 15.000" in page.text and "1 kg — Rp 60.000" in page.text
            wrong = await portal.post(f"/kota/{CITY}/keranjang", data={"product_id": chili["id"], "quantity": "300"})
            assert wrong.status_code == 422 and "per 250 g" in wrong.text
            added = await portal.post(f"/kota/{CITY}/keranjang", data={"product_id": chili["id"], "quantity": "250"})
            assert added.status_code == 303, added.text
            cart = await portal.get(f"/kota/{CITY}/keranjang")
            assert re.search(r'data-testid="qty-label">250 g<', cart.text), cart.text
            assert re.search(r'data-testid="line-amount">Rp 15\.000<', cart.text)

        # orders refuses 300 g (not a step), takes 250 g at Rp 15.000
        refused = await client.post(platform.url("orders") + f"/cities/{CITY}/orders", headers=shop.buyer, json={
            "market_id": chili["market_id"], "fulfilment": {"type": "pickup_stall"},
            "items": [{"product_id": chili["id"], "quantity": 300}]})

        async def projected() -> bool:
            r = await client.post(platform.url("orders") + f"/cities/{CITY}/orders", headers=shop.buyer, json={
                "market_id": chili["market_id"], "fulfilment": {"type": "pickup_stall"},
                "items": [{"product_id": chili["id"], "quantity": 300}]})
            return r.status_code == 422 and r.json()["type"].endswith("/quantity-not-a-step")
        await eventually(projected, timeout=60, what="orders knows the weighed product")
        assert refused.status_code == 422
        order = await shop.checkout(chili["market_id"], [(chili, 250)], {"type": "pickup_stall"})
        line = order["lines"][0]
        assert (line["quantity"], line["quantity_label"], line["amount"], order["total"]) == (250, "250 g", 15_000,
                                                                                            15_000)
        paying = await shop.wait(order["order_id"], "awaiting_payment")
        assert decode_qris(paying["payment"]["qris"]).amount == 15_000
        await shop.pay(paying["payment"]["qris"])
        await shop.wait(order["order_id"], "paid")

        # catalog took 250 g of the 2 kg; the vendor's ledger holds exactly Rp 15.000 for it
        assert await shop.stock(chili) == 1_750

        async def over_stock() -> bool:  # 2 kg when 1,75 kg is left: refused at once, with what is left
            r = await client.post(platform.url("orders") + f"/cities/{CITY}/orders", headers=shop.buyer, json={
                "market_id": chili["market_id"], "fulfilment": {"type": "pickup_stall"},
                "items": [{"product_id": chili["id"], "quantity": 2_000}]})
            return r.status_code == 422 and r.json()["type"].endswith("/insufficient-stock") \
                and "1,75 kg" in r.json()["detail"]
        await eventually(over_stock, timeout=30, what="checkout knows the weighed stock left")
        balance = await client.get(platform.url("payments") + f"/cities/{CITY}/vendors/{chili['vendor_id']}/balance",
                                   headers=shop.vendor(chili["vendor_id"]))
        assert balance.status_code == 200
        conn_rows = await ledger_rows(platform, order["order_id"])
        assert conn_rows == [(chili["vendor_id"], -15_000)]


async def ledger_rows(platform: Platform, order_id: str) -> list[tuple[str, int]]:
    import asyncpg

    from tests.catalog.support import admin_db_url

    conn = await asyncpg.connect(admin_db_url(platform))
    try:
        rows = await conn.fetch(
            "SELECT p.vendor_id, p.amount FROM payments.ledger_postings p JOIN payments.ledger_entries e"
            " USING (entry_id) WHERE e.order_id = $1 AND p.vendor_id IS NOT NULL", order_id)
        return [(r["vendor_id"], int(r["amount"])) for r in rows]
    finally:
        await conn.close()
