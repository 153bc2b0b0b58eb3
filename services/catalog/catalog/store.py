"""asyncpg queries on the catalog schema only. Rows come back as plain dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from catalog.search import QueryTerm, like_escape

Row = dict[str, Any]


def _d(row: asyncpg.Record | None) -> Row | None:
    return dict(row) if row is not None else None


# ---- markets, stalls, RW hubs -------------------------------------------------------------------------

MARKET_COLUMNS = "id, city, slug, name, address, kelurahan, opens_at, closes_at, description, active, created_at"


async def list_markets(conn: asyncpg.Connection, city: str, *, include_inactive: bool = False) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {MARKET_COLUMNS},"
        " (SELECT count(*) FROM vendors v WHERE v.market_id = m.id AND v.status = 'active') AS vendor_count"
        " FROM markets m WHERE city = $1 AND (active OR $2) ORDER BY name", city, include_inactive)
    return [dict(r) for r in rows]


async def get_market(conn: asyncpg.Connection, city: str, market_id: str, *, lock: bool = False) -> Row | None:
    return _d(await conn.fetchrow(
        f"SELECT {MARKET_COLUMNS} FROM markets WHERE city = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
        city, market_id))


async def insert_market(conn: asyncpg.Connection, m: Row) -> Row | None:
    """None when a market with that id or (city, slug) exists already."""
    return _d(await conn.fetchrow(
        "INSERT INTO markets(id, city, slug, name, address, kelurahan, opens_at, closes_at, description)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
        f" RETURNING {MARKET_COLUMNS}",
        m["id"], m["city"], m["slug"], m["name"], m.get("address") or "", m.get("kelurahan"),
        m.get("opens_at") or "05:00", m.get("closes_at") or "14:00", m.get("description") or ""))


async def update_market(conn: asyncpg.Connection, city: str, market_id: str, changes: Row) -> Row | None:
    return await _update(conn, "markets", city, market_id, changes, MARKET_COLUMNS)


async def _update(conn: asyncpg.Connection, table: str, city: str, row_id: str, changes: Row,
                  returning: str) -> Row | None:
    # Column names come from our own pydantic models, never from the request text itself.
    sets = [f"{col} = ${i}" for i, col in enumerate(changes, start=3)]
    sets.append("updated_at = now()")
    return _d(await conn.fetchrow(
        f"UPDATE {table} SET {', '.join(sets)} WHERE city = $1 AND id = $2 RETURNING {returning}",
        city, row_id, *changes.values()))


STALL_COLUMNS = "id, city, market_id, kind, block, number"


async def list_stalls(conn: asyncpg.Connection, city: str, market_id: str) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {STALL_COLUMNS}, (SELECT v.id FROM vendors v WHERE v.stall_id = s.id LIMIT 1) AS vendor_id"
        " FROM stalls s WHERE city = $1 AND market_id = $2 ORDER BY kind, block, number", city, market_id)
    return [dict(r) for r in rows]


async def get_stall(conn: asyncpg.Connection, city: str, stall_id: str) -> Row | None:
    return _d(await conn.fetchrow(f"SELECT {STALL_COLUMNS} FROM stalls WHERE city = $1 AND id = $2",
                                  city, stall_id))


async def insert_stall(conn: asyncpg.Connection, s: Row) -> Row | None:
    return _d(await conn.fetchrow(
        "INSERT INTO stalls(id, city, market_id, kind, block, number) VALUES ($1, $2, $3, $4, $5, $6)"
        f" ON CONFLICT DO NOTHING RETURNING {STALL_COLUMNS}",
        s["id"], s["city"], s["market_id"], s["kind"], s.get("block") or "", s["number"]))


HUB_COLUMNS = "id, city, name, kelurahan, rw, address, bandwidth_mbps, active"


async def list_rw_hubs(conn: asyncpg.Connection, city: str, *, kelurahan: str | None = None,
                       include_inactive: bool = False) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {HUB_COLUMNS} FROM rw_hubs WHERE city = $1 AND (active OR $2)"
        " AND ($3::text IS NULL OR lower(kelurahan) = lower($3)) ORDER BY kelurahan, rw",
        city, include_inactive, kelurahan)
    return [dict(r) for r in rows]


async def get_rw_hub(conn: asyncpg.Connection, city: str, hub_id: str) -> Row | None:
    return _d(await conn.fetchrow(f"SELECT {HUB_COLUMNS} FROM rw_hubs WHERE city = $1 AND id = $2", city, hub_id))


async def insert_rw_hub(conn: asyncpg.Connection, h: Row) -> Row | None:
    return _d(await conn.fetchrow(
        "INSERT INTO rw_hubs(id, city, name, kelurahan, rw, address, bandwidth_mbps)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
        f" RETURNING {HUB_COLUMNS}",
        h["id"], h["city"], h["name"], h["kelurahan"], h["rw"], h.get("address") or "", h.get("bandwidth_mbps")))


async def update_rw_hub(conn: asyncpg.Connection, city: str, hub_id: str, changes: Row) -> Row | None:
    return await _update(conn, "rw_hubs", city, hub_id, changes, HUB_COLUMNS)


# ---- vendors ------------------------------------------------------------------------------------------

VENDOR_COLUMNS = ("id, city, market_id, stall_id, name, owner_name, phone, whatsapp, categories, status, trained,"
                  " certificate_code, participant_id, suspended_reason, verified_at, created_at, updated_at")


async def get_vendor(conn: asyncpg.Connection, city: str, vendor_id: str, *, lock: bool = False) -> Row | None:
    return _d(await conn.fetchrow(
        f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
        city, vendor_id))


async def vendor_by_participant(conn: asyncpg.Connection, city: str, participant_id: str) -> Row | None:
    return _d(await conn.fetchrow(
        f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1 AND participant_id = $2 FOR UPDATE",
        city, participant_id))


async def list_vendors(conn: asyncpg.Connection, city: str, *, market_id: str | None = None,
                       status: str | None = None, drafts_only: bool = False) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1"
        " AND ($2::text IS NULL OR market_id = $2) AND ($3::text IS NULL OR status = $3)"
        " AND (NOT $4 OR status = 'draft') ORDER BY name",
        city, market_id, status, drafts_only)
    return [dict(r) for r in rows]


async def insert_vendor(conn: asyncpg.Connection, v: Row) -> Row | None:
    return _d(await conn.fetchrow(
        "INSERT INTO vendors(id, city, market_id, stall_id, name, owner_name, phone, whatsapp, categories, status,"
        " trained, certificate_code, participant_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING"
        f" RETURNING {VENDOR_COLUMNS}",
        v["id"], v["city"], v.get("market_id"), v.get("stall_id"), v["name"], v["owner_name"], v.get("phone"),
        v.get("whatsapp"), list(v.get("categories") or []), v["status"], bool(v.get("trained")),
        v.get("certificate_code"), v.get("participant_id")))


async def update_vendor(conn: asyncpg.Connection, city: str, vendor_id: str, changes: Row) -> Row | None:
    return await _update(conn, "vendors", city, vendor_id, changes, VENDOR_COLUMNS)


# ---- products -----------------------------------------------------------------------------------------

PRODUCT_SELECT = (
    "SELECT p.id, p.city, p.vendor_id, p.market_id, p.name, p.description, p.category, p.unit, p.price, p.stock,"
    " p.available, p.min_per_order, p.max_per_order, p.photo_url, p.active, p.created_at, p.updated_at,"
    " v.name AS vendor_name, v.trained AS vendor_trained, v.status AS vendor_status, m.name AS market_name"
    " FROM products p JOIN vendors v ON v.id = p.vendor_id JOIN markets m ON m.id = p.market_id"
)
PRODUCT_COLUMNS = ("id, city, vendor_id, market_id, name, description, category, unit, price, stock, available,"
                   " min_per_order, max_per_order, photo_url, active, created_at, updated_at")


async def get_product(conn: asyncpg.Connection, city: str, product_id: str) -> Row | None:
    return _d(await conn.fetchrow(PRODUCT_SELECT + " WHERE p.city = $1 AND p.id = $2", city, product_id))


async def lock_product(conn: asyncpg.Connection, city: str, product_id: str) -> Row | None:
    return _d(await conn.fetchrow(
        f"SELECT {PRODUCT_COLUMNS} FROM products WHERE city = $1 AND id = $2 FOR UPDATE", city, product_id))


async def insert_product(conn: asyncpg.Connection, p: Row) -> Row | None:
    return _d(await conn.fetchrow(
        "INSERT INTO products(id, city, vendor_id, market_id, name, description, category, unit, price, stock,"
        " available, min_per_order, max_per_order, photo_url, active, search_text, name_text)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, true, $15, $16)"
        f" ON CONFLICT DO NOTHING RETURNING {PRODUCT_COLUMNS}",
        p["id"], p["city"], p["vendor_id"], p["market_id"], p["name"], p.get("description") or "", p["category"],
        p["unit"], p["price"], p.get("stock"), p.get("available", True), p.get("min_per_order", 1),
        p.get("max_per_order"), p.get("photo_url"), p["search_text"], p["name_text"]))


async def insert_products_bulk(conn: asyncpg.Connection, rows: list[Row]) -> set[str]:
    """Insert many products at once (demo seeding, benchmarks); returns the ids actually inserted."""
    cols = ("id", "city", "vendor_id", "market_id", "name", "description", "category", "unit", "price", "stock",
            "available", "min_per_order", "max_per_order", "photo_url", "search_text", "name_text")
    types = ("text", "text", "text", "text", "text", "text", "text", "text", "bigint", "int", "bool", "int", "int",
             "text", "text", "text")
    arrays = [[r.get(c) if c not in ("description",) else (r.get(c) or "") for r in rows] for c in cols]
    for i, c in enumerate(cols):
        if c == "available":
            arrays[i] = [True if v is None else v for v in arrays[i]]
        if c == "min_per_order":
            arrays[i] = [1 if v is None else v for v in arrays[i]]
    unnest = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types))
    inserted = await conn.fetch(
        f"INSERT INTO products({', '.join(cols)}) SELECT * FROM unnest({unnest})"
        " ON CONFLICT DO NOTHING RETURNING id", *arrays)
    return {r["id"] for r in inserted}


async def update_product(conn: asyncpg.Connection, city: str, product_id: str, changes: Row) -> Row | None:
    return await _update(conn, "products", city, product_id, changes, PRODUCT_COLUMNS)


async def vendor_products(conn: asyncpg.Connection, city: str, vendor_id: str) -> list[Row]:
    rows = await conn.fetch(PRODUCT_SELECT + " WHERE p.city = $1 AND p.vendor_id = $2 ORDER BY p.active DESC, p.name",
                            city, vendor_id)
    return [dict(r) for r in rows]


async def add_price_history(conn: asyncpg.Connection, city: str, product_id: str, price: int,
                            at: datetime | None = None) -> None:
    await conn.execute(
        "INSERT INTO price_history(city, product_id, price, changed_at) VALUES ($1, $2, $3, coalesce($4, now()))",
        city, product_id, price, at)


async def add_price_history_bulk(conn: asyncpg.Connection, rows: list[tuple[str, str, int, datetime]]) -> None:
    if rows:
        await conn.execute(
            "INSERT INTO price_history(city, product_id, price, changed_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])",
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])


async def price_history(conn: asyncpg.Connection, city: str, product_id: str, limit: int = 30) -> list[Row]:
    rows = await conn.fetch(
        "SELECT price, changed_at FROM price_history WHERE city = $1 AND product_id = $2"
        " ORDER BY changed_at DESC, id DESC LIMIT $3", city, product_id, limit)
    return [dict(r) for r in rows]


async def search_products(conn: asyncpg.Connection, city: str, terms: list[QueryTerm], *,
                          phrases: tuple[str, ...] = (), market_id: str | None, category: str | None,
                          vendor_id: str | None, limit: int, offset: int) -> tuple[list[Row], int]:
    """Active products of active vendors matching every term; best matches first; (page, total).

    ``phrases`` (the query as typed and in canonical spelling) rank names containing them higher.
    """
    args: list[Any] = [city, market_id, category, vendor_id]
    where = ["p.city = $1", "p.active", "v.status = 'active'", "($2::text IS NULL OR p.market_id = $2)",
             "($3::text IS NULL OR p.category = $3)", "($4::text IS NULL OR p.vendor_id = $4)"]
    rank_parts: list[str] = []
    for term in terms:
        anywhere, in_name, name_word_start = [], [], []
        for spelling in term.spellings:
            esc = like_escape(spelling)
            args.append(f"%{esc}%")
            anywhere.append(f"p.search_text LIKE ${len(args)}")
            in_name.append(f"p.name_text LIKE ${len(args)}")
            args.append(f"% {esc}%")
            name_word_start.append(f"(' ' || p.name_text) LIKE ${len(args)}")
        where.append("(" + " OR ".join(anywhere) + ")")
        # 3: a word of the product's name starts with it; 2: inside the name; 1: category or vendor only.
        rank_parts.append(f"CASE WHEN {' OR '.join(name_word_start)} THEN 3"
                          f" WHEN {' OR '.join(in_name)} THEN 2 ELSE 1 END")
    for phrase in phrases:
        args.append(f"%{like_escape(phrase)}%")
        rank_parts.append(f"CASE WHEN p.name_text LIKE ${len(args)} THEN 3 ELSE 0 END")
    rank = " + ".join(rank_parts) or "0"
    args += [limit, offset]
    rows = await conn.fetch(
        PRODUCT_SELECT.replace("SELECT ", f"SELECT ({rank}) AS rank, count(*) OVER () AS total, ", 1)
        + " WHERE " + " AND ".join(where)
        + " ORDER BY rank DESC, (p.available AND coalesce(p.stock, 1) > 0) DESC, length(p.name), p.name, p.id"
        + f" LIMIT ${len(args) - 1} OFFSET ${len(args)}", *args)
    total = int(rows[0]["total"]) if rows else 0
    if not rows and offset:
        total = int(await conn.fetchval(
            "SELECT count(*) FROM products p JOIN vendors v ON v.id = p.vendor_id WHERE " + " AND ".join(where),
            *args[:-2]))
    return [dict(r) for r in rows], total


async def daily_prices(conn: asyncpg.Connection, city: str, market_id: str, start: datetime,
                       end: datetime) -> list[Row]:
    """Per active product of the market: the last price before ``end`` (the day's) and before ``start``."""
    rows = await conn.fetch(
        "SELECT p.id AS product_id, p.name, p.category, p.unit, p.vendor_id, v.name AS vendor_name,"
        " (SELECT h.price FROM price_history h WHERE h.product_id = p.id AND h.changed_at < $4"
        "   ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) AS price,"
        " (SELECT h.price FROM price_history h WHERE h.product_id = p.id AND h.changed_at < $3"
        "   ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) AS previous_price"
        " FROM products p JOIN vendors v ON v.id = p.vendor_id"
        " WHERE p.city = $1 AND p.market_id = $2 AND p.active AND v.status = 'active'"
        " ORDER BY p.category, p.name, v.name", city, market_id, start, end)
    return [dict(r) for r in rows]


# ---- reservations -------------------------------------------------------------------------------------

async def lock_products_for_reservation(conn: asyncpg.Connection, product_ids: list[str]) -> list[Row]:
    """Row-lock the products in id order (one global order: no deadlocks between concurrent reservations)."""
    rows = await conn.fetch(
        "SELECT p.id, p.city, p.market_id, p.vendor_id, p.active, p.available, p.stock, p.min_per_order,"
        " p.max_per_order, (v.status = 'active') AS vendor_active"
        " FROM products p JOIN vendors v ON v.id = p.vendor_id"
        " WHERE p.id = ANY($1::text[]) ORDER BY p.id FOR UPDATE OF p", product_ids)
    return [dict(r) for r in rows]


async def claim_reservation(conn: asyncpg.Connection, order_id: str, city: str, market_id: str | None,
                            status: str) -> bool:
    """Create the order's reservation row; False when the order already has one (duplicate/late event)."""
    return bool(await conn.fetchval(
        "INSERT INTO reservations(order_id, city, market_id, status) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING true", order_id, city, market_id, status))


async def take_stock(conn: asyncpg.Connection, takes: list[tuple[str, int]]) -> list[Row]:
    """Decrement tracked stock; the WHERE guard makes a short shelf fail loudly rather than go negative."""
    rows = await conn.fetch(
        "UPDATE products p SET stock = p.stock - t.qty, updated_at = now()"
        " FROM unnest($1::text[], $2::int[]) AS t(id, qty)"
        " WHERE p.id = t.id AND p.stock IS NOT NULL AND p.stock >= t.qty RETURNING p.id, p.stock, p.available",
        [t[0] for t in takes], [t[1] for t in takes])
    return [dict(r) for r in rows]


async def give_back_stock(conn: asyncpg.Connection, order_id: str) -> list[Row]:
    """Put an order's tracked quantities still out back on the shelf (lines a vendor rejected came back
    already: only ``quantity - returned``), mark every line fully returned; returns the products' new stock."""
    # Lock in product-id order first, the same order reservations use, so the two never deadlock.
    await conn.execute(
        "SELECT p.id FROM products p JOIN reservation_lines l ON l.product_id = p.id"
        " WHERE l.order_id = $1 AND l.tracked AND l.quantity > l.returned ORDER BY p.id FOR UPDATE OF p", order_id)
    rows = await conn.fetch(
        "UPDATE products p SET stock = p.stock + (l.quantity - l.returned), updated_at = now()"
        " FROM reservation_lines l WHERE l.order_id = $1 AND l.tracked AND l.quantity > l.returned"
        " AND p.id = l.product_id AND p.stock IS NOT NULL RETURNING p.id, p.stock, p.available", order_id)
    await conn.execute("UPDATE reservation_lines SET returned = quantity WHERE order_id = $1 AND returned < quantity",
                       order_id)
    return [dict(r) for r in rows]


async def claim_line_return(conn: asyncpg.Connection, order_id: str, line_id: str, city: str, product_id: str,
                            quantity: int, reason: str) -> bool:
    """Record that this order line came back; False when it was recorded already (a repeat)."""
    return bool(await conn.fetchval(
        "INSERT INTO reservation_line_returns(order_id, line_id, city, product_id, quantity, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
        order_id, line_id, city, product_id, quantity, reason))


async def give_back_line(conn: asyncpg.Connection, order_id: str, product_id: str, quantity: int) -> Row | None:
    """``quantity`` of one reservation line back: counted as returned, and on the shelf when stock is counted.

    Returns the product's new stock (None when the product's stock is not counted)."""
    line = await conn.fetchrow(
        "UPDATE reservation_lines SET returned = returned + $3 WHERE order_id = $1 AND product_id = $2"
        " AND returned + $3 <= quantity RETURNING tracked", order_id, product_id, quantity)
    if line is None or not line["tracked"] or quantity == 0:
        return None
    row = await conn.fetchrow(
        "UPDATE products SET stock = stock + $2, updated_at = now() WHERE id = $1 AND stock IS NOT NULL"
        " RETURNING id, stock, available", product_id, quantity)
    return _d(row)


async def insert_reservation_lines(conn: asyncpg.Connection, order_id: str,
                                   lines: list[tuple[str, int, bool]]) -> None:
    await conn.execute(
        "INSERT INTO reservation_lines(order_id, product_id, quantity, tracked)"
        " SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bool[])",
        order_id, [x[0] for x in lines], [x[1] for x in lines], [x[2] for x in lines])


async def lock_reservation(conn: asyncpg.Connection, order_id: str) -> Row | None:
    return _d(await conn.fetchrow(
        "SELECT order_id, city, market_id, status, expires_at, reason, answer FROM reservations WHERE order_id = $1"
        " FOR UPDATE",
        order_id))


async def reservation_lines(conn: asyncpg.Connection, order_id: str) -> list[Row]:
    rows = await conn.fetch("SELECT product_id, quantity, tracked, returned FROM reservation_lines"
                            " WHERE order_id = $1 ORDER BY product_id", order_id)
    return [dict(r) for r in rows]


async def set_reservation(conn: asyncpg.Connection, order_id: str, status: str, *,
                          expires_at: datetime | None = None, reason: str | None = None) -> None:
    await conn.execute(
        "UPDATE reservations SET status = $2, expires_at = coalesce($3, expires_at),"
        " reason = coalesce($4, reason), updated_at = now() WHERE order_id = $1",
        order_id, status, expires_at, reason)


async def set_answer(conn: asyncpg.Connection, order_id: str, answer: Row) -> None:
    """Remember the StockReserved/StockRejected payload sent for the order (re-sent on a repeated OrderPlaced)."""
    await conn.execute("UPDATE reservations SET answer = $2 WHERE order_id = $1", order_id, answer)


async def due_reservations(conn: asyncpg.Connection, limit: int) -> list[Row]:
    """Held reservations past their deadline, locked; others working on them are skipped, not waited for."""
    rows = await conn.fetch(
        "SELECT order_id, city, status FROM reservations WHERE status = 'held' AND expires_at < now()"
        " ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
    return [dict(r) for r in rows]


async def get_reservation(conn: asyncpg.Connection, city: str, order_id: str) -> Row | None:
    row = _d(await conn.fetchrow(
        "SELECT order_id, city, market_id, status, expires_at, reason, created_at, updated_at FROM reservations"
        " WHERE city = $1 AND order_id = $2", city, order_id))
    if row is not None:
        row["lines"] = await reservation_lines(conn, order_id)
    return row
