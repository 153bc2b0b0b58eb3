"""The read side for the routes: pages of orders and one order with its history, in a constant number of
queries (one for the orders, one for all their lines) whatever the page size — never one query per order.

``async def fn(conn, city, ...)``, run by ``ctx.read(...)`` on a plain connection (no transaction).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from orders.domain import Order
from orders.store import LINE_COLUMNS, ORDER_COLUMNS, order_of

# Statuses a vendor does not see yet (nothing to prepare before payment) or ever (rejected at reservation).
NOT_FOR_VENDORS = ("placed", "stock_reserved", "rejected")


async def buyer_orders(conn: asyncpg.Connection, city: str, buyer_id: str, limit: int) -> list[Order]:
    """The buyer's newest orders in the city."""
    rows = await conn.fetch(f"SELECT {ORDER_COLUMNS} FROM orders WHERE city = $1 AND buyer_id = $2"
                            " ORDER BY created_at DESC LIMIT $3", city, buyer_id, limit)
    return await _with_lines(conn, rows)


async def staff_orders(conn: asyncpg.Connection, city: str, market_id: str | None, limit: int) -> list[Order]:
    """The city's newest orders, or one market's (``market_id``)."""
    rows = await conn.fetch(f"SELECT {ORDER_COLUMNS} FROM orders WHERE city = $1"
                            " AND ($2::text IS NULL OR market_id = $2) ORDER BY created_at DESC LIMIT $3",
                            city, market_id, limit)
    return await _with_lines(conn, rows)


async def vendor_orders(conn: asyncpg.Connection, city: str, vendor_id: str, status: str | None,
                        limit: int) -> list[Order]:
    """Orders with a line of this vendor, from ``awaiting_payment`` on (optionally of one ``status``)."""
    rows = await conn.fetch(
        f"""SELECT {ORDER_COLUMNS} FROM orders o
             WHERE o.city = $1 AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id
                                                                   AND l.vendor_id = $2)
               AND ($3::text IS NULL OR o.status = $3)
               AND o.status <> ALL($5::text[])
             ORDER BY o.created_at DESC LIMIT $4""", city, vendor_id, status, limit, list(NOT_FOR_VENDORS))
    return await _with_lines(conn, rows)


async def order_detail(conn: asyncpg.Connection, city: str, order_id: str
                       ) -> tuple[Order, list[dict[str, Any]]] | None:
    """One order of the city with its history (oldest first), or None."""
    row = await conn.fetchrow(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1 AND city = $2",
                              order_id, city)
    if row is None:
        return None
    [order] = await _with_lines(conn, [row])
    history = await conn.fetch("SELECT from_status, to_status, cause, at FROM order_history WHERE order_id = $1"
                               " ORDER BY id", order_id)
    return order, [dict(h) for h in history]


async def _with_lines(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[Order]:
    """The aggregates of ``rows`` (in their order), with every line fetched in one query."""
    if not rows:
        return []
    lines = await conn.fetch(f"SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id = ANY($1::text[])",
                             [r["order_id"] for r in rows])
    by_order: dict[str, list[asyncpg.Record]] = {}
    for line in lines:
        by_order.setdefault(line["order_id"], []).append(line)
    return [order_of(r, by_order.get(r["order_id"], [])) for r in rows]


async def courier_orders(conn: asyncpg.Connection, city: str, market_id: str, courier_id: str) -> list[Order]:
    """The market's ready delivery orders nobody took, and this courier's own ready or on-the-way ones."""
    rows = await conn.fetch(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE city = $1 AND market_id = $2 AND fulfilment = 'delivery'"
        " AND ((status = 'ready' AND courier_id IS NULL) OR (courier_id = $3 AND status IN ('ready',"
        " 'out_for_delivery'))) ORDER BY slot_date NULLS LAST, slot_window, created_at LIMIT 100",
        city, market_id, courier_id)
    return await _with_lines(conn, rows)


async def market_audit(conn: asyncpg.Connection, city: str, market_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """Audit entries of the orders of one market (the market is in each entry's ``after``), newest first."""
    rows = await conn.fetch(
        "SELECT id, at, actor, actor_roles, entity, entity_id, action, before, after FROM audit_log"
        " WHERE city = $1 AND entity = 'order' AND (after #>> '{}')::jsonb ->> 'market_id' = $2"
        " ORDER BY id DESC LIMIT $3",
        city, market_id, limit)
    return [{**dict(r), "actor_roles": list(r["actor_roles"]),
             "before": _audit_json(r["before"]), "after": _audit_json(r["after"])} for r in rows]


def _audit_json(value: Any) -> Any:
    """An audit side as a dict: ``shared.audit.write`` stores it JSON-encoded inside the jsonb (so the pool's
    codec hands back a string), read either way."""
    return json.loads(value) if isinstance(value, str) else value
