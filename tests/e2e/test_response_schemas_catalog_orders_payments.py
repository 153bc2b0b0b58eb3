"""The documented answers of catalog, orders and payments are honest (issue #17): live answers of the running
platform — public, and with buyer, vendor, courier and staff tokens — validate against their operation's 2xx
schema in the service's own ``/openapi.json``, ``$ref``s resolved to its components.

Stricter than the documents themselves: every object the schema lists properties for is closed
(``additionalProperties: false`` unless it says otherwise). A route that answers a ``JSONResponse`` itself
(checkout, the JSON-or-CSV reports) is not filtered by FastAPI, so a key its model forgot shows up here; a
wrong type, a null where the model says never, or a missing required key fails for every route. Each check
also proves its schema is not vacuous: the answer without one of its required keys must be refused.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.conftest import Platform
from tests.orders.e2e_support import CITY, Shop

pytestmark = pytest.mark.integration


def closed(node: Any) -> Any:
    """The schema with every object that lists its properties closed to other keys."""
    if isinstance(node, list):
        return [closed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: closed(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


class Contracts:
    def __init__(self, client: httpx.AsyncClient, platform: Platform) -> None:
        self.c, self.p = client, platform
        self.specs: dict[str, dict[str, Any]] = {}
        self.checked: list[str] = []

    async def spec(self, service: str) -> dict[str, Any]:
        if service not in self.specs:
            r = await self.c.get(self.p.url(service) + "/openapi.json")
            r.raise_for_status()
            self.specs[service] = r.json()
        return self.specs[service]

    async def check(self, service: str, method: str, template: str, response: httpx.Response) -> Any:
        """Validate ``response`` against the ``template`` operation's schema for its status; its JSON."""
        assert 200 <= response.status_code < 300, f"{method} {response.url}: {response.status_code} {response.text}"
        spec = await self.spec(service)
        operation = spec["paths"][template][method.lower()]
        answer = operation["responses"].get(str(response.status_code))
        assert answer is not None, f"{method} {template} answered {response.status_code}, which it does not document"
        schema = answer["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**closed(schema), "components": closed(spec.get("components", {}))})
        body = response.json()
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, f"{service} {method} {template}: the answer does not match its schema:\n" + "\n".join(
            f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:10])
        target = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
        if target.get("required") and isinstance(body, dict):
            broken = copy.deepcopy(body)
            del broken[target["required"][0]]
            assert not validator.is_valid(broken), f"{template}: its schema accepts an answer without a required key"
        self.checked.append(f"{service} {method} {template} {response.status_code}")
        return body

    async def get(self, service: str, template: str, path: str, headers: dict[str, str] | None = None,
                  **params: Any) -> Any:
        r = await self.c.get(self.p.url(service) + path, headers=headers or {}, params=params)
        return await self.check(service, "GET", template, r)


@pytest.fixture
async def contracts(platform: Platform) -> AsyncIterator[tuple[Contracts, Shop]]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Contracts(client, platform), Shop(platform, client, buyer="schema-buyer")


