"""asyncpg queries on the orders schema only: the projections of catalog, and the order aggregate."""

from __future__ import annotations

from typing import Any

import asyncpg

from orders.domain import HubView, Line, LineStatus, Order, ProductView, Status


class StaleOrder(Exception):
    """Another transaction changed the order since it was loaded (optimistic concurrency)."""


# ------------------------------------------------------------------------------------------ projections

async def upsert_product(conn: asyncpg.Connection, city: str, p: Any, *, active: bool | None = None) -> None:
    """A full product snapshot (ProductListed / ProductUpdated); stock and availability when it carries them."""
    await conn.execute(
        """INSERT INTO product_view(product_id, city, vendor_id, market_id, name, category, unit, price,
                                    min_per_order, max_per_order, active, available, stock, delisted)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, true), coalesce($12, true), $13, false)
           ON CONFLICT (product_id) DO UPDATE SET
             city = EXCLUDED.city, vendor_id = EXCLUDED.vendor_id, market_id = EXCLUDED.market_id,
             name = EXCLUDED.name, category = EXCLUDED.category, unit = EXCLUDED.unit, price = EXCLUDED.price,
             min_per_order = EXCLUDED.min_per_order, max_per_order = EXCLUDED.max_per_order,
             active = coalesce($11, product_view.active), available = coalesce($12, product_view.available),
             stock = CASE WHEN $12::boolean IS NULL THEN product_view.stock ELSE $13 END,
             delisted = false, updated_at = now()""",
        p.product_id, city, p.vendor_id, p.market_id, p.name, p.category, p.unit, p.price,
        p.min_per_order, p.max_per_order, active, getattr(p, "available", None), getattr(p, "stock", None))


async def set_price(conn: asyncpg.Connection, product_id: str, price: int) -> None:
    await conn.execute("UPDATE product_view SET price = $2, updated_at = now() WHERE product_id = $1",
                       product_id, price)


async def set_stock(conn: asyncpg.Connection, product_id: str, stock: int | None, available: bool) -> None:
    await conn.execute("UPDATE product_view SET stock = $2, available = $3, updated_at = now()"
                       " WHERE product_id = $1", product_id, stock, available)


async def delist(conn: asyncpg.Connection, product_id: str) -> None:
    await conn.execute("UPDATE product_view SET delisted = true, updated_at = now() WHERE product_id = $1",
                       product_id)


async def upsert_market(conn: asyncpg.Connection, city: str, market_id: str, name: str, kelurahan: str | None,
                        active: bool) -> None:
    await conn.execute(
        """INSERT INTO market_view(market_id, city, name, kelurahan, active) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (market_id) DO UPDATE SET city = EXCLUDED.city, name = EXCLUDED.name,
             kelurahan = EXCLUDED.kelurahan, active = EXCLUDED.active, updated_at = now()""",
        market_id, city, name, kelurahan, active)


async def upsert_hub(conn: asyncpg.Connection, city: str, h: Any) -> None:
    await conn.execute(
        """INSERT INTO rw_hub_view(rw_hub_id, city, name, kelurahan, rw, address, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (rw_hub_id) DO UPDATE SET city = EXCLUDED.city, name = EXCLUDED.name,
             kelurahan = EXCLUDED.kelurahan, rw = EXCLUDED.rw, address = EXCLUDED.address,
             active = EXCLUDED.active, updated_at = now()""",
        h.rw_hub_id, city, h.name, h.kelurahan, h.rw, h.address, h.active)


async def set_vendor(conn: asyncpg.Connection, city: str, vendor_id: str, *, suspended: bool,
                     market_id: str | None = None, name: str | None = None) -> None:
    await conn.execute(
        """INSERT INTO vendor_view(vendor_id, city, market_id, name, suspended) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (vendor_id) DO UPDATE SET suspended = EXCLUDED.suspended,
             market_id = coalesce(EXCLUDED.market_id, vendor_view.market_id),
             name = coalesce(EXCLUDED.name, vendor_view.name), updated_at = now()""",
        vendor_id, city, market_id, name, suspended)


