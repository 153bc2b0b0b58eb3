"""Demo sales history (issue #14): real orders, paid and picked up, so the evaluation has sales to count.

A whole-platform tool, like ``pasarkota demo``: over HTTP only, through the same commands a buyer, the
acquirer simulator and a vendor use. For every demo city: each vendor with the *Terlatih* badge (a certified
participant's vendor) sells twice — a first sale and a repeat — and a few never-trained vendors sell once,
the comparison group. Run by ``pasarkota up`` after the services are ready, and by ``pasarkota demo-history``.

Idempotent: each order has a fixed idempotency key per (city, vendor, n), so a second run finds the orders it
placed before and only finishes those not yet completed. The sales happen now (see docs/evaluation.md: the
training history is backdated through the learning commands' clock; sales are not).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import httpx

Headers = dict[str, str]
TokenFn = Callable[..., Headers]
UNTRAINED_SELLERS = 3


class HistoryFailed(RuntimeError):
    pass


class SalesHistory:
    def __init__(self, urls: dict[str, str], token: TokenFn, *, timeout: float = 60.0,
                 out: Callable[[str], None] = print) -> None:
        self.urls, self.token, self.timeout, self.out = urls, token, timeout, out
        self.http = httpx.Client(timeout=15)

    def call(self, method: str, service: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, self.urls[service] + path, **kw)
        if r.status_code >= 400:
            raise HistoryFailed(f"{method} {path} → {r.status_code}: {r.text[:300]}")
        return r.json() if r.content else None

    def vendors(self, city: str) -> list[dict[str, Any]]:
        markets = self.call("GET", "catalog", f"/cities/{city}/markets")
        out = []
        for m in markets["items"] if isinstance(markets, dict) else markets:
            out += [v for v in self.call("GET", "catalog", f"/cities/{city}/markets/{m['id']}")["vendors"]
                    if v["status"] == "active"]
        return out

    def product_of(self, city: str, vendor_id: str) -> dict[str, Any] | None:
        page = self.call("GET", "catalog", f"/cities/{city}/products", params={"vendor": vendor_id, "page_size": 50})
        return next((p for p in page.get("items", []) if p.get("available_now", True)
                     and (p.get("min_per_order") or 1) == 1 and (p.get("stock") is None or p["stock"] >= 3)), None)

    def sell(self, city: str, vendor_id: str, n: int) -> str | None:
        """One order from the vendor, paid by QRIS (simulator), prepared and picked up; its id (None: nothing
        to sell)."""
        product = self.product_of(city, vendor_id)
        if product is None:
            return None
        buyer = self.token(city, roles=["buyer"], sub=f"demo-history-buyer-{city}-{n}")
        key = f"demo-history-{city}-{vendor_id}-{n}"
        body = {"market_id": product["market_id"], "fulfilment": {"type": "pickup_stall"},
                "items": [{"product_id": product["id"], "quantity": 1}]}
        deadline = time.monotonic() + self.timeout
        while True:
            r = self.http.post(f"{self.urls['orders']}/cities/{city}/orders", json=body,
                               headers={**buyer, "Idempotency-Key": key})
            if r.status_code in (200, 201):
                order = r.json()
                break
            if r.status_code != 422 or time.monotonic() > deadline:
                raise HistoryFailed(f"checkout {key} → {r.status_code}: {r.text[:300]}")
            time.sleep(0.5)   # orders may still be learning the demo products
        url = f"/cities/{city}/orders/{order['order_id']}"
        vendor = self.token(city, roles=["vendor"], sub=f"demo-vendor-{vendor_id[:8]}", vendor_id=vendor_id)
        while True:
            order = self.call("GET", "orders", url, headers=buyer)
            status = order["status"]
            if status == "completed":
                return str(order["order_id"])
            if status == "awaiting_payment" and order.get("payment"):
                self.call("POST", "payments", f"/simulator/{city}/pay", json={"qris": order["payment"]["qris"]})
            elif status == "paid":
                self.call("POST", "orders", f"/cities/{city}/vendor/orders/{order['order_id']}/prepared",
                          headers=vendor)
            elif status == "ready" and order.get("pickup_code"):
                self.call("POST", "orders", f"{url}/pickup", json={"code": order["pickup_code"]}, headers=vendor)
            elif status in ("rejected", "cancelled", "payment_expired", "refunded", "refund_requested"):
                return None
            if time.monotonic() > deadline:
                raise HistoryFailed(f"order {order['order_id']} stuck at {status}")
            time.sleep(0.3)

    def run_city(self, city: str) -> int:
        vendors = self.vendors(city)
        trained = [v["id"] for v in vendors if v.get("trained")]
        untrained = [v["id"] for v in vendors if not v.get("trained")][:UNTRAINED_SELLERS]
        # every trained vendor sells once; two in three sell again (so the repeat rate is not 100 % by design)
        plan = [(v, n) for i, v in enumerate(trained) for n in ((1, 2) if i % 3 else (1,))]
        plan += [(v, 1) for v in untrained]
        sold = sum(1 for v, n in plan if self.sell(city, v, n))
        self.out(f"      {city}: {sold} pesanan selesai ({len(trained)} pedagang terlatih, "
                 f"{len(untrained)} pembanding)")
        return sold

    def run(self, cities: list[str]) -> dict[str, int]:
        """The cities in parallel (each city's orders one after another)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, len(cities))) as pool:
            return dict(zip(cities, pool.map(self.run_city, cities), strict=True))


def cmd_history(args: argparse.Namespace) -> int:
    from deploy.commands.endpoints import bearer, city_slugs, service_urls

    urls = service_urls()

    def token(city: str, *, roles: list[str], sub: str, **claims: Any) -> Headers:
        return bearer(city, roles=roles, sub=sub, identity_url=urls["identity"], **claims)

    started = time.monotonic()
    try:
        SalesHistory(urls, token, timeout=args.timeout).run(city_slugs())
    except (HistoryFailed, httpx.HTTPError) as exc:
        print(f"demo history failed: {exc}")
        return 1
    print(f"demo sales history in {time.monotonic() - started:.1f}s")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("demo-history", help="seed the demo cities' sales (real orders) for the evaluation")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds one order may take (default 60)")
    p.set_defaults(func=cmd_history)