async def test_live_answers_match_the_documented_schemas(platform: Platform,
                                                         contracts: tuple[Contracts, Shop]) -> None:
    k, shop = contracts
    city = f"/cities/{CITY}"
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    staff = shop.staff

    # an order paid through the simulator, so orders, payments and the reports have something to say
    market_id, [product] = await shop.pick(vendors=1, stock=30)
    vendor_id = product["vendor_id"]
    vendor = shop.vendor(vendor_id)
    placed = await shop.checkout(market_id, [(product, 2)])
    order_id = placed["order_id"]
    second = await k.c.post(platform.url("orders") + f"{city}/orders", headers=shop.buyer, json={
        "market_id": market_id, "items": [{"product_id": product["id"], "quantity": 1}],
        "fulfilment": {"type": "pickup_stall"}})
    await k.check("orders", "POST", "/cities/{city}/orders", second)
    order = await shop.wait(order_id, "awaiting_payment")
    paid = await k.c.post(platform.url("payments") + f"/simulator/{CITY}/pay", json={"qris": order["payment"]["qris"]})
    await k.check("payments", "POST", "/simulator/{city}/pay", paid)
    await shop.wait(order_id, "paid")

    # catalog: public
    markets = await k.get("catalog", "/cities/{city}/markets", f"{city}/markets")
    assert markets["items"]
    await k.get("catalog", "/cities/{city}/product-options", f"{city}/product-options")
    await k.get("catalog", "/cities/{city}/markets/{market_id}", f"{city}/markets/{market_id}")
    await k.get("catalog", "/cities/{city}/markets/{market_id}/stalls", f"{city}/markets/{market_id}/stalls")
    prices = await k.get("catalog", "/cities/{city}/markets/{market_id}/prices", f"{city}/markets/{market_id}/prices")
    assert prices["items"]
    page = await k.get("catalog", "/cities/{city}/products", f"{city}/products", page_size=50)
    assert page["items"]
    await k.get("catalog", "/cities/{city}/products/{product_id}", f"{city}/products/{product['id']}")
    await k.get("catalog", "/cities/{city}/vendors/{vendor_id}", f"{city}/vendors/{vendor_id}")
    hubs = await k.get("catalog", "/cities/{city}/rw-hubs", f"{city}/rw-hubs")
    await k.get("catalog", "/cities/{city}/rw-hubs/{hub_id}", f"{city}/rw-hubs/{hubs['items'][0]['id']}")
    open_data = await k.get("catalog", "/cities/{city}/open-data/prices.json", f"{city}/open-data/prices.json")
    assert open_data["items"]
    # catalog: the vendor, the market admin and the city admin
    await k.get("catalog", "/cities/{city}/me/vendor", f"{city}/me/vendor", vendor)
    await k.get("catalog", "/cities/{city}/me/products", f"{city}/me/products", vendor)
    market_admin = platform.headers(CITY, "market_admin", market_id=market_id)
    vendors = await k.get("catalog", "/cities/{city}/admin/vendors", f"{city}/admin/vendors", market_admin)
    assert vendors["items"]
    await k.get("catalog", "/cities/{city}/admin/vendor-drafts", f"{city}/admin/vendor-drafts", staff)
    await k.get("catalog", "/cities/{city}/admin/markets", f"{city}/admin/markets", staff)
    await k.get("catalog", "/cities/{city}/admin/rw-hubs", f"{city}/admin/rw-hubs", staff)
    await k.get("catalog", "/cities/{city}/admin/markets/{market_id}/audit",
                f"{city}/admin/markets/{market_id}/audit", market_admin)
    await k.get("catalog", "/cities/{city}/reservations/{order_id}", f"{city}/reservations/{order_id}", staff)

    # orders
    mine = await k.get("orders", "/cities/{city}/orders", f"{city}/orders", shop.buyer)
    assert mine["orders"]
    await k.get("orders", "/cities/{city}/orders", f"{city}/orders", staff, mine=0)
    detail = await k.get("orders", "/cities/{city}/orders/{order_id}", f"{city}/orders/{order_id}", shop.buyer)
    assert detail["history"]
    await k.get("orders", "/cities/{city}/orders/{order_id}", f"{city}/orders/{order_id}", staff)
    lines = await k.get("orders", "/cities/{city}/vendor/orders", f"{city}/vendor/orders", vendor)
    assert lines["orders"]
    await k.get("orders", "/cities/{city}/delivery-options", f"{city}/delivery-options")
    courier = platform.headers(CITY, "courier", market_id=market_id)
    await k.get("orders", "/cities/{city}/courier/orders", f"{city}/courier/orders", courier)
    await k.get("orders", "/cities/{city}/markets/{market_id}/audit", f"{city}/markets/{market_id}/audit", staff)

    # payments
    await k.get("payments", "/cities/{city}/payments/by-order/{order_id}", f"{city}/payments/by-order/{order_id}",
                shop.buyer)
    settlement = await k.get("payments", "/cities/{city}/settlements", f"{city}/settlements", staff)
    assert settlement["vendors"]
    await k.get("payments", "/cities/{city}/ledger", f"{city}/ledger", staff)
    await k.get("payments", "/cities/{city}/vendors/{vendor_id}/balance", f"{city}/vendors/{vendor_id}/balance",
                vendor)
    await k.get("payments", "/cities/{city}/webhook-secret", f"{city}/webhook-secret", staff)
    run = await k.c.post(platform.url("payments") + f"{city}/payout-runs", headers=staff, json={})
    await k.check("payments", "POST", "/cities/{city}/payout-runs", run)
    await k.get("payments", "/cities/{city}/payout-runs/{day}", f"{city}/payout-runs/{today}", staff)
    settled = await k.c.get(platform.url("payments") + f"/simulator/{CITY}/settlement-file", params={"date": today})
    settled.raise_for_status()
    imported = await k.c.post(platform.url("payments") + f"{city}/reconciliations", params={"date": today},
                              content=settled.text, headers={**staff, "Content-Type": "text/csv"})
    report = await k.check("payments", "POST", "/cities/{city}/reconciliations", imported)
    assert report["matched"] >= 1
    await k.get("payments", "/cities/{city}/reconciliations/{day}", f"{city}/reconciliations/{today}", staff)

    assert len(k.checked) >= 38, k.checked
