"""An in-memory ``OrdersStore`` for use-case tests: the same methods, dicts instead of tables.

It keeps the store's contract that matters to the use cases: projections are per city (an event never
rewrites another city's row), loads return copies, and ``save`` is optimistic (``StaleOrder`` on a lost race).
"""

from __future__ import annotations

import copy
from typing import Any

from orders.domain import HubView, Order, ProductView
from orders.store import StaleOrder


class FakeStore:
    def __init__(self) -> None:
        self.product_rows: dict[str, dict[str, Any]] = {}
        self.markets: dict[str, tuple[str, bool]] = {}  # market_id → (city, active)
        self.hubs: dict[str, HubView] = {}
        self.vendors: dict[str, tuple[str, bool]] = {}  # vendor_id → (city, suspended)
        self.orders: dict[str, Order] = {}
        self.history: list[tuple[str, str | None, str, str]] = []  # (order_id, from, to, cause)

    # ---- projections
    async def upsert_product(self, city: str, p: Any, *, active: bool | None = None) -> bool:
        row = self.product_rows.get(p.product_id)
        if row is not None and row["city"] != city:
            return False
        row = row or {"active": True, "available": True, "delisted": False, "city": city}
        row.update(vendor_id=p.vendor_id, market_id=p.market_id, name=p.name, unit=p.unit, price=p.price,
                   min_per_order=p.min_per_order, max_per_order=p.max_per_order, delisted=False)
        if active is not None:
            row["active"] = active
        self.product_rows[p.product_id] = row
        return True

    async def set_price(self, city: str, product_id: str, price: int) -> bool:
        return self._update(city, product_id, price=price)

    async def set_stock(self, city: str, product_id: str, stock: int | None, available: bool) -> bool:
        return self._update(city, product_id, available=available)

    async def delist(self, city: str, product_id: str) -> bool:
        return self._update(city, product_id, delisted=True)

    def _update(self, city: str, product_id: str, **values: Any) -> bool:
        row = self.product_rows.get(product_id)
        if row is None or row["city"] != city:
            return False
        row.update(values)
        return True

    async def upsert_market(self, city: str, market_id: str, name: str, kelurahan: str | None,
                            active: bool) -> bool:
        if market_id in self.markets and self.markets[market_id][0] != city:
            return False
        self.markets[market_id] = (city, active)
        return True

    async def upsert_hub(self, city: str, h: Any) -> bool:
        if h.rw_hub_id in self.hubs and self.hubs[h.rw_hub_id].city != city:
            return False
        self.hubs[h.rw_hub_id] = HubView(h.rw_hub_id, city, h.active)
        return True

    async def set_vendor(self, city: str, vendor_id: str, *, suspended: bool, market_id: str | None = None,
                         name: str | None = None) -> bool:
        if vendor_id in self.vendors and self.vendors[vendor_id][0] != city:
            return False
        self.vendors[vendor_id] = (city, suspended)
        return True

    # ---- what checkout reads
    async def products(self, city: str, product_ids: list[str]) -> dict[str, ProductView]:
        out = {}
        for pid in product_ids:
            r = self.product_rows.get(pid)
            if r is None or r["city"] != city:
                continue
            suspended = self.vendors.get(r["vendor_id"], (city, False)) == (city, True)
            out[pid] = ProductView(pid, r["city"], r["vendor_id"], r["market_id"], r["name"], r["unit"], r["price"],
                                   r["min_per_order"], r["max_per_order"],
                                   sellable=r["active"] and r["available"] and not r["delisted"] and not suspended)
        return out

    async def market_known(self, city: str, market_id: str) -> bool:
        if market_id in self.markets:
            return self.markets[market_id] == (city, True)
        return any(r["city"] == city and r["market_id"] == market_id for r in self.product_rows.values())

    async def hub(self, rw_hub_id: str | None) -> HubView | None:
        return self.hubs.get(rw_hub_id) if rw_hub_id else None

    # ---- orders
    async def load(self, order_id: str, *, for_update: bool = False) -> Order | None:
        order = self.orders.get(order_id)
        return copy.deepcopy(order) if order is not None else None

    async def load_many(self, order_ids: list[str], *, for_update: bool = False) -> dict[str, Order]:
        return {i: copy.deepcopy(self.orders[i]) for i in sorted(set(order_ids)) if i in self.orders}

    async def save_many(self, orders: list[Order]) -> None:
        for order in orders:
            await self.save(order)

    async def insert(self, order: Order) -> None:
        assert order.order_id not in self.orders
        self._keep(order)

    async def save(self, order: Order) -> None:
        if not order.changed:
            return
        if self.orders[order.order_id].version != order.loaded_version:
            raise StaleOrder(order.order_id)
        self._keep(order)

    def _keep(self, order: Order) -> None:
        self.history += [(order.order_id, f.value if f else None, t.value, c) for f, t, c in order.history]
        order.history.clear()
        order.loaded_version = order.version
        order.loaded_line_status = {li.line_id: li.status for li in order.lines}
        self.orders[order.order_id] = copy.deepcopy(order)
