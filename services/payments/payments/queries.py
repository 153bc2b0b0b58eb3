"""The read side for routes: one query each, no writes (``ctx.read(queries.fn, ...)``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from payments.domain import PAID_STATES
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
    """The day's reconciliation report (three queries whatever the volume); see ``settlement.report``."""
    start, end = day_bounds(city, day)
    paid_rows = await conn.fetch(
        "SELECT payment_id, amount, vendor_amounts FROM payment_intents"
        " WHERE city = $1 AND paid_at >= $2 AND paid_at < $3 AND status = ANY($4)",
        city.slug, start, end, [s.value for s in PAID_STATES])
    refund_rows = await conn.fetch(
        "SELECT refund_id, payment_id, order_id, amount, reason, source, vendor_amounts, counts_for_vendors,"
        " notification_id, created_at FROM refunds WHERE city = $1 AND created_at >= $2 AND created_at < $3"
        " ORDER BY created_at", city.slug, start, end)
    mismatch_rows = await conn.fetch(
        "SELECT m.id, m.kind, m.notification_id, m.payment_id, m.order_id, m.bill_number, m.expected, m.notified,"
        " m.acquirer_reference, m.detail, m.created_at FROM payment_mismatches m"
        " WHERE m.city = $1 AND m.created_at >= $2 AND m.created_at < $3 ORDER BY m.id", city.slug, start, end)
    return report(city, day, paid_rows, refund_rows, mismatch_rows)
