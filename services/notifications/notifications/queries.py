"""The read side for the routes: what the simulator's phones received, a message's state, a person's settings."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.sealed import SealBroken, unseal


async def simulated_messages(conn: asyncpg.Connection, seal_key: str, *, phone: str | None, city: str | None,
                             limit: int = 100) -> list[dict[str, Any]]:
    """The simulator's inbox, oldest first; sealed texts (codes) opened for the developer's eyes only."""
    rows = await conn.fetch(
        "SELECT * FROM simulated_messages WHERE ($1::text IS NULL OR phone = $1) AND ($2::text IS NULL OR city = $2)"
        " ORDER BY seq DESC LIMIT $3", phone, city, limit)
    out = []
    for r in reversed(rows):
        text = r["text"]
        if r["sealed"]:
            try:
                text = unseal(seal_key, text, context=str(r["message_id"]))
            except SealBroken:
                text = "(tersegel)"
        out.append({"message_id": str(r["message_id"]), "city": r["city"], "phone": r["phone"],
                    "channel": r["channel"], "template": r["template"], "text": text,
                    "received_at": r["received_at"].isoformat()})
    return out


_STATE = ("SELECT message_id, city, template, channel, status, attempts, last_error, not_before, sent_at"
          " FROM messages")


def _state(row: asyncpg.Record) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, uuid.UUID) else v)
            for k, v in dict(row).items()}


async def message_state(conn: asyncpg.Connection, message_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(_STATE + " WHERE message_id = $1", message_id)
    return _state(row) if row is not None else None


async def messages_for_event(conn: asyncpg.Connection, event_id: uuid.UUID) -> list[dict[str, Any]]:
    return [_state(r) for r in await conn.fetch(_STATE + " WHERE event_id = $1 ORDER BY seq", event_id)]


async def settings_of(conn: asyncpg.Connection, city: str, account_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT a.phone, o.opted_out_at FROM accounts a LEFT JOIN opt_outs o ON o.city = $1 AND o.phone = a.phone"
        " WHERE a.account_id = $2", city, account_id)
    if row is None:
        return None
    return {"channel": "whatsapp", "fallback": "sms", "opted_out": row["opted_out_at"] is not None}



async def order_parties(conn: asyncpg.Connection, city: str, order_id: str) -> dict[str, Any] | None:
    """The buyer and the vendors of an order as notifications knows them (ids, names, phones)."""
    order = await conn.fetchrow("SELECT buyer_id, lines FROM orders WHERE city = $1 AND order_id = $2", city, order_id)
    if order is None:
        return None
    vendor_ids = sorted({line["vendor_id"] for line in order["lines"]})
    vendors = await conn.fetch("SELECT vendor_id, name, phone FROM vendors WHERE city = $1"
                               " AND vendor_id = ANY($2::text[]) ORDER BY name", city, vendor_ids)
    buyer_phone = await conn.fetchval("SELECT phone FROM accounts WHERE account_id = $1", order["buyer_id"])
    return {"buyer_id": order["buyer_id"], "buyer_phone": buyer_phone, "vendor_ids": set(vendor_ids),
            "vendors": [dict(v) for v in vendors]}
