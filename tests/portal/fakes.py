"""A fake of the services behind ``httpx.MockTransport``: routes by service and path, records calls."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from portal.client import ApiClient
from portal.settings import PortalSettings
from shared.ids import demo_id
from tests.tokens import mint

PORTS = {"catalog": 18101, "orders": 18102, "payments": 18103, "learning": 18104, "identity": 18105,
         "notifications": 18106}
SERVICE_OF_PORT = {v: k for k, v in PORTS.items()}

Handler = Callable[[httpx.Request, re.Match[str]], httpx.Response]


def problem(status: int, detail: str, code: str = "", **extra: Any) -> httpx.Response:
    body = {"type": f"https://pasarkota.id/problems/{code}", "title": "x", "status": status, "detail": detail,
            **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


@dataclass
class FakeServices:
    routes: list[tuple[str, str, re.Pattern[str], Handler]] = field(default_factory=list)
    calls: list[tuple[str, str, str, dict[str, Any] | None, httpx.Headers]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)

    def on(self, service: str, method: str, path: str, handler: Handler | Any) -> None:
        fn = handler if callable(handler) else (lambda _r, _m, body=handler: httpx.Response(200, json=body))
        self.routes.insert(0, (service, method, re.compile("^" + path + "$"), fn))

    def handle(self, request: httpx.Request) -> httpx.Response:
        service = SERVICE_OF_PORT[request.url.port or 0]
        body = json.loads(request.content) if request.content else None
        self.calls.append((service, request.method, request.url.path, body, request.headers))
        if service in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        for svc, method, pattern, fn in self.routes:
            if svc == service and method == request.method and (m := pattern.match(request.url.path)):
                return fn(request, m)
        return problem(404, "Tidak ditemukan. / Not found.", "not-found")

    def called(self, service: str, method: str = "GET", path_part: str = "") -> list[Any]:
        return [c for c in self.calls if c[0] == service and c[1] == method and path_part in c[2]]


CIMAHI_MARKET = demo_id("market", "cimahi", "pasar-atas-baru")
VENDOR_1 = demo_id("vendor", "cimahi", "vendor-01")
HUB = demo_id("rwhub", "cimahi", "cibabat-rw03")

PRODUCT = {"id": "p-cabai", "city": "cimahi", "vendor_id": VENDOR_1, "market_id": CIMAHI_MARKET,
           "name": "Cabai rawit", "category": "sayur", "unit": "kg", "price": 45000, "stock": 20, "available": True,
           "min_per_order": 1, "max_per_order": 10, "active": True, "vendor_name": "Lapak Bu Sri",
           "vendor_trained": True, "market_name": "Pasar Atas Baru", "available_now": True, "price_history": []}


def order(status: str = "awaiting_payment", **kw: Any) -> dict[str, Any]:
    body = {"order_id": "o-1", "city": "cimahi", "market_id": CIMAHI_MARKET, "buyer_id": "demo-buyer-cimahi-1",
            "status": status, "status_label": {"awaiting_payment": "Menunggu Pembayaran", "paid": "Dibayar",
                                               "ready": "Siap Diambil"}.get(status, status),
            "fulfilment": {"type": "pickup_rw_hub", "rw_hub_id": HUB, "address": None},
            "lines": [{"line_id": "l-1", "product_id": "p-cabai", "vendor_id": VENDOR_1, "name": "Cabai rawit",
                       "unit": "kg", "quantity": 2, "unit_price": 45000, "amount": 90000, "note": None,
                       "status": "pending", "status_label": "Menunggu Pedagang"}],
            "subtotal": 90000, "delivery_fee": 0, "total": 90000,
            "payment": {"payment_id": "pay-1", "qris": "00020101021226...6304ABCD",
                        "expires_at": "2026-11-27T13:15:00+00:00"},
            "paid_amount": 0, "refund_requested": 0, "refunded_amount": 0, "pickup_code": "482913"}
    body.update(kw)
    return body


def dev_token(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
    """identity's development token route, signing with the test key as identity would."""
    body = json.loads(request.content)
    roles = body["roles"]
    token = mint(match["city"], roles, sub=body["sub"], vendor_id=body.get("vendor_id"),
                 market_id=body.get("market_id"))
    return httpx.Response(200, json={"access_token": token, "token_type": "Bearer", "expires_in": 900,
                                     "roles": roles})


def default_services() -> FakeServices:
    fake = FakeServices()
    fake.on("identity", "POST", r"/cities/(?P<city>[a-z]+)/dev/tokens", dev_token)
    fake.on("catalog", "GET", r"/cities/cimahi/markets", {"items": [
        {"id": CIMAHI_MARKET, "name": "Pasar Atas Baru", "address": "Jl. Gandawijaya", "kelurahan": "Cimahi",
         "opens_at": "05:00", "closes_at": "14:00", "vendor_count": 16}]})
    fake.on("catalog", "GET", r"/cities/cimahi/products/p-cabai", PRODUCT)
    fake.on("catalog", "GET", r"/cities/cimahi/products", {"items": [PRODUCT], "total": 1, "page": 1})
    fake.on("catalog", "GET", r"/cities/cimahi/rw-hubs", {"items": [
        {"id": HUB, "name": "Hub RW 03 Cibabat", "kelurahan": "Cibabat", "rw": "03", "active": True}]})
    fake.on("orders", "GET", r"/cities/cimahi/orders/o-1", order())
    fake.on("orders", "GET", r"/cities/cimahi/delivery-options", {
        "delivers": True, "zones": [{"kelurahan": "Cibabat", "fee": 8000}, {"kelurahan": "Cimahi", "fee": 5000}],
        "slots": [{"date": "2026-12-03", "window": "08:00-10:00"}, {"date": "2026-12-03", "window": "10:00-12:00"}],
        "slot_capacity": 20})
    return fake


def token(role: str = "buyer", city: str = "cimahi", **kw: Any) -> str:
    sub = kw.pop("sub", f"demo-{role}-{city}-1")
    return mint(city, role, sub=sub, **kw)


@contextmanager
def portal_client(fake: FakeServices, role: str | None = None, city: str = "cimahi",
                  **kw: Any) -> Iterator[TestClient]:
    from portal.app import app

    settings = PortalSettings(**{f"{s}_url": f"http://127.0.0.1:{p}" for s, p in PORTS.items()})
    app.state.api = ApiClient(settings, transport=httpx.MockTransport(fake.handle))
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    if role:
        client.cookies.set("pk_token", token(role, city, **kw))
    try:
        yield client
    finally:
        app.state.api = None
