"""A buyer checks out through the portal (signed in by cookie, cart in a cookie, the checkout form) with an
``X-Correlation-ID``: the portal forwards it to orders, and the OrderPlaced on Kafka carries that id — so an
order can be traced from the page request that caused it to every event that follows.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest

from shared.events.orders import ORDER
from tests.conftest import Platform, eventually
from tests.integration.probe import read_topic
from tests.orders.e2e_support import CITY, Shop

pytestmark = pytest.mark.integration


async def test_an_order_placed_through_the_portal_carries_the_requests_correlation_id(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=30) as api:
        _, (product,) = await Shop(platform, api).pick(vendors=1, stock=50)
    correlation_id = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=platform.url("portal"), timeout=30) as portal:
        token = platform.token(CITY, "buyer", sub="portal-correlation-buyer")
        signed_in = await portal.post("/masuk/token", data={"token": token})
        assert signed_in.status_code == 303 and portal.cookies.get("pk_token"), signed_in.text
        added = await portal.post(f"/kota/{CITY}/keranjang", data={"product_id": product["id"], "quantity": "1"})
        assert added.status_code == 303, added.text

        last: list[httpx.Response] = []

        async def checked_out() -> str | None:
            # orders' projections may still be catching up with the stock the test just set
            r = await portal.post(f"/kota/{CITY}/checkout",
                                  data={"fulfilment": "pickup_stall", "idempotency_key": str(uuid.uuid4())},
                                  headers={"X-Correlation-ID": correlation_id})
            last[:] = [r]
            found = re.search(r"/pesanan/([^/]+)/bayar", r.headers.get("location", ""))
            return found.group(1) if r.status_code == 303 and found else None

        try:
            order_id = await eventually(checked_out, timeout=60, interval=0.5, what="checkout through the portal")
        except AssertionError:
            raise AssertionError(f"portal checkout kept failing: {last[0].status_code} {last[0].text[:500]}") from None

    async def placed() -> list[dict[str, Any]] | None:
        records = await read_topic(platform.infra.bootstrap, ORDER, order_id.encode())
        envelopes = [json.loads(value) for _p, value, _h in records]
        return [e for e in envelopes if e["event_type"] == "OrderPlaced"] or None

    [envelope] = await eventually(placed, timeout=60, interval=0.5, what="OrderPlaced on Kafka")
    assert envelope["payload"]["order_id"] == order_id and envelope["city"] == CITY
    assert envelope["correlation_id"] == correlation_id
