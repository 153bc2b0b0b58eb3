"""The catalog's store: every write and every aggregate load of the ``catalog`` schema, on one connection.

A unit of work builds one per transaction (``ServiceKernel(..., store=CatalogStore)``); use cases reach it as
``uow.store``. Reads for pages live in ``queries.py``. Rows come back as plain dicts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.envelope import EventPayload, OutgoingEvent, build_event
from shared.events.catalog import PRODUCT, VENDOR, ProductStateChanged, VendorStateChanged
from shared.phone import sql_normalised

Row = dict[str, Any]


def _d(row: asyncpg.Record | None) -> Row | None:
    return dict(row) if row is not None else None


MARKET_COLUMNS = "id, city, slug, name, address, kelurahan, opens_at, closes_at, description, active, created_at"

STALL_COLUMNS = "id, city, market_id, kind, block, number"

HUB_COLUMNS = ("id, city, name, kelurahan, rw, address, bandwidth_mbps, active, opens_at, closes_at,"
               " hall_capacity")

VENDOR_COLUMNS = ("id, city, market_id, stall_id, name, owner_name, phone, whatsapp, categories, status, trained,"
                  " certificate_code, participant_id, suspended_reason, verified_at, created_at, updated_at")

PRODUCT_COLUMNS = ("id, city, vendor_id, market_id, name, description, category, unit, price, stock, available,"
                   " min_per_order, max_per_order, photo_url, active, created_at, updated_at, sold_by, step_grams")


class CatalogStore:
    """Every write and aggregate load of the catalog schema, on the unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # ---- markets, stalls, RW hubs -------------------------------------------------------------------------

    async def get_market(self, city: str, market_id: str, *, lock: bool = False) -> Row | None:
        return _d(await self.conn.fetchrow(
            f"SELECT {MARKET_COLUMNS} FROM markets WHERE city = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
            city, market_id))

    async def insert_market(self, m: Row) -> Row | None:
        """None when a market with that id or (city, slug) exists already."""
        return _d(await self.conn.fetchrow(
            "INSERT INTO markets(id, city, slug, name, address, kelurahan, opens_at, closes_at, description)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
            f" RETURNING {MARKET_COLUMNS}",
            m["id"], m["city"], m["slug"], m["name"], m.get("address") or "", m.get("kelurahan"),
            m.get("opens_at") or "05:00", m.get("closes_at") or "14:00", m.get("description") or ""))

    async def update_market(self, city: str, market_id: str, changes: Row) -> Row | None:
        return await self._update("markets", city, market_id, changes, MARKET_COLUMNS)

    async def _update(self, table: str, city: str, row_id: str, changes: Row,
                      returning: str) -> Row | None:
        # Column names come from our own pydantic models, never from the request text itself.
        sets = [f"{col} = ${i}" for i, col in enumerate(changes, start=3)]
        sets.append("updated_at = now()")
        return _d(await self.conn.fetchrow(
            f"UPDATE {table} SET {', '.join(sets)} WHERE city = $1 AND id = $2 RETURNING {returning}",
            city, row_id, *changes.values()))

    async def get_stall(self, city: str, stall_id: str) -> Row | None:
        return _d(await self.conn.fetchrow(f"SELECT {STALL_COLUMNS} FROM stalls WHERE city = $1 AND id = $2",
                                           city, stall_id))

    async def insert_stall(self, s: Row) -> Row | None:
        return _d(await self.conn.fetchrow(
            "INSERT INTO stalls(id, city, market_id, kind, block, number) VALUES ($1, $2, $3, $4, $5, $6)"
            f" ON CONFLICT DO NOTHING RETURNING {STALL_COLUMNS}",
            s["id"], s["city"], s["market_id"], s["kind"], s.get("block") or "", s["number"]))

    async def get_rw_hub(self, city: str, hub_id: str) -> Row | None:
        return _d(await self.conn.fetchrow(f"SELECT {HUB_COLUMNS} FROM rw_hubs WHERE city = $1 AND id = $2",
                                           city, hub_id))

    async def insert_rw_hub(self, h: Row) -> Row | None:
        return _d(await self.conn.fetchrow(
            "INSERT INTO rw_hubs(id, city, name, kelurahan, rw, address, bandwidth_mbps, opens_at, closes_at,"
            " hall_capacity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
            f" RETURNING {HUB_COLUMNS}",
            h["id"], h["city"], h["name"], h["kelurahan"], h["rw"], h.get("address") or "", h.get("bandwidth_mbps"),
            h.get("opens_at"), h.get("closes_at"), h.get("hall_capacity")))

    async def update_rw_hub(self, city: str, hub_id: str, changes: Row) -> Row | None:
        """None when the change would duplicate another hub's (city, kelurahan, rw); the transaction is then
        aborted, so the caller raises."""
        try:
            return await self._update("rw_hubs", city, hub_id, changes, HUB_COLUMNS)
        except asyncpg.UniqueViolationError:
            return None

    # ---- vendors ------------------------------------------------------------------------------------------

    async def get_vendor(self, city: str, vendor_id: str, *, lock: bool = False) -> Row | None:
        return _d(await self.conn.fetchrow(
            f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
            city, vendor_id))

    async def vendor_by_participant(self, city: str, participant_id: str) -> Row | None:
        return _d(await self.conn.fetchrow(
            f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1 AND participant_id = $2 FOR UPDATE",
            city, participant_id))

    async def insert_vendor(self, v: Row) -> Row | None:
        return _d(await self.conn.fetchrow(
            "INSERT INTO vendors(id, city, market_id, stall_id, name, owner_name, phone, whatsapp, categories, status,"
            " trained, certificate_code, participant_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING"
            f" RETURNING {VENDOR_COLUMNS}",
            v["id"], v["city"], v.get("market_id"), v.get("stall_id"), v["name"], v["owner_name"], v.get("phone"),
            v.get("whatsapp"), list(v.get("categories") or []), v["status"], bool(v.get("trained")),
            v.get("certificate_code"), v.get("participant_id")))

    async def update_vendor(self, city: str, vendor_id: str, changes: Row) -> Row | None:
        return await self._update("vendors", city, vendor_id, changes, VENDOR_COLUMNS)

    # ---- products -----------------------------------------------------------------------------------------

    async def lock_product(self, city: str, product_id: str) -> Row | None:
        return _d(await self.conn.fetchrow(
            f"SELECT {PRODUCT_COLUMNS} FROM products WHERE city = $1 AND id = $2 FOR UPDATE", city, product_id))

    async def insert_product(self, p: Row) -> Row | None:
        return _d(await self.conn.fetchrow(
            "INSERT INTO products(id, city, vendor_id, market_id, name, description, category, unit, price, stock,"
            " available, min_per_order, max_per_order, photo_url, active, search_text, name_text, sold_by,"
            " step_grams) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, true, $15, $16,"
            f" $17, $18) ON CONFLICT DO NOTHING RETURNING {PRODUCT_COLUMNS}",
            p["id"], p["city"], p["vendor_id"], p["market_id"], p["name"], p.get("description") or "", p["category"],
            p["unit"], p["price"], p.get("stock"), p.get("available", True), p.get("min_per_order", 1),
            p.get("max_per_order"), p.get("photo_url"), p["search_text"], p["name_text"],
            p.get("sold_by") or "piece", p.get("step_grams")))

    async def insert_products_bulk(self, rows: list[Row]) -> set[str]:
        """Insert many products at once (demo seeding, benchmarks); returns the ids actually inserted."""
        cols = ("id", "city", "vendor_id", "market_id", "name", "description", "category", "unit", "price", "stock",
                "available", "min_per_order", "max_per_order", "photo_url", "search_text", "name_text", "sold_by",
                "step_grams")
        types = ("text", "text", "text", "text", "text", "text", "text", "text", "bigint", "int", "bool", "int", "int",
                 "text", "text", "text", "text", "int")
        arrays = [[r.get(c) if c not in ("description",) else (r.get(c) or "") for r in rows] for c in cols]
        for i, c in enumerate(cols):
            if c == "available":
                arrays[i] = [True if v is None else v for v in arrays[i]]
            if c == "min_per_order":
                arrays[i] = [1 if v is None else v for v in arrays[i]]
            if c == "sold_by":
                arrays[i] = ["piece" if v is None else v for v in arrays[i]]
        unnest = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types))
        inserted = await self.conn.fetch(
            f"INSERT INTO products({', '.join(cols)}) SELECT * FROM unnest({unnest})"
            " ON CONFLICT DO NOTHING RETURNING id", *arrays)
        return {r["id"] for r in inserted}

    async def update_product(self, city: str, product_id: str, changes: Row) -> Row | None:
        return await self._update("products", city, product_id, changes, PRODUCT_COLUMNS)

    async def add_price_history(self, city: str, product_id: str, price: int,
                                at: datetime | None = None) -> None:
        await self.conn.execute(
            "INSERT INTO price_history(city, product_id, price, changed_at) VALUES ($1, $2, $3, coalesce($4, now()))",
            city, product_id, price, at)

    async def add_price_history_bulk(self, rows: list[tuple[str, str, int, datetime]]) -> None:
        if rows:
            await self.conn.execute(
                "INSERT INTO price_history(city, product_id, price, changed_at)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])",
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])

    # ---- reservations -------------------------------------------------------------------------------------

    async def lock_products_for_reservation(self, product_ids: list[str]) -> list[Row]:
        """Row-lock the products in id order (one global order: no deadlocks between concurrent reservations)."""
        rows = await self.conn.fetch(
            "SELECT p.id, p.city, p.market_id, p.vendor_id, p.active, p.available, p.stock, p.min_per_order,"
            " p.max_per_order, (v.status = 'active') AS vendor_active"
            " FROM products p JOIN vendors v ON v.id = p.vendor_id"
            " WHERE p.id = ANY($1::text[]) ORDER BY p.id FOR UPDATE OF p", product_ids)
        return [dict(r) for r in rows]

    async def claim_reservation(self, order_id: str, city: str, market_id: str | None,
                                status: str) -> bool:
        """Create the order's reservation row; False when the order already has one (duplicate/late event)."""
        return bool(await self.conn.fetchval(
            "INSERT INTO reservations(order_id, city, market_id, status) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING RETURNING true", order_id, city, market_id, status))

    async def take_stock(self, takes: list[tuple[str, int]]) -> list[Row]:
        """Decrement tracked stock; the WHERE guard makes a short shelf fail loudly rather than go negative."""
        rows = await self.conn.fetch(
            "UPDATE products p SET stock = p.stock - t.qty, updated_at = now()"
            " FROM unnest($1::text[], $2::int[]) AS t(id, qty)"
            " WHERE p.id = t.id AND p.stock IS NOT NULL AND p.stock >= t.qty RETURNING p.id, p.stock, p.available",
            [t[0] for t in takes], [t[1] for t in takes])
        return [dict(r) for r in rows]

    async def give_back_stock(self, order_id: str) -> list[Row]:
        """Put an order's tracked quantities still out back on the shelf (lines a vendor rejected came back
        already: only ``quantity - returned``), mark every line fully returned; returns the products' new stock."""
        # Lock in product-id order first, the same order reservations use, so the two never deadlock.
        await self.conn.execute(
            "SELECT p.id FROM products p JOIN reservation_lines l ON l.product_id = p.id"
            " WHERE l.order_id = $1 AND l.tracked AND l.quantity > l.returned ORDER BY p.id FOR UPDATE OF p", order_id)
        rows = await self.conn.fetch(
            "UPDATE products p SET stock = p.stock + (l.quantity - l.returned), updated_at = now()"
            " FROM reservation_lines l WHERE l.order_id = $1 AND l.tracked AND l.quantity > l.returned"
            " AND p.id = l.product_id AND p.stock IS NOT NULL RETURNING p.id, p.stock, p.available", order_id)
        await self.conn.execute(
            "UPDATE reservation_lines SET returned = quantity WHERE order_id = $1 AND returned < quantity", order_id)
        return [dict(r) for r in rows]

    async def claim_line_return(self, order_id: str, line_id: str, city: str, product_id: str,
                                quantity: int, reason: str) -> bool:
        """Record that this order line came back; False when it was recorded already (a repeat)."""
        return bool(await self.conn.fetchval(
            "INSERT INTO reservation_line_returns(order_id, line_id, city, product_id, quantity, reason)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
            order_id, line_id, city, product_id, quantity, reason))

    async def give_back_line(self, order_id: str, product_id: str, quantity: int) -> Row | None:
        """``quantity`` of one reservation line back: counted as returned, and on the shelf when stock is counted.

        Returns the product's new stock (None when the product's stock is not counted)."""
        line = await self.conn.fetchrow(
            "UPDATE reservation_lines SET returned = returned + $3 WHERE order_id = $1 AND product_id = $2"
            " AND returned + $3 <= quantity RETURNING tracked", order_id, product_id, quantity)
        if line is None or not line["tracked"] or quantity == 0:
            return None
        row = await self.conn.fetchrow(
            "UPDATE products SET stock = stock + $2, updated_at = now() WHERE id = $1 AND stock IS NOT NULL"
            " RETURNING id, stock, available", product_id, quantity)
        return _d(row)

    async def insert_reservation_lines(self, order_id: str,
                                       lines: list[tuple[str, int, bool]]) -> None:
        await self.conn.execute(
            "INSERT INTO reservation_lines(order_id, product_id, quantity, tracked)"
            " SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bool[])",
            order_id, [x[0] for x in lines], [x[1] for x in lines], [x[2] for x in lines])

    async def lock_reservation(self, order_id: str) -> Row | None:
        return _d(await self.conn.fetchrow(
            "SELECT order_id, city, market_id, status, expires_at, reason, answer FROM reservations WHERE order_id = $1"
            " FOR UPDATE",
            order_id))

    async def reservation_lines(self, order_id: str) -> list[Row]:
        rows = await self.conn.fetch("SELECT product_id, quantity, tracked, returned FROM reservation_lines"
                                     " WHERE order_id = $1 ORDER BY product_id", order_id)
        return [dict(r) for r in rows]

    async def set_reservation(self, order_id: str, status: str, *,
                              expires_at: datetime | None = None, reason: str | None = None) -> None:
        await self.conn.execute(
            "UPDATE reservations SET status = $2, expires_at = coalesce($3, expires_at),"
            " reason = coalesce($4, reason), updated_at = now() WHERE order_id = $1",
            order_id, status, expires_at, reason)

    async def lock_reservations(self, order_ids: list[str]) -> dict[str, Row]:
        """Many reservations locked in one query, in order id order (a polled batch of ``OrderPaid``)."""
        rows = await self.conn.fetch(
            "SELECT order_id, city, market_id, status, expires_at, reason, answer FROM reservations"
            " WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE", sorted(set(order_ids)))
        return {r["order_id"]: dict(r) for r in rows}

    async def reservation_lines_of(self, order_ids: list[str]) -> dict[str, list[Row]]:
        rows = await self.conn.fetch("SELECT order_id, product_id, quantity, tracked, returned FROM reservation_lines"
                                     " WHERE order_id = ANY($1::text[]) ORDER BY order_id, product_id", order_ids)
        found: dict[str, list[Row]] = {}
        for r in rows:
            found.setdefault(r["order_id"], []).append(dict(r))
        return found

    async def set_reservations(self, order_ids: list[str], status: str) -> None:
        if order_ids:
            await self.conn.execute("UPDATE reservations SET status = $2, updated_at = now()"
                                    " WHERE order_id = ANY($1::text[])", order_ids, status)

    async def set_answer(self, order_id: str, answer: Row) -> None:
        """Remember the StockReserved/StockRejected payload sent for the order (re-sent on a repeated OrderPlaced)."""
        await self.conn.execute("UPDATE reservations SET answer = $2 WHERE order_id = $1", order_id, answer)

    async def due_reservations(self, limit: int) -> list[Row]:
        """Held reservations past their deadline, locked; others working on them are skipped, not waited for."""
        rows = await self.conn.fetch(
            "SELECT order_id, city, status FROM reservations WHERE status = 'held' AND expires_at < now()"
            " ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
        return [dict(r) for r in rows]

    # ---- demo data --------------------------------------------------------------------------------------

    async def lock_demo_seed(self) -> None:
        """Serialise seeders of concurrently starting replicas (transaction-scoped advisory lock)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('catalog-demo-seed'))")

    async def vendor_ids_of_owner(self, phone: str) -> list[str]:
        return [r["id"] for r in await self.conn.fetch(
            f"SELECT id FROM vendors WHERE {sql_normalised('phone')} = $1 OR {sql_normalised('whatsapp')} = $1", phone)]

    async def forget_audited_owner(self, vendor_ids: list[str]) -> int:
        """The owner's name and phone leave the audit entries of these vendors (the changes stay listed)."""
        from shared.audit import forget_fields

        return await forget_fields(self.conn, "vendor", vendor_ids, ("owner_name", "phone", "whatsapp"))

    async def forget_vendor_owner(self, phone: str) -> int:
        """Remove the owner's name and numbers from the vendors of ``phone`` (any city); returns how many."""
        result: str = await self.conn.execute(
            "UPDATE vendors SET owner_name = '(dihapus)', phone = NULL, whatsapp = NULL, updated_at = now()"
            f" WHERE {sql_normalised('phone')} = $1 OR {sql_normalised('whatsapp')} = $1", phone)
        return int(result.rsplit(" ", 1)[-1])

    # ---- back office (issue #13) --------------------------------------------------------------------------

    async def lock_stall(self, city: str, stall_id: str) -> Row | None:
        return _d(await self.conn.fetchrow(
            f"SELECT {STALL_COLUMNS} FROM stalls WHERE city = $1 AND id = $2 FOR UPDATE", city, stall_id))

    async def update_stall(self, city: str, stall_id: str, changes: Row) -> Row | None:
        """None when the change would duplicate another stall of the market (the transaction is then aborted,
        so the caller raises)."""
        try:
            return await self._update("stalls", city, stall_id, changes, STALL_COLUMNS)
        except asyncpg.UniqueViolationError:
            return None

    async def vendor_on_stall(self, city: str, stall_id: str) -> Row | None:
        """The (non-suspended) vendor that has the stall, if any."""
        return _d(await self.conn.fetchrow(
            f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1 AND stall_id = $2 AND status <> 'suspended'"
            " LIMIT 1", city, stall_id))

    # ---- compacted state topics (issue #17) ---------------------------------------------------------------

    async def state_snapshots(self, pending: list[OutgoingEvent]) -> list[OutgoingEvent]:
        """The kernel's unit of work asks this before writing its outbox: for every product and vendor that this
        transaction's change events touch (any event on catalog.product.v1 / catalog.vendor.v1), its whole state
        now, once, for the compacted state topics. Two queries per transaction, whatever the batch size."""
        touched: dict[str, dict[str, OutgoingEvent]] = {PRODUCT: {}, VENDOR: {}}
        for out in pending:
            id_field = "product_id" if out.topic == PRODUCT else "vendor_id" if out.topic == VENDOR else None
            if id_field is not None and isinstance(out.envelope.payload.get(id_field), str):
                touched[out.topic].setdefault(out.envelope.payload[id_field], out)
        snapshots: list[OutgoingEvent] = []
        if touched[PRODUCT]:
            for r in await self.conn.fetch(
                    "SELECT p.*, v.name AS vendor_name FROM products p JOIN vendors v ON v.id = p.vendor_id"
                    " WHERE p.id = ANY($1::text[])", list(touched[PRODUCT])):
                snapshots.append(_snapshot(product_state(dict(r)), r["city"], touched[PRODUCT][r["id"]]))
        if touched[VENDOR]:
            for r in await self.conn.fetch("SELECT * FROM vendors WHERE id = ANY($1::text[])", list(touched[VENDOR])):
                snapshots.append(_snapshot(vendor_state(dict(r)), r["city"], touched[VENDOR][r["id"]]))
        return snapshots

    async def state_rows(self) -> tuple[list[Row], list[Row]]:
        """Every product (with its vendor's name) and vendor: the one-off backfill of the state topics."""
        products = await self.conn.fetch("SELECT p.*, v.name AS vendor_name FROM products p"
                                         " JOIN vendors v ON v.id = p.vendor_id ORDER BY p.id")
        vendors = await self.conn.fetch("SELECT * FROM vendors ORDER BY id")
        return [dict(r) for r in products], [dict(r) for r in vendors]

    async def claim_state_backfill(self) -> bool:
        """True once per schema (the first replica to start after migration 006); the backfill runs then."""
        status: str = await self.conn.execute(
            "UPDATE state_backfill SET done_at = now() WHERE done_at IS NULL")
        return status.endswith(" 1")


def product_state(p: Row) -> ProductStateChanged:
    return ProductStateChanged(
        product_id=p["id"], vendor_id=p["vendor_id"], market_id=p["market_id"], name=p["name"],
        category=p["category"], unit=p["unit"], price=p["price"], min_per_order=p["min_per_order"],
        max_per_order=p["max_per_order"], active=p["active"], stock=p["stock"], available=p["available"],
        photo_url=p.get("photo_url"), vendor_name=p.get("vendor_name"), sold_by=p.get("sold_by") or "piece",
        step_grams=p.get("step_grams"))


def vendor_state(v: Row) -> VendorStateChanged:
    return VendorStateChanged(vendor_id=v["id"], market_id=v["market_id"], name=v["name"], status=v["status"],
                              trained=v["trained"], participant_id=v["participant_id"])


def _snapshot(payload: EventPayload, city: str, cause: OutgoingEvent) -> OutgoingEvent:
    return build_event(payload, city=city, correlation_id=cause.envelope.correlation_id)
