"""asyncpg queries on the ``payments`` schema only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from payments.domain import Intent, Status

INTENT_COLUMNS = ("payment_id, city, order_id, buyer_id, amount, vendor_amounts, merchant_name, qris, bill_number,"
                  " reference_label, status, expires_at, paid_at, acquirer_reference, refunded_amount,"
                  " correlation_id, created_at")


def to_intent(row: asyncpg.Record) -> Intent:
    return Intent(payment_id=row["payment_id"], order_id=row["order_id"], amount=row["amount"],
                  status=Status(row["status"]), expires_at=row["expires_at"],
                  refunded_amount=row["refunded_amount"], acquirer_reference=row["acquirer_reference"])


async def insert_intent(conn: asyncpg.Connection, *, payment_id: uuid.UUID, city: str, order_id: str,
                        buyer_id: str, amount: int, vendor_amounts: dict[str, int], merchant: dict[str, Any],
                        merchant_name: str, qris: str | None, bill_number: str, reference_label: str,
                        status: str, failure_reason: str | None, expires_at: datetime,
                        correlation_id: str) -> bool:
    """Insert unless the order already has an intent; True when inserted."""
    inserted = await conn.fetchval(
        "INSERT INTO payment_intents(payment_id, city, order_id, buyer_id, amount, vendor_amounts, merchant,"
        " merchant_name, qris, bill_number, reference_label, status, failure_reason, expires_at, correlation_id)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
        " ON CONFLICT (city, order_id) DO NOTHING RETURNING true",
        payment_id, city, order_id, buyer_id, amount, vendor_amounts, merchant, merchant_name, qris, bill_number,
        reference_label, status, failure_reason, expires_at, correlation_id)
    return bool(inserted)


async def intent_by_order(conn: asyncpg.Connection, city: str, order_id: str, *,
                          for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE city = $1 AND order_id = $2"
                               + lock, city, order_id)


async def intent_by_id(conn: asyncpg.Connection, city: str, payment_id: uuid.UUID, *,
                       for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE city = $1 AND payment_id = $2"
                               + lock, city, payment_id)


async def intent_by_bill(conn: asyncpg.Connection, city: str, bill_number: str, *,
                         for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {INTENT_COLUMNS} FROM payment_intents WHERE city = $1 AND bill_number = $2"
                               + lock, city, bill_number)


async def qris_of(conn: asyncpg.Connection, city: str, payment_id: uuid.UUID) -> str | None:
    return await conn.fetchval("SELECT qris FROM payment_intents WHERE city = $1 AND payment_id = $2",
                               city, payment_id)


async def save_intent_state(conn: asyncpg.Connection, intent: Intent) -> None:
    await conn.execute("UPDATE payment_intents SET status = $2, refunded_amount = $3, updated_at = now()"
                       " WHERE payment_id = $1", intent.payment_id, intent.status.value, intent.refunded_amount)


async def insert_refund(conn: asyncpg.Connection, *, refund_id: uuid.UUID, city: str, payment_id: uuid.UUID,
                        order_id: str, amount: int, reason: str, source: str, dedupe_key: str,
                        vendor_amounts: dict[str, int], counts_for_vendors: bool, notification_id: int | None,
                        acquirer_refund_reference: str) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO refunds(refund_id, city, payment_id, order_id, amount, reason, source, dedupe_key,"
        " vendor_amounts, counts_for_vendors, notification_id, acquirer_refund_reference)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT (city, dedupe_key) DO NOTHING RETURNING true",
        refund_id, city, payment_id, order_id, amount, reason, source, dedupe_key, vendor_amounts,
        counts_for_vendors, notification_id, acquirer_refund_reference)
    return bool(inserted)


async def refund_by_dedupe(conn: asyncpg.Connection, city: str, dedupe_key: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM refunds WHERE city = $1 AND dedupe_key = $2", city, dedupe_key)


async def insert_mismatch(conn: asyncpg.Connection, *, city: str, kind: str, notification_id: int | None,
                          payment_id: uuid.UUID | None, order_id: str | None, bill_number: str | None,
                          expected: int | None, notified: int | None, acquirer_reference: str | None,
                          detail: str | None) -> None:
    await conn.execute(
        "INSERT INTO payment_mismatches(city, kind, notification_id, payment_id, order_id, bill_number, expected,"
        " notified, acquirer_reference, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        city, kind, notification_id, payment_id, order_id, bill_number, expected, notified, acquirer_reference,
        detail)


# -- the webhook's single durable write ------------------------------------------------------------------

async def store_notification(conn: asyncpg.Connection, *, city: str, request_id: str, body: str, body_sha256: str,
                             bill_number: str, amount: int, acquirer_reference: str, paid_at: datetime,
                             status: str) -> asyncpg.Record | None:
    """One INSERT (autocommit) of a notification for a known intent. None when the request id is a replay or
    the bill number is unknown (the caller tells which)."""
    return await conn.fetchrow(
        "INSERT INTO acquirer_notifications(city, request_id, body, body_sha256, bill_number, amount,"
        " acquirer_reference, paid_at, status)"
        " SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9"
        " WHERE EXISTS (SELECT 1 FROM payment_intents WHERE city = $1 AND bill_number = $5)"
        " ON CONFLICT (city, request_id) DO NOTHING RETURNING id, received_at",
        city, request_id, body, body_sha256, bill_number, amount, acquirer_reference, paid_at, status)


async def notification_by_request(conn: asyncpg.Connection, city: str, request_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, received_at, body_sha256 FROM acquirer_notifications"
                               " WHERE city = $1 AND request_id = $2", city, request_id)