async def products(conn: asyncpg.Connection, product_ids: list[str]) -> dict[str, ProductView]:
    rows = await conn.fetch(
        """SELECT p.*, coalesce(v.suspended, false) AS vendor_suspended
             FROM product_view p LEFT JOIN vendor_view v USING (vendor_id)
            WHERE p.product_id = ANY($1::text[])""", product_ids)
    return {r["product_id"]: ProductView(
        product_id=r["product_id"], city=r["city"], vendor_id=r["vendor_id"], market_id=r["market_id"],
        name=r["name"], unit=r["unit"], price=int(r["price"]), min_per_order=r["min_per_order"],
        max_per_order=r["max_per_order"],
        sellable=r["active"] and r["available"] and not r["delisted"] and not r["vendor_suspended"])
        for r in rows}


async def market_known(conn: asyncpg.Connection, city: str, market_id: str) -> bool:
    """A market orders heard of (MarketOpened), or — if that event has not arrived — one that has products."""
    row = await conn.fetchrow("SELECT city, active FROM market_view WHERE market_id = $1", market_id)
    if row is not None:
        return bool(row["city"] == city and row["active"])
    return bool(await conn.fetchval("SELECT true FROM product_view WHERE city = $1 AND market_id = $2 LIMIT 1",
                                    city, market_id))


async def hub(conn: asyncpg.Connection, rw_hub_id: str | None) -> HubView | None:
    if not rw_hub_id:
        return None
    row = await conn.fetchrow("SELECT rw_hub_id, city, active FROM rw_hub_view WHERE rw_hub_id = $1", rw_hub_id)
    return HubView(row["rw_hub_id"], row["city"], row["active"]) if row else None


# ------------------------------------------------------------------------------------------- orders

ORDER_COLUMNS = ("order_id, city, buyer_id, market_id, status, version, fulfilment, rw_hub_id, delivery_address,"
                 " subtotal, delivery_fee, total, payment_id, qris, payment_expires_at, paid_amount,"
                 " refund_requested, refunded_amount, extra_refunded, pickup_code, pickup_attempts, cancel_reason,"
                 " stuck_since, created_at, updated_at")


def _order(row: asyncpg.Record, lines: list[asyncpg.Record]) -> Order:
    order = Order(
        order_id=row["order_id"], city=row["city"], buyer_id=row["buyer_id"], market_id=row["market_id"],
        fulfilment=row["fulfilment"], delivery_fee=int(row["delivery_fee"]), rw_hub_id=row["rw_hub_id"],
        delivery_address=row["delivery_address"], status=Status(row["status"]), version=row["version"],
        loaded_version=row["version"], payment_id=row["payment_id"], qris=row["qris"],
        payment_expires_at=row["payment_expires_at"], paid_amount=int(row["paid_amount"]),
        refund_requested=int(row["refund_requested"]), refunded_amount=int(row["refunded_amount"]),
        extra_refunded=int(row["extra_refunded"]), pickup_code=row["pickup_code"],
        pickup_attempts=row["pickup_attempts"], cancel_reason=row["cancel_reason"], created_at=row["created_at"],
        lines=[Line(line_id=r["line_id"], product_id=r["product_id"], vendor_id=r["vendor_id"], name=r["name"],
                    unit=r["unit"], quantity=r["quantity"], unit_price=int(r["unit_price"]), note=r["note"],
                    status=LineStatus(r["status"])) for r in lines])
    order.loaded_line_status = {li.line_id: li.status for li in order.lines}
    return order


async def load(conn: asyncpg.Connection, order_id: str, *, for_update: bool = False) -> Order | None:
    row = await conn.fetchrow(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
                              + (" FOR UPDATE" if for_update else ""), order_id)
    if row is None:
        return None
    lines = await conn.fetch("SELECT * FROM order_lines WHERE order_id = $1 ORDER BY line_id", order_id)
    return _order(row, sorted(lines, key=lambda r: (len(r["line_id"]), r["line_id"])))


