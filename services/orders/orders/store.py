"""The write side of the orders schema: catalog's projections and the order aggregate. SQL lives here and in
``queries.py`` only.

``OrdersStore(conn)`` is built by the kernel for every unit of work (``ServiceKernel(store=OrdersStore)``), on
the connection of that unit's transaction; use cases reach it as ``uow.store``.

Every projection write is scoped to the city of the event's envelope: an update matches ``city = $city`` and
an upsert never moves a row to another city (``ON CONFLICT … DO UPDATE … WHERE <view>.city =
EXCLUDED.city``), so an event sent for one city can never rewrite another city's product, market, hub or
vendor — whatever ids it carries.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from orders.domain import HubView, Line, LineStatus, Order, ProductView, Status


class StaleOrder(Exception):
    """Another transaction changed the order since it was loaded (optimistic concurrency)."""


ORDER_COLUMNS = ("order_id, city, buyer_id, market_id, status, version, fulfilment, rw_hub_id, delivery_address,"
                 " subtotal, delivery_fee, total, payment_id, qris, payment_expires_at, paid_amount,"
                 " refund_requested, refunded_amount, extra_refunded, pickup_code, pickup_attempts, cancel_reason,"
                 " stuck_since, created_at, updated_at, delivery, courier_id, courier_name, courier_phone,"
                 " delivery_attempts, delivery_failure")
LINE_COLUMNS = "order_id, line_id, product_id, vendor_id, name, unit, quantity, unit_price, note, status, sold_by"


def order_of(row: asyncpg.Record, lines: list[asyncpg.Record]) -> Order:
    """The aggregate from its ``orders`` row and its ``order_lines`` rows (any order; sorted L1, L2, … L10)."""
    order = Order(
        order_id=row["order_id"], city=row["city"], buyer_id=row["buyer_id"], market_id=row["market_id"],
        fulfilment=row["fulfilment"], delivery_fee=int(row["delivery_fee"]), rw_hub_id=row["rw_hub_id"],
        delivery_address=row["delivery_address"], status=Status(row["status"]), version=row["version"],
        loaded_version=row["version"], payment_id=row["payment_id"], qris=row["qris"],
        payment_expires_at=row["payment_expires_at"], paid_amount=int(row["paid_amount"]),
        refund_requested=int(row["refund_requested"]), refunded_amount=int(row["refunded_amount"]),
        extra_refunded=int(row["extra_refunded"]), pickup_code=row["pickup_code"],
        pickup_attempts=row["pickup_attempts"], cancel_reason=row["cancel_reason"], created_at=row["created_at"],
        delivery=row["delivery"], courier_id=row["courier_id"], courier_name=row["courier_name"],
        courier_phone=row["courier_phone"], delivery_attempts=row["delivery_attempts"],
        delivery_failure=row["delivery_failure"],
        lines=[Line(line_id=r["line_id"], product_id=r["product_id"], vendor_id=r["vendor_id"], name=r["name"],
                    unit=r["unit"], quantity=r["quantity"], unit_price=int(r["unit_price"]), note=r["note"],
                    status=LineStatus(r["status"]), sold_by=r["sold_by"])
               for r in sorted(lines, key=lambda r: (len(r["line_id"]), r["line_id"]))])
    order.loaded_line_status = {li.line_id: li.status for li in order.lines}
    return order


class OrdersStore:
    """Writes and aggregate loads on one connection (inside the unit of work's transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------------------------ projections

    async def upsert_product(self, city: str, p: Any, *, active: bool | None = None) -> bool:
        """A full product snapshot (ProductListed / ProductUpdated); stock and availability when it carries
        them. False when the product id belongs to another city (nothing written)."""
        status = await self.conn.execute(
            """INSERT INTO product_view(product_id, city, vendor_id, market_id, name, category, unit, price,
                                        min_per_order, max_per_order, active, available, stock, delisted, sold_by,
                                        step_grams)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, true), coalesce($12, true), $13, false,
                       $14, $15)
               ON CONFLICT (product_id) DO UPDATE SET
                 vendor_id = EXCLUDED.vendor_id, market_id = EXCLUDED.market_id,
                 name = EXCLUDED.name, category = EXCLUDED.category, unit = EXCLUDED.unit, price = EXCLUDED.price,
                 sold_by = EXCLUDED.sold_by, step_grams = EXCLUDED.step_grams,
                 min_per_order = EXCLUDED.min_per_order, max_per_order = EXCLUDED.max_per_order,
                 active = coalesce($11, product_view.active), available = coalesce($12, product_view.available),
                 stock = CASE WHEN $12::boolean IS NULL THEN product_view.stock ELSE $13 END,
                 delisted = false, updated_at = now()
               WHERE product_view.city = EXCLUDED.city""",
            p.product_id, city, p.vendor_id, p.market_id, p.name, p.category, p.unit, p.price,
            p.min_per_order, p.max_per_order, active, getattr(p, "available", None), getattr(p, "stock", None),
            p.sold_by, p.step_grams)
        return _touched(status)

    async def put_product_state(self, city: str, p: Any) -> bool:
        """The whole product from catalog's state topic: delisted when not active; available only with stock
        left (the availability catalog's StockAdjusted carries). False for another city's product."""
        available = bool(p.available) and (p.stock is None or p.stock > 0)
        if not await self.upsert_product(city, p, active=p.active):
            return False
        return _touched(await self.conn.execute(
            "UPDATE product_view SET available = $3, stock = $4, delisted = NOT $5 WHERE product_id = $1 AND city = $2",
            p.product_id, city, available, p.stock, p.active))

    async def set_price(self, city: str, product_id: str, price: int) -> bool:
        return _touched(await self.conn.execute(
            "UPDATE product_view SET price = $3, updated_at = now() WHERE product_id = $1 AND city = $2",
            product_id, city, price))

    async def set_stock(self, city: str, product_id: str, stock: int | None, available: bool) -> bool:
        return _touched(await self.conn.execute(
            "UPDATE product_view SET stock = $3, available = $4, updated_at = now()"
            " WHERE product_id = $1 AND city = $2", product_id, city, stock, available))

    async def delist(self, city: str, product_id: str) -> bool:
        return _touched(await self.conn.execute(
            "UPDATE product_view SET delisted = true, updated_at = now() WHERE product_id = $1 AND city = $2",
            product_id, city))

    async def upsert_market(self, city: str, market_id: str, name: str, kelurahan: str | None,
                            active: bool) -> bool:
        return _touched(await self.conn.execute(
            """INSERT INTO market_view(market_id, city, name, kelurahan, active) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (market_id) DO UPDATE SET name = EXCLUDED.name, kelurahan = EXCLUDED.kelurahan,
                 active = EXCLUDED.active, updated_at = now()
               WHERE market_view.city = EXCLUDED.city""",
            market_id, city, name, kelurahan, active))

    async def upsert_hub(self, city: str, h: Any) -> bool:
        return _touched(await self.conn.execute(
            """INSERT INTO rw_hub_view(rw_hub_id, city, name, kelurahan, rw, address, active)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (rw_hub_id) DO UPDATE SET name = EXCLUDED.name, kelurahan = EXCLUDED.kelurahan,
                 rw = EXCLUDED.rw, address = EXCLUDED.address, active = EXCLUDED.active, updated_at = now()
               WHERE rw_hub_view.city = EXCLUDED.city""",
            h.rw_hub_id, city, h.name, h.kelurahan, h.rw, h.address, h.active))

    async def set_vendor(self, city: str, vendor_id: str, *, suspended: bool, market_id: str | None = None,
                         name: str | None = None) -> bool:
        return _touched(await self.conn.execute(
            """INSERT INTO vendor_view(vendor_id, city, market_id, name, suspended) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (vendor_id) DO UPDATE SET suspended = EXCLUDED.suspended,
                 market_id = coalesce(EXCLUDED.market_id, vendor_view.market_id),
                 name = coalesce(EXCLUDED.name, vendor_view.name), updated_at = now()
               WHERE vendor_view.city = EXCLUDED.city""",
            vendor_id, city, market_id, name, suspended))

    # ------------------------------------------------------------------------- what checkout reads

    async def products(self, city: str, product_ids: list[str]) -> dict[str, ProductView]:
        rows = await self.conn.fetch(
            """SELECT p.*, coalesce(v.suspended, false) AS vendor_suspended
                 FROM product_view p LEFT JOIN vendor_view v ON v.vendor_id = p.vendor_id AND v.city = p.city
                WHERE p.product_id = ANY($1::text[]) AND p.city = $2""", product_ids, city)
        return {r["product_id"]: ProductView(
            product_id=r["product_id"], city=r["city"], vendor_id=r["vendor_id"], market_id=r["market_id"],
            name=r["name"], unit=r["unit"], price=int(r["price"]), min_per_order=r["min_per_order"],
            max_per_order=r["max_per_order"], sold_by=r["sold_by"], step_grams=r["step_grams"], stock=r["stock"],
            sellable=r["active"] and r["available"] and not r["delisted"] and not r["vendor_suspended"])
            for r in rows}

    async def market_known(self, city: str, market_id: str) -> bool:
        """A market orders heard of (MarketOpened), or — if that event has not arrived — one with products."""
        row = await self.conn.fetchrow("SELECT city, active FROM market_view WHERE market_id = $1", market_id)
        if row is not None:
            return bool(row["city"] == city and row["active"])
        return bool(await self.conn.fetchval(
            "SELECT true FROM product_view WHERE city = $1 AND market_id = $2 LIMIT 1", city, market_id))

    async def hub(self, rw_hub_id: str | None) -> HubView | None:
        if not rw_hub_id:
            return None
        row = await self.conn.fetchrow("SELECT rw_hub_id, city, active FROM rw_hub_view WHERE rw_hub_id = $1",
                                       rw_hub_id)
        return HubView(row["rw_hub_id"], row["city"], row["active"]) if row else None

    # ------------------------------------------------------------------------------------- orders

    async def load(self, order_id: str, *, for_update: bool = False) -> Order | None:
        row = await self.conn.fetchrow(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1"
                                       + (" FOR UPDATE" if for_update else ""), order_id)
        if row is None:
            return None
        lines = await self.conn.fetch(f"SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id = $1", order_id)
        return order_of(row, lines)

    async def load_many(self, order_ids: list[str], *, for_update: bool = False) -> dict[str, Order]:
        """Many orders with their lines in two queries (a polled batch of the saga); locked in id order, so two
        transactions never wait on each other's rows in a cycle."""
        ids = sorted(set(order_ids))
        rows = await self.conn.fetch(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ANY($1::text[])"
                                     " ORDER BY order_id" + (" FOR UPDATE" if for_update else ""), ids)
        if not rows:
            return {}
        lines: dict[str, list[asyncpg.Record]] = {}
        for r in await self.conn.fetch(f"SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id = ANY($1::text[])",
                                       [r["order_id"] for r in rows]):
            lines.setdefault(r["order_id"], []).append(r)
        return {r["order_id"]: order_of(r, lines.get(r["order_id"], [])) for r in rows}

    async def save_many(self, orders: list[Order]) -> None:
        """Write changed orders with one statement per table (``unnest``), each guarded by the version it was
        loaded at, as :meth:`save` does one by one: a concurrent change is never lost (``StaleOrder``)."""
        changed = [o for o in orders if o.changed]
        if not changed:
            return
        cols: list[list[Any]] = [[] for _ in range(20)]
        for o in changed:
            values = (o.order_id, o.loaded_version, o.status.value, o.version, o.payment_id, o.qris,
                      o.payment_expires_at, o.paid_amount, o.refund_requested, o.refunded_amount, o.pickup_code,
                      o.pickup_attempts, o.cancel_reason, any(h[0] != h[1] for h in o.history), o.extra_refunded,
                      o.courier_id, o.courier_name, o.courier_phone, o.delivery_attempts, o.delivery_failure)
            for column, value in zip(cols, values, strict=True):
                column.append(value)
        done = await self.conn.fetch(
            """UPDATE orders AS o SET status = u.status, version = u.version, payment_id = u.payment_id,
                      qris = u.qris, payment_expires_at = u.payment_expires_at, paid_amount = u.paid_amount,
                      refund_requested = u.refund_requested, refunded_amount = u.refunded_amount,
                      pickup_code = u.pickup_code, pickup_attempts = u.pickup_attempts,
                      cancel_reason = u.cancel_reason, updated_at = now(),
                      state_changed_at = CASE WHEN u.status_changed THEN now() ELSE o.state_changed_at END,
                      stuck_since = CASE WHEN u.status_changed THEN NULL ELSE o.stuck_since END,
                      extra_refunded = u.extra_refunded, courier_id = u.courier_id, courier_name = u.courier_name,
                      courier_phone = u.courier_phone, delivery_attempts = u.delivery_attempts,
                      delivery_failure = u.delivery_failure
                 FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::text[], $6::text[],
                             $7::timestamptz[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[], $12::int[],
                             $13::text[], $14::bool[], $15::bigint[], $16::text[], $17::text[], $18::text[],
                             $19::int[], $20::text[])
                      AS u(order_id, loaded_version, status, version, payment_id, qris, payment_expires_at,
                           paid_amount, refund_requested, refunded_amount, pickup_code, pickup_attempts,
                           cancel_reason, status_changed, extra_refunded, courier_id, courier_name, courier_phone,
                           delivery_attempts, delivery_failure)
                WHERE o.order_id = u.order_id AND o.version = u.loaded_version
            RETURNING o.order_id""", *cols)
        if len(done) != len(changed):
            written = {r["order_id"] for r in done}
            raise StaleOrder(next(o.order_id for o in changed if o.order_id not in written))
        lines = [(o.order_id, li.line_id, li.status.value) for o in changed for li in o.lines
                 if o.loaded_line_status.get(li.line_id) != li.status]
        if lines:
            await self.conn.execute(
                "UPDATE order_lines AS l SET status = u.status"
                " FROM unnest($1::text[], $2::text[], $3::text[]) AS u(order_id, line_id, status)"
                " WHERE l.order_id = u.order_id AND l.line_id = u.line_id",
                [x[0] for x in lines], [x[1] for x in lines], [x[2] for x in lines])
        history = [(o.order_id, o.city, f.value if f else None, t.value, cause)
                   for o in changed for f, t, cause in o.history]
        if history:
            await self.conn.execute(
                "INSERT INTO order_history(order_id, city, from_status, to_status, cause)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])",
                *[[h[i] for h in history] for i in range(5)])
        for o in changed:
            o.history.clear()
            o.loaded_version = o.version
            o.loaded_line_status = {li.line_id: li.status for li in o.lines}

    async def insert(self, order: Order) -> None:
        await self.conn.execute(
            """INSERT INTO orders(order_id, city, buyer_id, market_id, status, version, fulfilment, rw_hub_id,
                                  delivery_address, subtotal, delivery_fee, total, delivery, slot_date, slot_window)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text::date, $15)""",
            order.order_id, order.city, order.buyer_id, order.market_id, order.status.value, order.version,
            order.fulfilment, order.rw_hub_id, order.delivery_address, order.subtotal, order.delivery_fee,
            order.total, order.delivery, (order.delivery or {}).get("slot_date"),
            (order.delivery or {}).get("slot_window"))
        await self.conn.executemany(
            """INSERT INTO order_lines(order_id, line_id, city, product_id, vendor_id, name, unit, quantity,
                                       unit_price, note, status, sold_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            [(order.order_id, li.line_id, order.city, li.product_id, li.vendor_id, li.name, li.unit, li.quantity,
              li.unit_price, li.note, li.status.value, li.sold_by) for li in order.lines])
        await self._history(order)

    async def save(self, order: Order) -> None:
        """Write a changed order: ``UPDATE … WHERE version = <loaded>`` so a concurrent change is never lost."""
        if not order.changed:
            return
        status_changed = any(h[0] != h[1] for h in order.history)
        done = await self.conn.fetchval(
            """UPDATE orders SET status = $3, version = $4, payment_id = $5, qris = $6, payment_expires_at = $7,
                      paid_amount = $8, refund_requested = $9, refunded_amount = $10, pickup_code = $11,
                      pickup_attempts = $12, cancel_reason = $13, updated_at = now(),
                      state_changed_at = CASE WHEN $14 THEN now() ELSE state_changed_at END,
                      stuck_since = CASE WHEN $14 THEN NULL ELSE stuck_since END, extra_refunded = $15,
                      courier_id = $16, courier_name = $17, courier_phone = $18, delivery_attempts = $19,
                      delivery_failure = $20
                WHERE order_id = $1 AND version = $2 RETURNING true""",
            order.order_id, order.loaded_version, order.status.value, order.version, order.payment_id, order.qris,
            order.payment_expires_at, order.paid_amount, order.refund_requested, order.refunded_amount,
            order.pickup_code, order.pickup_attempts, order.cancel_reason, status_changed, order.extra_refunded,
            order.courier_id, order.courier_name, order.courier_phone, order.delivery_attempts,
            order.delivery_failure)
        if not done:
            raise StaleOrder(order.order_id)
        changed_lines = [li for li in order.lines if order.loaded_line_status.get(li.line_id) != li.status]
        if changed_lines:
            await self.conn.executemany("UPDATE order_lines SET status = $3 WHERE order_id = $1 AND line_id = $2",
                                        [(order.order_id, li.line_id, li.status.value) for li in changed_lines])
        await self._history(order)

    async def _history(self, order: Order) -> None:
        if order.history:
            await self.conn.executemany(
                "INSERT INTO order_history(order_id, city, from_status, to_status, cause)"
                " VALUES ($1, $2, $3, $4, $5)",
                [(order.order_id, order.city, f.value if f else None, t.value, cause)
                 for f, t, cause in order.history])
            order.history.clear()
        order.loaded_version = order.version
        order.loaded_line_status = {li.line_id: li.status for li in order.lines}

    # ------------------------------------------------------------------------- the grace worker

    async def stuck_order_ids(self, after_seconds: float, limit: int = 100) -> list[str]:
        """Orders (all cities) whose saga stalled longer than ``after_seconds`` and are not flagged yet, locked
        for this transaction (``SKIP LOCKED``: two replicas never flag the same order)."""
        rows = await self.conn.fetch(
            """SELECT order_id FROM orders
                WHERE stuck_since IS NULL
                  AND ((status IN ('placed', 'stock_reserved')
                        AND state_changed_at < now() - make_interval(secs => $1))
                    OR (status = 'awaiting_payment'
                        AND payment_expires_at < now() - make_interval(secs => $1)))
                ORDER BY state_changed_at LIMIT $2 FOR UPDATE SKIP LOCKED""", after_seconds, limit)
        return [r["order_id"] for r in rows]

    async def flag_stuck(self, order: Order, cause: str) -> None:
        await self.conn.execute("UPDATE orders SET stuck_since = now() WHERE order_id = $1", order.order_id)
        await self.conn.execute("INSERT INTO order_history(order_id, city, from_status, to_status, cause)"
                                " VALUES ($1, $2, $3, $3, $4)", order.order_id, order.city, order.status.value,
                                cause)

    async def stuck_counts(self) -> list[tuple[str, str, int]]:
        """(city, status, number of flagged orders), for the ``pasarkota_orders_stuck`` gauge."""
        rows = await self.conn.fetch("SELECT city, status, count(*) AS n FROM orders"
                                     " WHERE stuck_since IS NOT NULL GROUP BY city, status")
        return [(r["city"], r["status"], int(r["n"])) for r in rows]

    async def forget_buyer_addresses(self, buyer_id: str) -> int:
        result: str = await self.conn.execute(
            "UPDATE orders SET delivery_address = '(dihapus)', delivery = CASE WHEN delivery IS NULL THEN NULL"
            " ELSE jsonb_build_object('slot_date', delivery->'slot_date', 'slot_window', delivery->'slot_window',"
            " 'kelurahan', delivery->'kelurahan') END, updated_at = now()"
            " WHERE buyer_id = $1 AND delivery_address IS NOT NULL AND delivery_address <> '(dihapus)'", buyer_id)
        return int(result.rsplit(" ", 1)[-1])

    async def forget_courier(self, courier_id: str) -> int:
        result: str = await self.conn.execute(
            "UPDATE orders SET courier_name = '(dihapus)', courier_phone = NULL, updated_at = now()"
            " WHERE courier_id = $1 AND (courier_name IS DISTINCT FROM '(dihapus)' OR courier_phone IS NOT NULL)",
            courier_id)
        return int(result.rsplit(" ", 1)[-1])

    async def slot_taken(self, city: str, market_id: str, slot_date: str, window: str) -> int:
        """Open orders of the market in that slot, counted under a lock of the slot (no two checkouts take its
        last place at once)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                f"slot:{city}:{market_id}:{slot_date}:{window}")
        return int(await self.conn.fetchval(
            "SELECT count(*) FROM orders WHERE city = $1 AND market_id = $2 AND slot_date = $3::text::date"
            " AND slot_window = $4 AND status NOT IN ('rejected', 'cancelled', 'payment_expired', 'refunded',"
            " 'refund_requested')", city, market_id, slot_date, window))


def _touched(status: str) -> bool:
    """Whether an INSERT/UPDATE command status (``'INSERT 0 1'``, ``'UPDATE 0'``) reports a row written."""
    return not status.endswith(" 0")
