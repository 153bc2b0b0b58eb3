"""An in-memory notifications store: the same interface as ``NotificationsStore`` for the use cases under test."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any


class FakeStore:
    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}
        self.vendor_rows: dict[str, dict[str, Any]] = {}
        self.places: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.opted: set[tuple[str, str]] = set()
        self.queue: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
        self.parked: dict[str, list[dict[str, Any]]] = {}

    async def upsert_account(self, city: str, account_id: str, phone: str, name: str | None) -> None:
        self.accounts[account_id] = phone

    async def account_phone(self, account_id: str) -> str | None:
        return self.accounts.get(account_id)

    async def upsert_vendor(self, city: str, vendor_id: str, **kw: Any) -> None:
        self.vendor_rows[vendor_id] = {"vendor_id": vendor_id, "city": city, **kw}

    async def vendors(self, city: str, vendor_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {v: self.vendor_rows[v] for v in vendor_ids if v in self.vendor_rows}

    async def upsert_place(self, city: str, place_id: str, kind: str, name: str, address: str | None) -> None:
        self.places[place_id] = {"place_id": place_id, "kind": kind, "name": name, "address": address}

    async def place(self, city: str, place_id: str | None) -> dict[str, Any] | None:
        return self.places.get(place_id or "")

    async def insert_order(self, city: str, order_id: str, **kw: Any) -> None:
        self.orders.setdefault(order_id, {"order_id": order_id, "city": city, **kw})

    async def order(self, city: str, order_id: str) -> dict[str, Any] | None:
        return self.orders.get(order_id)

    async def park(self, city: str, order_id: str, envelope: dict[str, Any]) -> None:
        self.parked.setdefault(order_id, []).append(envelope)

    async def unpark(self, city: str, order_id: str) -> list[dict[str, Any]]:
        return self.parked.pop(order_id, [])

    async def opted_out(self, city: str, phone: str) -> bool:
        return (city, phone) in self.opted

    async def enqueue(self, *, event_id: uuid.UUID, recipient: str, template: str, not_before: datetime,
                      **kw: Any) -> uuid.UUID | None:
        key = (event_id, recipient, template)
        if key in self.queue:
            return None
        self.queue[key] = {"event_id": event_id, "recipient": recipient, "template": template,
                           "not_before": not_before, "message_id": uuid.uuid4(), **kw}
        return self.queue[key]["message_id"]

    def sent_to(self, phone: str) -> list[str]:
        return [m["template"] for m in self.queue.values() if m["recipient"] == phone]
