"""``PaymentsStore``: every write and aggregate load of the ``payments`` schema, on one connection.

A unit of work builds one per transaction (``uow.store``); the use cases in ``handlers.py`` never see SQL.
Rows come back as mappings (``asyncpg.Record``); ``to_intent`` makes the domain's ``Intent`` of one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from payments.domain import Intent, Status
from payments.ledger import Entry

INTENT_COLUMNS = ("payment_id, city, order_id, buyer_id, amount, vendor_amounts, merchant_name, qris, bill_number,"
                  " reference_label, status, expires_at, paid_at, acquirer_reference, refunded_amount,"
                  " correlation_id, created_at")

Row = Mapping[str, Any]


def to_intent(row: Row) -> Intent:
    return Intent(payment_id=row["payment_id"], order_id=row["order_id"], amount=row["amount"],
                  status=Status(row["status"]), expires_at=row["expires_at"],
                  refunded_amount=row["refunded_amount"], acquirer_reference=row["acquirer_reference"])


class PaymentsStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # -- intents -----------------------------------------------------------------------------------------

    async def insert_intents(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Many intents in one statement (a polled batch of ``OrderPaymentRequested``), each unless its order has
        one already (also earlier in the same batch); returns the payment ids inserted."""
        if not rows:
            return set()
        columns = ("payment_id", "city", "order_id", "buyer_id", "amount", "vendor_amounts", "merchant",
                   "merchant_name", "qris", "bill_number", "reference_label", "status", "failure_reason",
                   "expires_at", "correlation_id")
        inserted = await self.conn.fetch(
            f"INSERT INTO payment_intents({', '.join(columns)})"
            " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::jsonb[],"
            " $7::jsonb[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],"
            " $14::timestamptz[], $15::text[]) ON CONFLICT DO NOTHING RETURNING payment_id",
            *[[r[c] for r in rows] for c in columns])
        return {r["payment_id"] for r in inserted}

    async def intent_by_order(self, city: str, order_id: str, *, for_update: bool = False) -> Row | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self.conn.fetchrow(
            f"SELECT {INTENT_COLUMNS}, failure_reason FROM payment_intents WHERE city = $1 AND order_id = $2"
            + lock, city, order_id)

    async def intent_by_id(self, city: str, payment_id: uuid.UUID, *, for_update: bool = False) -> Row | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self.conn.fetchrow(
            f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE city = $1 AND payment_id = $2" + lock,
            city, payment_id)

    async def intent_by_bill(self, city: str, bill_number: str) -> Row | None:
        return await self.conn.fetchrow(
            f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE city = $1 AND bill_number = $2", city, bill_number)

    async def cancel_intent(self, payment_id: uuid.UUID) -> None:
        await self.conn.execute("UPDATE payment_intents SET status = 'cancelled', updated_at = now()"
                                " WHERE payment_id = $1", payment_id)

    async def save_intent_state(self, intent: Intent) -> None:
        await self.conn.execute("UPDATE payment_intents SET status = $2, refunded_amount = $3, updated_at = now()"
                                " WHERE payment_id = $1", intent.payment_id, intent.status.value,
                                intent.refunded_amount)

    # -- expiry ------------------------------------------------------------------------------------------

    async def expire_due(self, limit: int, payment_id: uuid.UUID | None = None) -> Sequence[Row]:
        """Pending intents past their expiry → expired; replicas share the work (SKIP LOCKED). Intents with a
        stored-but-unprocessed notification are skipped: paid in time, the notification worker decides."""
        return await self.conn.fetch(
            "UPDATE payment_intents SET status = 'expired', updated_at = now() WHERE payment_id IN ("
            " SELECT i.payment_id FROM payment_intents i WHERE i.status = 'pending' AND i.expires_at <= now()"
            "  AND ($2::uuid IS NULL OR i.payment_id = $2)"
            "  AND NOT EXISTS (SELECT 1 FROM acquirer_notifications n WHERE n.city = i.city"
            "                  AND n.bill_number = i.bill_number AND n.processed_at IS NULL)"
            " ORDER BY i.expires_at LIMIT $1 FOR UPDATE OF i SKIP LOCKED)"
            " RETURNING payment_id, city, order_id, correlation_id", limit, payment_id)

    async def expire_from_now(self, city: str, bill_number: str) -> uuid.UUID | None:
        """Dev-only time travel: a pending intent's expiry moved to now (its payment id; None if not pending)."""
        return await self.conn.fetchval(
            "UPDATE payment_intents SET expires_at = least(expires_at, now()), updated_at = now()"
            " WHERE city = $1 AND bill_number = $2 AND status = 'pending' RETURNING payment_id", city, bill_number)

    # -- refunds -----------------------------------------------------------------------------------------

    async def insert_refund(self, *, refund_id: uuid.UUID, city: str, payment_id: uuid.UUID, order_id: str,
                            amount: int, reason: str, source: str, dedupe_key: str, vendor_amounts: dict[str, int],
                            counts_for_vendors: bool, notification_id: int | None,
                            acquirer_reference: str | None, correlation_id: str) -> bool:
        """Record a refund as decided; the acquirer is instructed after commit (``refunds_to_send``)."""
        inserted = await self.conn.fetchval(
            "INSERT INTO refunds(refund_id, city, payment_id, order_id, amount, reason, source, dedupe_key,"
            " vendor_amounts, counts_for_vendors, notification_id, acquirer_reference, correlation_id)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT (city, dedupe_key) DO NOTHING"
            " RETURNING true",
            refund_id, city, payment_id, order_id, amount, reason, source, dedupe_key, vendor_amounts,
            counts_for_vendors, notification_id, acquirer_reference, correlation_id)
        return bool(inserted)

    async def refund_by_dedupe(self, city: str, dedupe_key: str) -> Row | None:
        return await self.conn.fetchrow(
            "SELECT * FROM refunds WHERE city = $1 AND dedupe_key = $2", city, dedupe_key)

    async def refunds_to_send(self, limit: int) -> Sequence[Row]:
        """Refunds decided but not yet confirmed by the acquirer, oldest first; replicas share them."""
        return await self.conn.fetch(
            "SELECT refund_id, city, payment_id, order_id, amount, reason, acquirer_reference FROM refunds"
            " WHERE acquirer_refund_reference IS NULL ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED", limit)

    async def refund_sent(self, refund_id: uuid.UUID, acquirer_refund_reference: str) -> None:
        await self.conn.execute("UPDATE refunds SET acquirer_refund_reference = $2, sent_at = now(),"
                                " send_error = NULL WHERE refund_id = $1", refund_id, acquirer_refund_reference)

    async def refund_send_failed(self, refund_id: uuid.UUID, error: str) -> None:
        await self.conn.execute("UPDATE refunds SET send_attempts = send_attempts + 1, send_error = $2"
                                " WHERE refund_id = $1", refund_id, error[:500])

    # -- mismatches --------------------------------------------------------------------------------------

    async def insert_mismatch(self, *, city: str, kind: str, notification_id: int | None,
                              payment_id: uuid.UUID | None, order_id: str | None, bill_number: str | None,
                              expected: int | None, notified: int | None, acquirer_reference: str | None,
                              detail: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO payment_mismatches(city, kind, notification_id, payment_id, order_id, bill_number,"
            " expected, notified, acquirer_reference, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            city, kind, notification_id, payment_id, order_id, bill_number, expected, notified,
            acquirer_reference, detail)

    # -- acquirer notifications --------------------------------------------------------------------------

    async def store_notification(self, *, city: str, request_id: str, body: str, body_sha256: str,
                                 bill_number: str, amount: int, acquirer_reference: str, paid_at: datetime,
                                 status: str) -> Row | None:
        """One INSERT of a notification for a known intent. None when the request id is a replay or the bill
        number is unknown (the caller tells which)."""
        return await self.conn.fetchrow(
            "INSERT INTO acquirer_notifications(city, request_id, body, body_sha256, bill_number, amount,"
            " acquirer_reference, paid_at, status)"
            " SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9"
            " WHERE EXISTS (SELECT 1 FROM payment_intents WHERE city = $1 AND bill_number = $5)"
            " ON CONFLICT (city, request_id) DO NOTHING RETURNING id, received_at",
            city, request_id, body, body_sha256, bill_number, amount, acquirer_reference, paid_at, status)

    async def notification_by_request(self, city: str, request_id: str) -> Row | None:
        return await self.conn.fetchrow(
            "SELECT id, received_at, body_sha256 FROM acquirer_notifications WHERE city = $1 AND request_id = $2",
            city, request_id)

    async def claim_notifications(self, limit: int) -> Sequence[Row]:
        """Unprocessed notifications in arrival order, claimed (FOR UPDATE SKIP LOCKED: replicas share them)."""
        return await self.conn.fetch(
            "SELECT id, city, request_id, bill_number, amount, acquirer_reference, paid_at, status"
            " FROM acquirer_notifications WHERE processed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            limit)

    async def intents_for_bills(self, keys: Sequence[tuple[str, str]]) -> Sequence[Row]:
        """The intents of these (city, bill number) pairs, locked in payment id order (no deadlocks)."""
        return await self.conn.fetch(
            f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE (city, bill_number) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY payment_id FOR UPDATE",
            [c for c, _ in keys], [b for _, b in keys])

    async def references_received(self, keys: Sequence[tuple[str, str]],
                                  outcomes: Sequence[str]) -> set[tuple[str, str]]:
        """Which (city, acquirer reference) pairs were already processed with one of ``outcomes``."""
        rows = await self.conn.fetch(
            "SELECT city, acquirer_reference FROM acquirer_notifications WHERE (city, acquirer_reference) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[])) AND processed_at IS NOT NULL AND outcome = ANY($3)",
            [c for c, _ in keys], [r for _, r in keys], list(outcomes))
        return {(r["city"], r["acquirer_reference"]) for r in rows}

    async def mark_paid(self, paid: Sequence[tuple[uuid.UUID, datetime, int, str]]) -> None:
        """(payment id, paid at, amount, acquirer reference) of pending intents now paid."""
        if paid:
            await self.conn.executemany(
                "UPDATE payment_intents SET status = 'succeeded', paid_at = $2, paid_amount = $3,"
                " acquirer_reference = $4, updated_at = now() WHERE payment_id = $1 AND status = 'pending'", paid)

    async def mark_expired(self, payment_ids: Sequence[uuid.UUID]) -> None:
        if payment_ids:
            await self.conn.execute("UPDATE payment_intents SET status = 'expired', updated_at = now()"
                                    " WHERE payment_id = ANY($1::uuid[]) AND status = 'pending'", list(payment_ids))

    async def record_outcomes(self, outcomes: Sequence[tuple[int, str, uuid.UUID | None]]) -> None:
        """(notification id, outcome, payment id) of processed notifications."""
        if outcomes:
            await self.conn.executemany("UPDATE acquirer_notifications SET processed_at = now(), outcome = $2,"
                                        " payment_id = $3 WHERE id = $1", outcomes)

    async def oldest_unprocessed_notification(self) -> int | None:
        return await self.conn.fetchval(
            "SELECT min(id) FROM acquirer_notifications WHERE processed_at IS NULL")

    async def quarantine_notification(self, notification_id: int) -> Row | None:
        """Mark a notification processed with outcome ``error`` (None when it was processed meanwhile)."""
        return await self.conn.fetchrow(
            "UPDATE acquirer_notifications SET processed_at = now(), outcome = 'error' WHERE id = $1"
            " AND processed_at IS NULL RETURNING city, bill_number, amount, acquirer_reference", notification_id)

    # -- ledger ------------------------------------------------------------------------------------------

    async def add_entries(self, entries: Sequence[tuple[str, Entry]]) -> int:
        """Append (city, entry) pairs: two statements whatever their number. An entry whose dedupe key exists
        is skipped with its postings (the same cause never posts twice). Returns how many were new."""
        if not entries:
            return 0
        new = await self.conn.fetch(
            "INSERT INTO ledger_entries(entry_id, city, kind, dedupe_key, payment_id, order_id, refund_id, payout_id)"
            " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[],"
            " $7::uuid[], $8::uuid[]) ON CONFLICT (city, dedupe_key) DO NOTHING RETURNING entry_id",
            [e.entry_id for _, e in entries], [c for c, _ in entries], [e.kind for _, e in entries],
            [e.dedupe_key for _, e in entries], [e.payment_id for _, e in entries],
            [e.order_id for _, e in entries], [e.refund_id for _, e in entries], [e.payout_id for _, e in entries])
        written = {r["entry_id"] for r in new}
        rows = [(e.entry_id, city, p.account, p.vendor_id, p.amount)
                for city, e in entries if e.entry_id in written for p in e.postings]
        if rows:
            await self.conn.execute(
                "INSERT INTO ledger_postings(entry_id, city, account, vendor_id, amount)"
                " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[])",
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
                [r[4] for r in rows])
        return len(written)

    async def refunded_by_key(self, payment_id: uuid.UUID) -> dict[str, int]:
        """What was refunded of this payment's own amount so far, per allocation key (vendor id or ``_other``)."""
        rows = await self.conn.fetch(
            "SELECT k.key, sum(k.value::bigint) AS amount FROM refunds r, jsonb_each_text(r.vendor_amounts) k"
            " WHERE r.payment_id = $1 AND r.counts_for_vendors GROUP BY k.key", payment_id)
        return {r["key"]: int(r["amount"]) for r in rows}

    # -- vendors and payouts -----------------------------------------------------------------------------

    async def upsert_vendor(self, city: str, vendor_id: str, market_id: str | None, name: str) -> None:
        await self.conn.execute(
            "INSERT INTO vendors(city, vendor_id, market_id, name) VALUES ($1,$2,$3,$4)"
            " ON CONFLICT (city, vendor_id) DO UPDATE SET market_id = EXCLUDED.market_id, name = EXCLUDED.name,"
            " updated_at = now()", city, vendor_id, market_id, name)

    async def set_payout_account(self, city: str, vendor_id: str, bank_code: str, account_number: str,
                                 account_name: str, updated_by: str) -> None:
        await self.conn.execute(
            "INSERT INTO payout_accounts(city, vendor_id, bank_code, account_number, account_name, updated_by)"
            " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (city, vendor_id) DO UPDATE SET bank_code = EXCLUDED.bank_code,"
            " account_number = EXCLUDED.account_number, account_name = EXCLUDED.account_name,"
            " updated_by = EXCLUDED.updated_by, updated_at = now()",
            city, vendor_id, bank_code, account_number, account_name, updated_by)

    async def insert_payout_run(self, run_id: uuid.UUID, city: str, day: Any, cutoff: datetime,
                                created_by: str) -> bool:
        """False when the city already has a run for that day (a second run makes nothing)."""
        return bool(await self.conn.fetchval(
            "INSERT INTO payout_runs(run_id, city, day, cutoff, created_by) VALUES ($1,$2,$3,$4,$5)"
            " ON CONFLICT (city, day) DO NOTHING RETURNING true", run_id, city, day, cutoff, created_by))

    async def lock_payouts(self, city: str) -> None:
        """Payout runs of one city are serialised (a run reads what earlier runs paid out)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('payouts:' || $1))", city)

    async def earned_until(self, city: str, cutoff: datetime) -> dict[str, int]:
        """Each vendor's payable from sales, refunds and fees posted before ``cutoff`` (payouts excluded)."""
        rows = await self.conn.fetch(
            "SELECT p.vendor_id, -sum(p.amount) AS earned FROM ledger_postings p JOIN ledger_entries e USING (entry_id)"
            " WHERE p.city = $1 AND p.account = 'vendor_payable' AND p.created_at < $2"
            " AND e.kind <> 'payout_instructed' GROUP BY p.vendor_id", city, cutoff)
        return {r["vendor_id"]: int(r["earned"]) for r in rows}

    async def paid_out(self, city: str) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT vendor_id, sum(amount) AS amount FROM payouts WHERE city = $1 GROUP BY vendor_id", city)
        return {r["vendor_id"]: int(r["amount"]) for r in rows}

    async def insert_payouts(self, run_id: uuid.UUID, city: str, payouts: Sequence[tuple[uuid.UUID, str, int]]) -> None:
        """(payout id, vendor id, amount) instructions of one run."""
        if payouts:
            await self.conn.execute(
                "INSERT INTO payouts(payout_id, run_id, city, vendor_id, amount)"
                " SELECT u.id, $1, $2, u.vendor, u.amount FROM unnest($3::uuid[], $4::text[], $5::bigint[])"
                " AS u(id, vendor, amount)", run_id, city, [p[0] for p in payouts], [p[1] for p in payouts],
                [p[2] for p in payouts])

    async def mark_payout_paid(self, city: str, payout_id: uuid.UUID, bank_reference: str) -> Row | None:
        """The instruction now paid (None when unknown or already paid)."""
        return await self.conn.fetchrow(
            "UPDATE payouts SET status = 'paid', bank_reference = $3, paid_at = now()"
            " WHERE city = $1 AND payout_id = $2 AND status = 'instructed' RETURNING payout_id, amount, vendor_id",
            city, payout_id, bank_reference)

    async def payout_by_id(self, city: str, payout_id: uuid.UUID) -> Row | None:
        return await self.conn.fetchrow("SELECT * FROM payouts WHERE city = $1 AND payout_id = $2", city, payout_id)

    # -- acquirer settlement files -----------------------------------------------------------------------

    async def record_simulated_settlement(self, city: str, acquirer_reference: str, amount: int, fee: int,
                                          paid_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO simulator_settlements(city, acquirer_reference, amount, fee, paid_at)"
            " VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING", city, acquirer_reference, amount, fee, paid_at)

    async def insert_reconciliation(self, reconciliation_id: uuid.UUID, city: str, day: Any, file_sha256: str,
                                    report: dict[str, Any], imported_by: str) -> None:
        await self.conn.execute(
            "INSERT INTO reconciliations(reconciliation_id, city, day, file_sha256, report, imported_by)"
            " VALUES ($1,$2,$3,$4,$5,$6)", reconciliation_id, city, day, file_sha256, report, imported_by)

    async def received_payments(self, city: str, start: datetime, end: datetime,
                                outcomes: Sequence[str]) -> Sequence[Row]:
        """Every payment we received (one row per acquirer reference) paid within [start, end)."""
        return await self.conn.fetch(
            "SELECT n.acquirer_reference, n.amount, n.outcome, i.order_id, i.payment_id"
            " FROM acquirer_notifications n JOIN payment_intents i ON i.payment_id = n.payment_id"
            " WHERE n.city = $1 AND n.paid_at >= $2 AND n.paid_at < $3 AND n.status = 'paid'"
            " AND n.outcome = ANY($4)", city, start, end, list(outcomes))
