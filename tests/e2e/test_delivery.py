"""Delivery by the market's courier, end to end on the real stack: a delivery order placed with phone, address
and slot; claimed by a courier of the market, Dikirim, completed with the buyer's code; a failed delivery goes
back to the market and out again; what the vendor, the buyer and the courier each see (API and portal)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import Platform, eventually
from tests.orders.e2e_support import CITY, Shop

pytestmark = pytest.mark.integration


def delivery_to(kelurahan: str = "Cibabat") -> dict[str, Any]:
    tomorrow = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=1)).date().isoformat()
    return {"type": "delivery", "phone": "0812 7777 0101", "kelurahan": kelurahan, "rw": "04",
            "street": "Jl. Encep Kartawiria 21", "note": "warung biru", "slot_date": tomorrow,
            "slot_window": "10:00-12:00"}


async def ready_delivery(shop: Shop) -> tuple[dict[str, Any], dict[str, Any]]:
    market_id, (product,) = await shop.pick(vendors=1, stock=50)
    order = await shop.checkout(market_id, [(product, 1)], delivery_to())
    assert order["delivery_fee"] == 8_000 and order["total"] == product["price"] + 8_000
    paying = await shop.wait(order["order_id"], "awaiting_payment")
    await shop.pay(paying["payment"]["qris"])
    await shop.wait(order["order_id"], "paid")
    await shop.prepare_all(order)
    return await shop.wait(order["order_id"], "ready"), product


async def test_a_courier_delivers_and_a_failed_delivery_goes_back_to_the_market(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        shop = Shop(platform, client, buyer=f"buyer-antar-{uuid.uuid4().hex[:6]}")
        order, product = await ready_delivery(shop)
        oid, market_id, orders_url = order["order_id"], order["market_id"], platform.url("orders")
        assert order["status_label"] == "Siap Dikirim"
        assert order["delivery"]["slot_window"] == "10:00-12:00" and order["delivery"]["kelurahan"] == "Cibabat"
        courier = platform.headers(CITY, "courier", sub=f"kurir-{uuid.uuid4().hex[:6]}", market_id=market_id)
        other_market = platform.headers(CITY, "courier", sub="kurir-lain", market_id="m-lain")
        vendor = shop.vendor(product["vendor_id"])

        # the vendor sees where it goes while the order is open
        mine = (await client.get(orders_url + f"/cities/{CITY}/vendor/orders", headers=vendor)).json()["orders"]
        seen = next(o for o in mine if o["order_id"] == oid)
        assert "Encep Kartawiria 21" in seen["fulfilment"]["address"] and seen["delivery"]["phone"] == "081277770101"

        # the courier of the market sees it (without the buyer's phone until taking it); another market's does not
        listed = (await client.get(orders_url + f"/cities/{CITY}/courier/orders", headers=courier)).json()["orders"]
        waiting = next(o for o in listed if o["order_id"] == oid)
        assert "phone" not in waiting["delivery"] and waiting["lines"][0]["product_id"] == product["id"]
        foreign = (await client.get(orders_url + f"/cities/{CITY}/courier/orders", headers=other_market)).json()
        assert all(o["order_id"] != oid for o in foreign["orders"])
        assert (await client.post(orders_url + f"/cities/{CITY}/courier/orders/{oid}/claim", headers=other_market,
                                  json={"name": "Ujang", "phone": "0813 0000 1111"})).status_code == 404
        claimed = await client.post(orders_url + f"/cities/{CITY}/courier/orders/{oid}/claim", headers=courier,
                                    json={"name": "Asep Kurir", "phone": "0813 2222 3333"})
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["delivery"]["phone"] == "081277770101"
        out = await client.post(orders_url + f"/cities/{CITY}/courier/orders/{oid}/dispatched", headers=courier)
        assert out.status_code == 200 and out.json()["status_label"] == "Dikirim", out.text

        # the buyer sees the courier and can chat; the code completes it at the door
        buyer_view = await shop.order(oid)
        assert buyer_view["delivery"]["courier_name"] == "Asep Kurir"
        assert buyer_view["delivery"]["courier_wa"] == "https://wa.me/6281322223333"
        wrong = await client.post(orders_url + f"/cities/{CITY}/courier/orders/{oid}/delivered", headers=courier,
                                  json={"code": "000000" if buyer_view["pickup_code"] != "000000" else "111111"})
        assert wrong.status_code == 422 and wrong.json()["attempts_left"] == 4
        done = await client.post(orders_url + f"/cities/{CITY}/courier/orders/{oid}/delivered", headers=courier,
                                 json={"code": buyer_view["pickup_code"]})
        assert done.status_code == 200 and done.json()["status"] == "completed", done.text
        closed = (await client.get(orders_url + f"/cities/{CITY}/vendor/orders", headers=vendor)).json()["orders"]
        after = next(o for o in closed if o["order_id"] == oid)
        assert after["fulfilment"]["address"] is None and "phone" not in after["delivery"]  # only while open

        # a second order: nobody home → back at the market, told to the buyer, and out again
        second, _ = await ready_delivery(shop)
        sid = second["order_id"]
        for step, body in (("claim", {"name": "Asep Kurir", "phone": "0813 2222 3333"}), ("dispatched", None),
                           ("failed", {"reason": "rumah kosong, HP tidak aktif"})):
            r = await client.post(orders_url + f"/cities/{CITY}/courier/orders/{sid}/{step}", headers=courier,
                                  json=body)
            assert r.status_code == 200, r.text
        back = await shop.order(sid)
        assert back["status"] == "ready" and back["delivery"]["attempts"] == 1
        assert back["delivery"]["last_failure"] == "rumah kosong, HP tidak aktif"
        assert back["delivery"]["courier_name"] is None

        async def failure_event() -> bool:
            from shared.events.orders import ORDER
            from tests.integration.probe import read_topic
            records = await read_topic(platform.infra.bootstrap, ORDER, sid.encode())
            return any(b'"OrderDeliveryFailed"' in value for _p, value, _h in records)
        await eventually(failure_event, timeout=30, what="OrderDeliveryFailed on Kafka")

        # the portal: the courier's page lists it again; the buyer's page says why it is not there yet
        async with httpx.AsyncClient(base_url=platform.url("portal"), timeout=30) as portal:
            courier_token = courier["Authorization"].split(" ", 1)[1]
            assert (await portal.post("/masuk/token", data={"token": courier_token})).status_code == 303
            page = await portal.get(f"/kota/{CITY}/kurir")
            assert page.status_code == 200 and f'data-testid="delivery-{sid}"' in page.text
            assert "Pernah gagal diantar" in page.text
        async with httpx.AsyncClient(base_url=platform.url("portal"), timeout=30) as portal:
            buyer_token = shop.buyer["Authorization"].split(" ", 1)[1]
            assert (await portal.post("/masuk/token", data={"token": buyer_token})).status_code == 303
            page = await portal.get(f"/kota/{CITY}/pesanan/{oid}")
            assert "Asep Kurir" in page.text and "https://wa.me/6281322223333" in page.text
            again = await portal.get(f"/kota/{CITY}/pesanan/{sid}")
            assert "rumah kosong" in again.text
