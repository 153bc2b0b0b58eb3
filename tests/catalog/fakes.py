"""An in-memory ``CatalogStore`` for use-case tests on ``shared.uow.in_memory``: no Postgres, no Kafka.

Only what the tested use cases touch; rows are plain dicts like the real store's.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]


class FakeStore:
    def __init__(self) -> None:
        self.markets: dict[str, Row] = {}
        self.vendors: dict[str, Row] = {}
        self.products: dict[str, Row] = {}
        self.price_history: list[tuple[str, str, int]] = []
        self.reservations: dict[str, Row] = {}
        self.lines: dict[str, list[Row]] = {}

    # ---- seeding helpers (tests only) ------------------------------------------------------------------

    def add_market(self, market_id: str, city: str = "cimahi") -> Row:
        self.markets[market_id] = {"id": market_id, "city": city, "slug": market_id, "name": f"Pasar {market_id}",
                                   "kelurahan": None, "address": "", "active": True}
        return self.markets[market_id]

    def add_vendor(self, vendor_id: str, market_id: str | None, *, city: str = "cimahi", status: str = "active",
                   verified: bool = True) -> Row:
        self.vendors[vendor_id] = {
            "id": vendor_id, "city": city, "market_id": market_id, "stall_id": None, "name": f"Toko {vendor_id}",
            "owner_name": "Bu Uji", "status": status, "trained": False, "certificate_code": None,
            "participant_id": None, "suspended_reason": None, "verified_at": datetime.now(UTC) if verified else None}
        return self.vendors[vendor_id]

    def add_product(self, product_id: str, vendor_id: str, *, price: int = 10_000, stock: int | None = 10) -> Row:
        vendor = self.vendors[vendor_id]
        self.products[product_id] = {
            "id": product_id, "city": vendor["city"], "vendor_id": vendor_id, "market_id": vendor["market_id"],
            "name": product_id, "description": "", "category": "sembako", "unit": "kg", "price": price,
            "stock": stock, "available": True, "min_per_order": 1, "max_per_order": None, "photo_url": None,
            "active": True}
        return self.products[product_id]

    # ---- the CatalogStore interface the use cases use ---------------------------------------------------

    async def get_market(self, city: str, market_id: str, *, lock: bool = False) -> Row | None:
        m = self.markets.get(market_id)
        return copy.deepcopy(m) if m and m["city"] == city else None

    async def get_vendor(self, city: str, vendor_id: str, *, lock: bool = False) -> Row | None:
        v = self.vendors.get(vendor_id)
        return copy.deepcopy(v) if v and v["city"] == city else None

    async def update_vendor(self, city: str, vendor_id: str, changes: Row) -> Row | None:
        self.vendors[vendor_id].update(changes)
        return copy.deepcopy(self.vendors[vendor_id])

    async def lock_product(self, city: str, product_id: str) -> Row | None:
        p = self.products.get(product_id)
        return copy.deepcopy(p) if p and p["city"] == city else None

    async def update_product(self, city: str, product_id: str, changes: Row) -> Row | None:
        self.products[product_id].update(changes)
        return copy.deepcopy(self.products[product_id])

    async def add_price_history(self, city: str, product_id: str, price: int, at: datetime | None = None) -> None:
        self.price_history.append((city, product_id, price))

    async def claim_reservation(self, order_id: str, city: str, market_id: str | None, status: str) -> bool:
        if order_id in self.reservations:
            return False
        self.reservations[order_id] = {"order_id": order_id, "city": city, "market_id": market_id, "status": status,
                                       "expires_at": None, "reason": None, "answer": None}
        return True

    async def lock_products_for_reservation(self, product_ids: list[str]) -> list[Row]:
        out = []
        for pid in sorted(product_ids):
            p = self.products.get(pid)
            if p is not None:
                vendor_active = self.vendors[p["vendor_id"]]["status"] == "active"
                out.append({**copy.deepcopy(p), "vendor_active": vendor_active})
        return out

    async def take_stock(self, takes: list[tuple[str, int]]) -> list[Row]:
        changed = []
        for pid, qty in takes:
            p = self.products[pid]
            if p["stock"] is not None and p["stock"] >= qty:
                p["stock"] -= qty
                changed.append({"id": pid, "stock": p["stock"], "available": p["available"]})
        return changed

    async def insert_reservation_lines(self, order_id: str, lines: list[tuple[str, int, bool]]) -> None:
        self.lines[order_id] = [{"product_id": p, "quantity": q, "tracked": t, "returned": 0} for p, q, t in lines]

    async def set_reservation(self, order_id: str, status: str, *, expires_at: datetime | None = None,
                              reason: str | None = None) -> None:
        r = self.reservations[order_id]
        r["status"] = status
        r["expires_at"] = expires_at or r["expires_at"]
        r["reason"] = reason or r["reason"]

    async def set_answer(self, order_id: str, answer: Row) -> None:
        self.reservations[order_id]["answer"] = answer

    async def lock_reservation(self, order_id: str) -> Row | None:
        r = self.reservations.get(order_id)
        return copy.deepcopy(r) if r else None

    async def reservation_lines(self, order_id: str) -> list[Row]:
        return copy.deepcopy(self.lines.get(order_id, []))

    async def lock_reservations(self, order_ids: list[str]) -> dict[str, Row]:
        return {i: copy.deepcopy(self.reservations[i]) for i in sorted(set(order_ids)) if i in self.reservations}

    async def reservation_lines_of(self, order_ids: list[str]) -> dict[str, list[Row]]:
        return {i: copy.deepcopy(self.lines[i]) for i in order_ids if i in self.lines}

    async def set_reservations(self, order_ids: list[str], status: str) -> None:
        for order_id in order_ids:
            self.reservations[order_id]["status"] = status

    async def give_back_stock(self, order_id: str) -> list[Row]:
        out = []
        for line in self.lines.get(order_id, []):
            out_qty = line["quantity"] - line["returned"]
            p = self.products[line["product_id"]]
            if line["tracked"] and out_qty > 0 and p["stock"] is not None:
                p["stock"] += out_qty
                out.append({"id": p["id"], "stock": p["stock"], "available": p["available"]})
            line["returned"] = line["quantity"]
        return out

    async def due_reservations(self, limit: int) -> list[Row]:
        now = datetime.now(UTC)
        due = [r for r in self.reservations.values()
               if r["status"] == "held" and r["expires_at"] is not None and r["expires_at"] < now]
        return [{"order_id": r["order_id"], "city": r["city"], "status": r["status"]} for r in due[:limit]]
