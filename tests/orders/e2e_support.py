"""Helpers for the orders end-to-end tests: a buyer, vendors and staff talking to the running platform."""

from __future__ import annotations

import re
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from shared.envelope import EventPayload, build_event
from tests.conftest import Platform, eventually

CITY = "cimahi"
TERMINAL = {"rejected", "cancelled", "payment_expired", "refunded", "completed"}


async def publish(bootstrap: str, payloads: list[EventPayload], city: str = CITY) -> None:
    """Publish events as their owning service's outbox relay would (acks=all, key = aggregate id)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for payload in payloads:
            out = build_event(payload, city=city)
            await producer.send_and_wait(out.topic, out.body(), key=out.key.encode(),
                                         headers=[(k, v.encode()) for k, v in out.headers().items()])
    finally:
        await producer.stop()


async def republish(bootstrap: str, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for topic, key, value, headers in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus counter's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


class Shop:
    """The platform as the buyer, the vendors and the RW-hub staff of one city use it."""

    def __init__(self, platform: Platform, client: httpx.AsyncClient, buyer: str = "e2e-buyer") -> None:
        self.p, self.c = platform, client
        self.buyer = platform.headers(CITY, "buyer", sub=buyer)
        self.staff = platform.headers(CITY, "city_admin", sub="e2e-hub-staff")

    def vendor(self, vendor_id: str) -> dict[str, str]:
        return self.p.headers(CITY, "vendor", sub=f"vendor-{vendor_id}", vendor_id=vendor_id)

    async def products(self) -> list[dict[str, Any]]:
        r = await self.c.get(self.p.url("catalog") + f"/cities/{CITY}/products", params={"page_size": 100})
        r.raise_for_status()
        return list(r.json()["items"])

    async def pick(self, vendors: int = 2, stock: int = 50) -> tuple[str, list[dict[str, Any]]]:
        """Products of ``vendors`` different vendors in one market, each with its stock set to ``stock``."""

        async def candidates() -> tuple[str, list[dict[str, Any]]] | None:
            by_market: dict[str, dict[str, dict[str, Any]]] = {}
            for p in await self.products():
                if p.get("available_now", True) and (p.get("min_per_order") or 1) <= 1 and \
                        (p.get("max_per_order") is None or p["max_per_order"] >= 3):
                    by_market.setdefault(p["market_id"], {}).setdefault(p["vendor_id"], p)
            for market_id, found in by_market.items():
                if len(found) >= vendors:
                    return market_id, list(found.values())[:vendors]
            return None

        market_id, chosen = await eventually(candidates, timeout=90, what="catalog's demo products")
        for p in chosen:
            await self.set_stock(p, stock)
        return market_id, chosen

    async def set_stock(self, product: dict[str, Any], stock: int) -> None:
        r = await self.c.put(self.p.url("catalog") + f"/cities/{CITY}/products/{product['id']}/stock",
                             json={"stock": stock, "available": True}, headers=self.vendor(product["vendor_id"]))
        assert r.status_code == 200, r.text

    async def stock(self, product: dict[str, Any]) -> int:
        r = await self.c.get(self.p.url("catalog") + f"/cities/{CITY}/products/{product['id']}")
        r.raise_for_status()
        return int(r.json()["stock"])

    async def hub_id(self) -> str:
        r = await self.c.get(self.p.url("catalog") + f"/cities/{CITY}/rw-hubs")
        r.raise_for_status()
        items = r.json()["items"]
        assert items, "catalog has no RW hub in the demo city"
        return str(items[0].get("id") or items[0]["rw_hub_id"])

    async def checkout(self, market_id: str, items: list[tuple[dict[str, Any], int]],
                       fulfilment: dict[str, Any] | None = None) -> dict[str, Any]:
        fulfilment = fulfilment or {"type": "pickup_rw_hub", "rw_hub_id": await self.hub_id()}
        body = {"market_id": market_id, "fulfilment": fulfilment,
                "items": [{"product_id": p["id"], "quantity": q} for p, q in items]}
        last: list[httpx.Response] = []

        async def placed() -> dict[str, Any] | None:
            # orders' projections of catalog may still be catching up with a stock change
            r = await self.c.post(self.p.url("orders") + f"/cities/{CITY}/orders", json=body, headers=self.buyer)
            last[:] = [r]
            return dict(r.json()) if r.status_code == 201 else None

        try:
            return await eventually(placed, timeout=60, interval=0.3, what="checkout")
        except AssertionError:
            raise AssertionError(f"checkout kept failing: {last[0].status_code} {last[0].text}") from None

    async def order(self, order_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        r = await self.c.get(self.p.url("orders") + f"/cities/{CITY}/orders/{order_id}",
                             headers=headers or self.buyer)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def wait(self, order_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        seen: list[str] = []

        async def reached() -> dict[str, Any] | None:
            order = await self.order(order_id)
            seen.append(order["status"])
            if order["status"] in statuses:
                return order
            assert order["status"] not in TERMINAL, f"order ended {order['status']} waiting for {statuses}"
            return None

        return await eventually(reached, timeout=timeout, what=f"order {order_id} reaching {statuses}")

    async def pay(self, qris: str, **kw: Any) -> dict[str, Any]:
        r = await self.c.post(self.p.url("payments") + f"/simulator/{CITY}/pay", json={"qris": qris, **kw})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def prepare_all(self, order: dict[str, Any]) -> dict[str, Any]:
        last: dict[str, Any] = {}
        for vendor_id in sorted({li["vendor_id"] for li in order["lines"]}):
            r = await self.c.post(self.p.url("orders") + f"/cities/{CITY}/vendor/orders/{order['order_id']}/prepared",
                                  headers=self.vendor(vendor_id))
            assert r.status_code == 200, r.text
            last = r.json()
        return last

    async def pickup(self, order_id: str, code: str) -> httpx.Response:
        return await self.c.post(self.p.url("orders") + f"/cities/{CITY}/orders/{order_id}/pickup",
                                 json={"code": code}, headers=self.staff)

    async def metrics(self, service: str) -> str:
        return (await self.c.get(self.p.url(service) + "/metrics")).text
