"""`pasarkota demo`: a whole purchase in Cimahi against a running stack (`make up`), step by step.

A whole-platform tool, not any service's code: it talks to catalog, orders and payments (the acquirer
simulator) over HTTP only. A buyer orders from two vendors of one market with pickup at an RW hub; the
acquirer simulator pays the QRIS; both vendors pack; the RW hub confirms the buyer's pickup code. Each step
prints the order's status label; the command exits non-zero if a step does not happen within its bound.
Every request carries one ``X-Correlation-ID`` (printed first), so the whole purchase can be followed
through the logs and the events.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

CITY = "cimahi"


class DemoFailed(RuntimeError):
    pass


class Demo:
    def __init__(self, urls: dict[str, str], timeout: float, out: Callable[[str], None] = print) -> None:
        from deploy.commands.endpoints import bearer

        self.urls, self.timeout, self.out = urls, timeout, out
        self.correlation_id = str(uuid.uuid4())
        self.http = httpx.Client(timeout=15, headers={"X-Correlation-ID": self.correlation_id})
        self.token = lambda **kw: bearer(CITY, identity_url=urls["identity"], **kw)
        self.buyer = self.token(sub=f"demo-buyer-{CITY}-1", roles=["buyer"])
        self.staff = self.token(sub=f"demo-rw-hub-staff-{CITY}", roles=["city_admin"])

    # -- helpers
    def call(self, method: str, service: str, path: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, self.urls[service] + path, **kw)
        except httpx.HTTPError as exc:
            raise DemoFailed(f"{service} is not reachable ({exc}); is the stack up? (`make up`)") from None
        if r.status_code >= 400:
            raise DemoFailed(f"{method} {path} → {r.status_code}: {r.text[:300]}")
        return r.json() if r.content else None

    def wait_for(self, order_id: str, what: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        last_label = None
        while True:
            order = self.call("GET", "orders", f"/cities/{CITY}/orders/{order_id}", headers=self.buyer)
            if order["status_label"] != last_label:
                last_label = order["status_label"]
                self.out(f"      status: {last_label}")
            if done(order):
                return dict(order)
            if order["status"] in ("rejected", "cancelled", "payment_expired", "refunded", "refund_requested"):
                raise DemoFailed(f"the order ended as '{order['status_label']}' while waiting for {what}")
            if time.monotonic() > deadline:
                raise DemoFailed(f"{what} did not happen within {self.timeout:.0f}s "
                                 f"(order is '{order['status_label']}')")
            time.sleep(0.3)

    def pick_products(self) -> tuple[str, list[dict[str, Any]]]:
        """Two available products from two vendors of the same market."""
        page = self.call("GET", "catalog", f"/cities/{CITY}/products", params={"page_size": 100})
        by_market: dict[str, dict[str, dict[str, Any]]] = {}
        for p in page.get("items", []):
            if not p.get("available_now", True) or (p.get("stock") is not None and p["stock"] < 2):
                continue
            if (p.get("min_per_order") or 1) > 1:
                continue
            by_market.setdefault(p["market_id"], {}).setdefault(p["vendor_id"], p)
        for market_id, vendors in sorted(by_market.items(), key=lambda kv: -len(kv[1])):
            if len(vendors) >= 2:
                return market_id, list(vendors.values())[:2]
        raise DemoFailed("catalog lists no market with two vendors selling available products in Cimahi")

    # -- the story
    def run(self) -> str:
        self.out(f"correlation id: {self.correlation_id}")
        self.out("1. Memilih produk dari dua pedagang dan RW hub (catalog) ...")
        market_id, products = self.pick_products()
        hubs = self.call("GET", "catalog", f"/cities/{CITY}/rw-hubs").get("items", [])
        if not hubs:
            raise DemoFailed("catalog lists no RW hub in Cimahi")
        hub = hubs[0]
        hub_id = hub.get("id") or hub.get("rw_hub_id")
        for p in products:
            self.out(f"      {p['name']} @ Rp {p['price']:,} ({p.get('vendor_name') or p['vendor_id']})"
                     .replace(",", "."))
        self.out(f"      ambil di: {hub.get('name')} ({hub.get('kelurahan')}, RW {hub.get('rw')})")

        self.out("2. Checkout ...")
        body = {"market_id": market_id, "fulfilment": {"type": "pickup_rw_hub", "rw_hub_id": hub_id},
                "items": [{"product_id": p.get("product_id") or p["id"], "quantity": 1,
                           "note": "Demo PasarKota"} for p in products]}
        order = self._checkout(body)
        order_id = order["order_id"]
        self.out(f"      pesanan {order_id}: total Rp {order['total']:,}".replace(",", "."))
        self.out(f"      status: {order['status_label']}")

        self.out("3. Menunggu stok dipesan dan QRIS terbit ...")
        order = self.wait_for(order_id, "the QRIS (Menunggu Pembayaran)",
                              lambda o: o["status"] == "awaiting_payment" and bool(o.get("payment")))
        qris = order["payment"]["qris"]
        self.out(f"      QRIS: {qris[:40]}... (berlaku s/d {order['payment']['expires_at']})")

        self.out("4. Membayar QRIS lewat simulator acquirer ...")
        self.call("POST", "payments", f"/simulator/{CITY}/pay", json={"qris": qris})
        self.wait_for(order_id, "the payment (Dibayar)", lambda o: o["status"] in ("paid", "preparing", "ready"))

        self.out("5. Para pedagang mengemas pesanan ...")
        for vendor_id in sorted({li["vendor_id"] for li in order["lines"]}):
            vendor = self.token(sub=f"demo-vendor-{vendor_id[:8]}", roles=["vendor"], vendor_id=vendor_id)
            res = self.call("POST", "orders", f"/cities/{CITY}/vendor/orders/{order_id}/prepared", headers=vendor)
            self.out(f"      pedagang {vendor_id[:8]}… selesai mengemas → {res['status_label']}")
        order = self.wait_for(order_id, "Siap Diambil", lambda o: o["status"] == "ready" and bool(o["pickup_code"]))
        self.out(f"      kode pengambilan pembeli: {order['pickup_code']}")

        self.out("6. Pembeli mengambil pesanan di RW hub ...")
        done = self.call("POST", "orders", f"/cities/{CITY}/orders/{order_id}/pickup",
                         json={"code": order["pickup_code"]}, headers=self.staff)
        self.out(f"      status: {done['status_label']}")
        if done["status"] != "completed":
            raise DemoFailed(f"pickup did not complete the order ({done['status_label']})")
        self.out("Selesai: satu pembelian penuh berhasil. / A whole purchase went through.")
        return order_id

    def _checkout(self, body: dict[str, Any]) -> dict[str, Any]:
        # the projections of catalog's demo data may still be filling right after `make up`: retry briefly
        deadline = time.monotonic() + self.timeout
        headers = {**self.buyer, "Idempotency-Key": str(uuid.uuid4())}
        while True:
            r = self.http.post(self.urls["orders"] + f"/cities/{CITY}/orders", json=body, headers=headers)
            if r.status_code == 201:
                return dict(r.json())
            if r.status_code != 422 or time.monotonic() > deadline:
                raise DemoFailed(f"checkout failed → {r.status_code}: {r.text[:300]}")
            time.sleep(0.5)


def cmd_demo(args: argparse.Namespace) -> int:
    from deploy.commands.endpoints import service_urls

    demo = Demo(service_urls(), args.timeout)
    try:
        demo.run()
    except DemoFailed as exc:
        print(f"DEMO GAGAL / FAILED: {exc}")
        return 1
    return 0


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="play a whole purchase in Cimahi against the running stack")
    demo.add_argument("--timeout", type=float, default=60.0, help="seconds each step may take (default 60)")
    demo.set_defaults(func=cmd_demo)
