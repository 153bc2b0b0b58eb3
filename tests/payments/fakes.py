"""An in-memory ``PaymentsStore`` for use-case tests (``shared.uow.in_memory(FakeStore())``): same methods,
plain dicts, no Postgres. Only as clever as the use cases need; the real SQL is tested in tests/e2e."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from payments.acquirer import RefundOrder, RefundReceipt
from payments.domain import Intent
from payments.ledger import Entry
from payments.simulator import SimulatorAcquirer

Row = dict[str, Any]


class FakeStore:
    def __init__(self) -> None:
        self.intents: dict[uuid.UUID, Row] = {}
        self.refunds: list[Row] = []
        self.mismatches: list[Row] = []
        self.notifications: list[Row] = []
        self.entries: dict[tuple[str, str], Entry] = {}
        self._ids = itertools.count(1)

    # -- intents
    async def insert_intents(self, rows: list[dict[str, Any]]) -> set[Any]:
        inserted = set()
        for row in rows:
            if any(i["city"] == row["city"] and i["order_id"] == row["order_id"] for i in self.intents.values()):
                continue
            self.intents[row["payment_id"]] = {**row, "paid_at": None, "acquirer_reference": None,
                                               "refunded_amount": 0, "created_at": datetime.now(UTC)}
            inserted.add(row["payment_id"])
        return inserted

    def _find(self, city: str, **match: Any) -> Row | None:
        return next((dict(i) for i in self.intents.values()
                     if i["city"] == city and all(i[k] == v for k, v in match.items())), None)

    async def intent_by_order(self, city: str, order_id: str, *, for_update: bool = False) -> Row | None:
        return self._find(city, order_id=order_id)

    async def intent_by_id(self, city: str, payment_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
        return self._find(city, payment_id=payment_id)

    async def intent_by_bill(self, city: str, bill_number: str) -> Row | None:
        return self._find(city, bill_number=bill_number)

    async def cancel_intent(self, payment_id: uuid.UUID) -> None:
        self.intents[payment_id]["status"] = "cancelled"

    async def save_intent_state(self, intent: Intent) -> None:
        self.intents[intent.payment_id].update(status=intent.status.value, refunded_amount=intent.refunded_amount)

    def mark_paid_now(self, payment_id: uuid.UUID, acquirer_reference: str = "A-1") -> None:
        """Test helper: the intent's payment was applied."""
        self.intents[payment_id].update(status="succeeded", paid_at=datetime.now(UTC),
                                        acquirer_reference=acquirer_reference)

    # -- expiry
    async def expire_due(self, limit: int, payment_id: uuid.UUID | None = None) -> Sequence[Row]:
        now = datetime.now(UTC)
        waiting = {(n["city"], n["bill_number"]) for n in self.notifications if n["processed_at"] is None}
        due = [i for i in self.intents.values() if i["status"] == "pending" and i["expires_at"] <= now
               and payment_id in (None, i["payment_id"]) and (i["city"], i["bill_number"]) not in waiting]
        for i in due[:limit]:
            i["status"] = "expired"
        return [{k: i[k] for k in ("payment_id", "city", "order_id", "correlation_id")} for i in due[:limit]]

    async def expire_from_now(self, city: str, bill_number: str) -> uuid.UUID | None:
        row = self._find(city, bill_number=bill_number, status="pending")
        if row is None:
            return None
        intent = self.intents[row["payment_id"]]
        intent["expires_at"] = min(intent["expires_at"], datetime.now(UTC))
        return row["payment_id"]  # type: ignore[no-any-return]

    # -- refunds
    async def insert_refund(self, **row: Any) -> bool:
        if any(r["city"] == row["city"] and r["dedupe_key"] == row["dedupe_key"] for r in self.refunds):
            return False
        self.refunds.append({**row, "acquirer_refund_reference": None, "send_attempts": 0, "send_error": None})
        return True

    async def refund_by_dedupe(self, city: str, dedupe_key: str) -> Row | None:
        return next((r for r in self.refunds if r["city"] == city and r["dedupe_key"] == dedupe_key), None)

    async def refunds_to_send(self, limit: int) -> Sequence[Row]:
        return [r for r in self.refunds if r["acquirer_refund_reference"] is None][:limit]

    async def refunded_by_key(self, payment_id: uuid.UUID) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.refunds:
            if r["payment_id"] == payment_id and r["counts_for_vendors"]:
                for k, a in r["vendor_amounts"].items():
                    out[k] = out.get(k, 0) + a
        return out

    # -- ledger
    async def add_entries(self, entries: Sequence[tuple[str, Entry]]) -> int:
        new = 0
        for city, e in entries:
            if (city, e.dedupe_key) not in self.entries:
                self.entries[(city, e.dedupe_key)] = e
                new += 1
        return new

    def balances(self) -> dict[str, int]:
        """Account (vendor payables as ``vendor:<id>``) → sum of its postings."""
        out: dict[str, int] = {}
        for e in self.entries.values():
            for p in e.postings:
                key = f"vendor:{p.vendor_id}" if p.vendor_id else p.account
                out[key] = out.get(key, 0) + p.amount
        return out

    def _refund(self, refund_id: uuid.UUID) -> Row:
        return next(r for r in self.refunds if r["refund_id"] == refund_id)

    async def refund_sent(self, refund_id: uuid.UUID, acquirer_refund_reference: str) -> None:
        self._refund(refund_id).update(acquirer_refund_reference=acquirer_refund_reference, send_error=None)

    async def refund_send_failed(self, refund_id: uuid.UUID, error: str) -> None:
        refund = self._refund(refund_id)
        refund.update(send_attempts=refund["send_attempts"] + 1, send_error=error)

    async def insert_mismatch(self, **row: Any) -> None:
        self.mismatches.append(row)

    # -- notifications
    async def store_notification(self, **row: Any) -> Row | None:
        if self._find(row["city"], bill_number=row["bill_number"]) is None:
            return None
        if any(n["city"] == row["city"] and n["request_id"] == row["request_id"] for n in self.notifications):
            return None
        stored = {**row, "id": next(self._ids), "received_at": datetime.now(UTC), "processed_at": None,
                  "outcome": None, "payment_id": None}
        self.notifications.append(stored)
        return stored

    async def notification_by_request(self, city: str, request_id: str) -> Row | None:
        return next((n for n in self.notifications if n["city"] == city and n["request_id"] == request_id), None)

    async def claim_notifications(self, limit: int) -> Sequence[Row]:
        return [dict(n) for n in self.notifications if n["processed_at"] is None][:limit]

    async def intents_for_bills(self, keys: Sequence[tuple[str, str]]) -> Sequence[Row]:
        return [dict(i) for i in self.intents.values() if (i["city"], i["bill_number"]) in set(keys)]

    async def references_received(self, keys: Sequence[tuple[str, str]],
                                  outcomes: Sequence[str]) -> set[tuple[str, str]]:
        return {(n["city"], n["acquirer_reference"]) for n in self.notifications
                if n["processed_at"] is not None and n["outcome"] in outcomes
                and (n["city"], n["acquirer_reference"]) in set(keys)}

    async def mark_paid(self, paid: Sequence[tuple[uuid.UUID, datetime, int, str]]) -> None:
        for payment_id, paid_at, _amount, reference in paid:
            if self.intents[payment_id]["status"] == "pending":
                self.intents[payment_id].update(status="succeeded", paid_at=paid_at, acquirer_reference=reference)

    async def mark_expired(self, payment_ids: Sequence[uuid.UUID]) -> None:
        for payment_id in payment_ids:
            if self.intents[payment_id]["status"] == "pending":
                self.intents[payment_id]["status"] = "expired"

    async def record_outcomes(self, outcomes: Sequence[tuple[int, str, uuid.UUID | None]]) -> None:
        by_id = {n["id"]: n for n in self.notifications}
        for notification_id, outcome, payment_id in outcomes:
            by_id[notification_id].update(processed_at=datetime.now(UTC), outcome=outcome, payment_id=payment_id)

    async def oldest_unprocessed_notification(self) -> int | None:
        return min((n["id"] for n in self.notifications if n["processed_at"] is None), default=None)

    async def quarantine_notification(self, notification_id: int) -> Row | None:
        row = next((n for n in self.notifications if n["id"] == notification_id and n["processed_at"] is None), None)
        if row is not None:
            row.update(processed_at=datetime.now(UTC), outcome="error")
        return row


class SpyAcquirer(SimulatorAcquirer):
    """The simulator, counting refund calls; ``failing`` makes them raise (the acquirer is down)."""

    def __init__(self) -> None:
        self.refunded: list[RefundOrder] = []
        self.failing = False

    async def refund(self, order: RefundOrder) -> RefundReceipt:
        if self.failing:
            raise ConnectionError("acquirer unreachable")
        self.refunded.append(order)
        return await super().refund(order)
