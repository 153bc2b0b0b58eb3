"""The read side for routes: one query each, no writes (``ctx.read(queries.fn, ...)``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from payments.settlement import day_bounds, report
from payments.store import INTENT_COLUMNS
from shared.cities import City


async def intent_by_order(conn: asyncpg.Connection, city: str, order_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE city = $1 AND order_id = $2",
                               city, order_id)


async def qris_of(conn: asyncpg.Connection, city: str, payment_id: uuid.UUID) -> str | None:
    return await conn.fetchval(
        "SELECT qris FROM payment_intents WHERE city = $1 AND payment_id = $2", city, payment_id)


async def settlement(conn: asyncpg.Connection, city: City, day: date) -> dict[str, Any]:
    """The day's settlement report (four queries whatever the volume); see ``settlement.report``."""
    start, end = day_bounds(city, day)
    payee_rows = await conn.fetch(
        "SELECT coalesce(p.vendor_id, '_other') AS vendor_id, e.kind, sum(p.amount) AS amount, count(*) AS n"
        " FROM ledger_postings p JOIN ledger_entries e USING (entry_id)"
        " WHERE p.city = $1 AND p.created_at >= $2 AND p.created_at < $3"
        " AND p.account IN ('vendor_payable', 'delivery_fees') GROUP BY 1, 2", city.slug, start, end)
    refund_rows = await conn.fetch(
        "SELECT refund_id, payment_id, order_id, amount, reason, source, vendor_amounts, counts_for_vendors,"
        " notification_id, created_at FROM refunds WHERE city = $1 AND created_at >= $2 AND created_at < $3"
        " ORDER BY created_at", city.slug, start, end)
    mismatch_rows = await conn.fetch(
        "SELECT m.id, m.kind, m.notification_id, m.payment_id, m.order_id, m.bill_number, m.expected, m.notified,"
        " m.acquirer_reference, m.detail, m.created_at FROM payment_mismatches m"
        " WHERE m.city = $1 AND m.created_at >= $2 AND m.created_at < $3 ORDER BY m.id", city.slug, start, end)
    names = await vendor_names(conn, city.slug)
    return report(city, day, payee_rows, refund_rows, mismatch_rows, names)


async def vendor_names(conn: asyncpg.Connection, city: str) -> dict[str, str]:
    return {r["vendor_id"]: r["name"] for r in await conn.fetch(
        "SELECT vendor_id, name FROM vendors WHERE city = $1", city)}


async def payout_run(conn: asyncpg.Connection, city: str, day: date) -> dict[str, Any] | None:
    """The day's run with its instructions, each with the vendor's name and payout account."""
    run = await conn.fetchrow("SELECT run_id, day, cutoff, created_by, created_at FROM payout_runs"
                              " WHERE city = $1 AND day = $2", city, day)
    if run is None:
        return None
    rows = await conn.fetch(
        "SELECT p.payout_id, p.vendor_id, v.name, p.amount, p.status, p.bank_reference, p.paid_at,"
        " a.bank_code, a.account_number, a.account_name FROM payouts p"
        " LEFT JOIN vendors v ON v.city = p.city AND v.vendor_id = p.vendor_id"
        " LEFT JOIN payout_accounts a ON a.city = p.city AND a.vendor_id = p.vendor_id"
        " WHERE p.run_id = $1 ORDER BY v.name NULLS LAST, p.vendor_id", run["run_id"])
    return {"run_id": str(run["run_id"]), "city": city, "date": run["day"].isoformat(),
            "cutoff": run["cutoff"].isoformat(), "created_by": run["created_by"],
            "created_at": run["created_at"].isoformat(), "total": sum(r["amount"] for r in rows),
            "payouts": [{"payout_id": str(r["payout_id"]), "vendor_id": r["vendor_id"], "name": r["name"],
                         "amount": r["amount"], "status": r["status"], "bank_reference": r["bank_reference"],
                         "paid_at": r["paid_at"].isoformat() if r["paid_at"] else None,
                         "bank_code": r["bank_code"], "account_number": r["account_number"],
                         "account_name": r["account_name"]} for r in rows]}


async def vendor_balance(conn: asyncpg.Connection, city: City, vendor_id: str, today: date) -> dict[str, Any]:
    """What the city owes the vendor now, today's sales and refunds, and their payouts (newest first)."""
    start, end = day_bounds(city, today)
    totals = await conn.fetchrow(
        "SELECT coalesce(-sum(p.amount), 0) AS balance,"
        " coalesce(-sum(p.amount) FILTER (WHERE e.kind = 'payment_received' AND p.created_at >= $3"
        "   AND p.created_at < $4), 0) AS sales_today,"
        " coalesce(sum(p.amount) FILTER (WHERE e.kind = 'refund_decided' AND p.created_at >= $3"
        "   AND p.created_at < $4), 0) AS refunds_today,"
        " coalesce(sum(p.amount) FILTER (WHERE e.kind = 'mdr_fee' AND p.created_at >= $3"
        "   AND p.created_at < $4), 0) AS fees_today"
        " FROM ledger_postings p JOIN ledger_entries e USING (entry_id)"
        " WHERE p.city = $1 AND p.vendor_id = $2 AND p.account = 'vendor_payable'", city.slug, vendor_id, start, end)
    name = await conn.fetchval("SELECT name FROM vendors WHERE city = $1 AND vendor_id = $2", city.slug, vendor_id)
    payouts = await conn.fetch(
        "SELECT p.payout_id, r.day, p.amount, p.status, p.bank_reference, p.paid_at FROM payouts p"
        " JOIN payout_runs r USING (run_id) WHERE p.city = $1 AND p.vendor_id = $2 ORDER BY r.day DESC LIMIT 60",
        city.slug, vendor_id)
    return {"vendor_id": vendor_id, "name": name, "date": today.isoformat(),
            "balance": int(totals["balance"]), "sales_today": int(totals["sales_today"]),
            "refunds_today": int(totals["refunds_today"]), "fees_today": int(totals["fees_today"]),
            "payouts": [{"payout_id": str(r["payout_id"]), "date": r["day"].isoformat(), "amount": r["amount"],
                         "status": r["status"], "bank_reference": r["bank_reference"]} for r in payouts]}


async def ledger_totals(conn: asyncpg.Connection, city: str) -> dict[str, Any]:
    """Every account's sum for the city, and the sum of all postings (zero, always)."""
    rows = await conn.fetch("SELECT account, sum(amount) AS amount FROM ledger_postings WHERE city = $1"
                            " GROUP BY account ORDER BY account", city)
    accounts = {r["account"]: int(r["amount"]) for r in rows}
    return {"city": city, "accounts": accounts, "sum": sum(accounts.values())}


async def simulated_settlements(conn: asyncpg.Connection, city: City, day: date) -> list[asyncpg.Record]:
    start, end = day_bounds(city, day)
    return list(await conn.fetch(
        "SELECT acquirer_reference, amount, fee, paid_at FROM simulator_settlements"
        " WHERE city = $1 AND paid_at >= $2 AND paid_at < $3 ORDER BY paid_at, acquirer_reference",
        city.slug, start, end))


async def latest_reconciliation(conn: asyncpg.Connection, city: str, day: date) -> dict[str, Any] | None:
    report = await conn.fetchval("SELECT report FROM reconciliations WHERE city = $1 AND day = $2"
                                 " ORDER BY created_at DESC LIMIT 1", city, day)
    return dict(report) if report is not None else None