async def record(conn: asyncpg.Connection, order_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1", order_id)


async def insert(conn: asyncpg.Connection, order: Order) -> None:
    await conn.execute(
        """INSERT INTO orders(order_id, city, buyer_id, market_id, status, version, fulfilment, rw_hub_id,
                              delivery_address, subtotal, delivery_fee, total)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        order.order_id, order.city, order.buyer_id, order.market_id, order.status.value, order.version,
        order.fulfilment, order.rw_hub_id, order.delivery_address, order.subtotal, order.delivery_fee, order.total)
    await conn.executemany(
        """INSERT INTO order_lines(order_id, line_id, city, product_id, vendor_id, name, unit, quantity,
                                   unit_price, note, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        [(order.order_id, li.line_id, order.city, li.product_id, li.vendor_id, li.name, li.unit, li.quantity,
          li.unit_price, li.note, li.status.value) for li in order.lines])
    await _history(conn, order)


async def save(conn: asyncpg.Connection, order: Order) -> None:
    """Write a changed order: ``UPDATE … WHERE version = <loaded>`` so a concurrent change is never lost."""
    if not order.changed:
        return
    status_changed = any(h[0] != h[1] for h in order.history)
    done = await conn.fetchval(
        """UPDATE orders SET status = $3, version = $4, payment_id = $5, qris = $6, payment_expires_at = $7,
                  paid_amount = $8, refund_requested = $9, refunded_amount = $10, pickup_code = $11,
                  pickup_attempts = $12, cancel_reason = $13, updated_at = now(),
                  state_changed_at = CASE WHEN $14 THEN now() ELSE state_changed_at END,
                  stuck_since = CASE WHEN $14 THEN NULL ELSE stuck_since END, extra_refunded = $15
            WHERE order_id = $1 AND version = $2 RETURNING true""",
        order.order_id, order.loaded_version, order.status.value, order.version, order.payment_id, order.qris,
        order.payment_expires_at, order.paid_amount, order.refund_requested, order.refunded_amount,
        order.pickup_code, order.pickup_attempts, order.cancel_reason, status_changed, order.extra_refunded)
    if not done:
        raise StaleOrder(order.order_id)
    changed_lines = [li for li in order.lines if order.loaded_line_status.get(li.line_id) != li.status]
    if changed_lines:
        await conn.executemany("UPDATE order_lines SET status = $3 WHERE order_id = $1 AND line_id = $2",
                               [(order.order_id, li.line_id, li.status.value) for li in changed_lines])
    await _history(conn, order)


async def _history(conn: asyncpg.Connection, order: Order) -> None:
    if order.history:
        await conn.executemany(
            "INSERT INTO order_history(order_id, city, from_status, to_status, cause) VALUES ($1, $2, $3, $4, $5)",
            [(order.order_id, order.city, f.value if f else None, t.value, cause) for f, t, cause in order.history])
        order.history.clear()
    order.loaded_version = order.version
    order.loaded_line_status = {li.line_id: li.status for li in order.lines}


async def buyer_orders(conn: asyncpg.Connection, city: str, buyer_id: str, limit: int) -> list[Order]:
    ids = await conn.fetch("SELECT order_id FROM orders WHERE city = $1 AND buyer_id = $2"
                           " ORDER BY created_at DESC LIMIT $3", city, buyer_id, limit)
    return [o for r in ids if (o := await load(conn, r["order_id"])) is not None]


async def vendor_orders(conn: asyncpg.Connection, city: str, vendor_id: str, status: str | None,
                        limit: int) -> list[Order]:
    ids = await conn.fetch(
        """SELECT o.order_id FROM orders o
            WHERE o.city = $1 AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id
                                                                  AND l.vendor_id = $2)
              AND ($3::text IS NULL OR o.status = $3)
              AND o.status NOT IN ('placed', 'stock_reserved', 'rejected')
            ORDER BY o.created_at DESC LIMIT $4""", city, vendor_id, status, limit)
    return [o for r in ids if (o := await load(conn, r["order_id"])) is not None]


async def history(conn: asyncpg.Connection, order_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT from_status, to_status, cause, at FROM order_history WHERE order_id = $1"
                            " ORDER BY id", order_id)
    return [dict(r) for r in rows]
