"""The catalog's read side for routes: ``async def fn(conn, city, ...)`` run by ``ctx.read(...)``.

Each answers in a constant number of queries (joins or correlated sub-selects in one statement, never a query
per row). Not found — or not public — is ``shared.errors.NotFound``; nothing here writes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from catalog import domain, policy, prices
from catalog.search import QueryTerm, like_escape, parse_query, query_phrases
from catalog.store import HUB_COLUMNS, MARKET_COLUMNS, STALL_COLUMNS, VENDOR_COLUMNS
from shared.auth import Principal

Row = dict[str, Any]

PRODUCT_SELECT = (
    "SELECT p.id, p.city, p.vendor_id, p.market_id, p.name, p.description, p.category, p.unit, p.price, p.stock,"
    " p.available, p.min_per_order, p.max_per_order, p.photo_url, p.active, p.created_at, p.updated_at,"
    " p.sold_by, p.step_grams, v.name AS vendor_name, v.trained AS vendor_trained, v.status AS vendor_status,"
    " m.name AS market_name"
    " FROM products p JOIN vendors v ON v.id = p.vendor_id JOIN markets m ON m.id = p.market_id"
)


def _d(row: asyncpg.Record | None) -> Row | None:
    return dict(row) if row is not None else None


# ---- markets, stalls, RW hubs -------------------------------------------------------------------------

async def list_markets(conn: asyncpg.Connection, city: str, *, include_inactive: bool = False) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {MARKET_COLUMNS},"
        " (SELECT count(*) FROM vendors v WHERE v.market_id = m.id AND v.status = 'active') AS vendor_count"
        " FROM markets m WHERE city = $1 AND (active OR $2) ORDER BY name", city, include_inactive)
    return [dict(r) for r in rows]


async def _market(conn: asyncpg.Connection, city: str, market_id: str) -> Row:
    market = _d(await conn.fetchrow(f"SELECT {MARKET_COLUMNS} FROM markets WHERE city = $1 AND id = $2",
                                    city, market_id))
    if market is None:
        raise domain.not_found("Pasar", market_id)
    return market


async def market_with_vendors(conn: asyncpg.Connection, city: str, market_id: str) -> tuple[Row, list[Row]]:
    """The market and its active vendors (two queries)."""
    market = await _market(conn, city, market_id)
    return market, await list_vendors(conn, city, market_id=market_id, status="active")


async def market_stalls(conn: asyncpg.Connection, city: str, market_id: str) -> list[Row]:
    await _market(conn, city, market_id)
    rows = await conn.fetch(
        f"SELECT {STALL_COLUMNS}, (SELECT v.id FROM vendors v WHERE v.stall_id = s.id LIMIT 1) AS vendor_id"
        " FROM stalls s WHERE city = $1 AND market_id = $2 ORDER BY kind, block, number", city, market_id)
    return [dict(r) for r in rows]


async def daily_prices(conn: asyncpg.Connection, city: str, market_id: str, start: datetime,
                       end: datetime) -> tuple[Row, list[Row]]:
    """The market, and per active product of it the last price before ``end`` (the day's) and before ``start``."""
    market = await _market(conn, city, market_id)
    rows = await conn.fetch(
        "SELECT p.id AS product_id, p.name, p.category, p.unit, p.sold_by, p.vendor_id, v.name AS vendor_name,"
        " (SELECT h.price FROM price_history h WHERE h.product_id = p.id AND h.changed_at < $4"
        "   ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) AS price,"
        " (SELECT h.price FROM price_history h WHERE h.product_id = p.id AND h.changed_at < $3"
        "   ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) AS previous_price"
        " FROM products p JOIN vendors v ON v.id = p.vendor_id"
        " WHERE p.city = $1 AND p.market_id = $2 AND p.active AND v.status = 'active'"
        " ORDER BY p.category, p.name, v.name", city, market_id, start, end)
    return market, [dict(r) for r in rows]


async def list_rw_hubs(conn: asyncpg.Connection, city: str, *, kelurahan: str | None = None,
                       include_inactive: bool = False) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {HUB_COLUMNS} FROM rw_hubs WHERE city = $1 AND (active OR $2)"
        " AND ($3::text IS NULL OR lower(kelurahan) = lower($3)) ORDER BY kelurahan, rw",
        city, include_inactive, kelurahan)
    return [dict(r) for r in rows]


async def rw_hub(conn: asyncpg.Connection, city: str, hub_id: str) -> Row:
    hub = _d(await conn.fetchrow(f"SELECT {HUB_COLUMNS} FROM rw_hubs WHERE city = $1 AND id = $2", city, hub_id))
    if hub is None:
        raise domain.not_found("Hub RW", hub_id)
    return hub


# ---- vendors ------------------------------------------------------------------------------------------

async def _vendor(conn: asyncpg.Connection, city: str, vendor_id: str) -> Row | None:
    return _d(await conn.fetchrow(f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1 AND id = $2",
                                  city, vendor_id))


async def public_vendor(conn: asyncpg.Connection, city: str, vendor_id: str) -> Row:
    vendor = await _vendor(conn, city, vendor_id)
    if vendor is None or vendor["status"] != "active":
        raise domain.not_found("Pedagang", vendor_id)
    return vendor


async def own_vendor(conn: asyncpg.Connection, city: str, principal: Principal) -> Row:
    """The vendor token's own shop in this city (also a draft), or 403 ``no-vendor``."""
    vendor = await _vendor(conn, city, principal.vendor_id) if principal.vendor_id else None
    return policy.own_vendor(principal, vendor)


async def list_vendors(conn: asyncpg.Connection, city: str, *, market_id: str | None = None,
                       status: str | None = None, drafts_only: bool = False) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {VENDOR_COLUMNS} FROM vendors WHERE city = $1"
        " AND ($2::text IS NULL OR market_id = $2) AND ($3::text IS NULL OR status = $3)"
        " AND (NOT $4 OR status = 'draft') ORDER BY name",
        city, market_id, status, drafts_only)
    return [dict(r) for r in rows]


# ---- products -----------------------------------------------------------------------------------------

async def product_detail(conn: asyncpg.Connection, city: str, product_id: str, *, history: int = 14) -> Row:
    """An active product of an active vendor with its last ``history`` prices (two queries)."""
    product = _d(await conn.fetchrow(PRODUCT_SELECT + " WHERE p.city = $1 AND p.id = $2", city, product_id))
    if product is None or not product["active"] or product["vendor_status"] != "active":
        raise domain.not_found("Produk", product_id)
    rows = await conn.fetch(
        "SELECT price, changed_at FROM price_history WHERE city = $1 AND product_id = $2"
        " ORDER BY changed_at DESC, id DESC LIMIT $3", city, product_id, history)
    product["price_history"] = [dict(r) for r in rows]
    return product


async def own_products(conn: asyncpg.Connection, city: str, principal: Principal) -> list[Row]:
    """The vendor token's own products, delisted ones too (two queries)."""
    vendor = await own_vendor(conn, city, principal)
    rows = await conn.fetch(PRODUCT_SELECT + " WHERE p.city = $1 AND p.vendor_id = $2 ORDER BY p.active DESC, p.name",
                            city, vendor["id"])
    return [dict(r) for r in rows]


async def search(conn: asyncpg.Connection, city: str, q: str | None, *, market_id: str | None,
                 category: str | None, vendor_id: str | None, limit: int, offset: int) -> tuple[list[Row], int]:
    """``GET /products``: the free text parsed into terms (see ``search.py``), then ``search_products``."""
    terms = parse_query(q)
    return await search_products(conn, city, terms, phrases=query_phrases(terms), market_id=market_id,
                                 category=category, vendor_id=vendor_id, limit=limit, offset=offset)


async def search_products(conn: asyncpg.Connection, city: str, terms: list[QueryTerm], *,
                          phrases: tuple[str, ...] = (), market_id: str | None, category: str | None,
                          vendor_id: str | None, limit: int, offset: int) -> tuple[list[Row], int]:
    """Active products of active vendors matching every term; best matches first; (page, total).

    ``phrases`` (the query as typed and in canonical spelling) rank names containing them higher. One query
    (the total rides along as a window count); a page past the end costs a second one, the plain count.
    """
    args: list[Any] = [city, market_id, category, vendor_id]
    where = ["p.city = $1", "p.active", "v.status = 'active'", "($2::text IS NULL OR p.market_id = $2)",
             "($3::text IS NULL OR p.category = $3)", "($4::text IS NULL OR p.vendor_id = $4)"]
    # The WHERE's parameters come first and are all used by it, so the count below can reuse exactly them.
    anywhere_of: list[list[str]] = []
    for term in terms:
        anywhere = []
        for spelling in term.spellings:
            args.append(f"%{like_escape(spelling)}%")
            anywhere.append(f"${len(args)}")
        anywhere_of.append(anywhere)
        where.append("(" + " OR ".join(f"p.search_text LIKE {a}" for a in anywhere) + ")")
    where_args = len(args)
    rank_parts: list[str] = []
    for term, anywhere in zip(terms, anywhere_of, strict=True):
        name_word_start = []
        for spelling in term.spellings:
            args.append(f"% {like_escape(spelling)}%")
            name_word_start.append(f"(' ' || p.name_text) LIKE ${len(args)}")
        # 3: a word of the product's name starts with it; 2: inside the name; 1: category or vendor only.
        rank_parts.append(f"CASE WHEN {' OR '.join(name_word_start)} THEN 3"
                          f" WHEN {' OR '.join(f'p.name_text LIKE {a}' for a in anywhere)} THEN 2 ELSE 1 END")
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
        # Past the last page: no row carries the window count, so count the same WHERE on its own.
        total = int(await conn.fetchval(
            "SELECT count(*) FROM products p JOIN vendors v ON v.id = p.vendor_id WHERE " + " AND ".join(where),
            *args[:where_args]))
    return [dict(r) for r in rows], total


# ---- reservations -------------------------------------------------------------------------------------

async def reservation(conn: asyncpg.Connection, city: str, order_id: str) -> Row:
    """A reservation and its lines (support view), two queries."""
    row = _d(await conn.fetchrow(
        "SELECT order_id, city, market_id, status, expires_at, reason, created_at, updated_at FROM reservations"
        " WHERE city = $1 AND order_id = $2", city, order_id))
    if row is None:
        raise domain.reservation_not_found()
    lines = await conn.fetch("SELECT product_id, quantity, tracked, returned FROM reservation_lines"
                             " WHERE order_id = $1 ORDER BY product_id", order_id)
    row["lines"] = [dict(r) for r in lines]
    return row


# ---- open price information (issue #14) -------------------------------------------------------------

async def city_price_points(conn: asyncpg.Connection, city: str, window_start: datetime,
                            end: datetime) -> list[prices.PricedProduct]:
    """Every active product of an active vendor of the city that is a commodity, with its price history in
    ``[window_start, end)`` and the last price set before the window (two queries)."""
    rows = await conn.fetch(
        "SELECT p.id, p.name, p.unit, p.market_id FROM products p JOIN vendors v ON v.id = p.vendor_id"
        " WHERE p.city = $1 AND p.active AND v.status = 'active'", city)
    wanted = {r["id"]: r for r in rows if prices.commodity_of(r["name"], r["unit"]) is not None}
    history = await conn.fetch(
        "SELECT product_id, changed_at, price FROM ("
        "  SELECT DISTINCT ON (product_id) product_id, changed_at, price, id FROM price_history"
        "  WHERE city = $1 AND product_id = ANY($2::text[]) AND changed_at < $3"
        "  ORDER BY product_id, changed_at DESC, id DESC) AS before_window"
        " UNION ALL SELECT product_id, changed_at, price FROM price_history"
        " WHERE city = $1 AND product_id = ANY($2::text[]) AND changed_at >= $3 AND changed_at < $4"
        " ORDER BY 1, 2", city, list(wanted), window_start, end)
    points: dict[str, list[tuple[datetime, int]]] = {}
    for h in history:
        points.setdefault(h["product_id"], []).append((h["changed_at"], int(h["price"])))
    return [prices.PricedProduct(pid, r["name"], r["unit"], r["market_id"], points.get(pid, []))
            for pid, r in wanted.items()]

# ---- back office (issue #13) --------------------------------------------------------------------------

async def market_audit(conn: asyncpg.Connection, city: str, market_id: str, *, limit: int = 100) -> list[Row]:
    """Audit entries of a market, its stalls and its vendors (one query), newest first, with the names shown."""
    await _market(conn, city, market_id)
    rows = await conn.fetch(
        "SELECT a.id, a.at, a.actor, a.actor_roles, a.entity, a.entity_id, a.action, a.before, a.after,"
        " coalesce(v.name, m.name, s.kind || ' ' || s.block || '-' || s.number) AS label"
        " FROM audit_log a"
        " LEFT JOIN vendors v ON a.entity = 'vendor' AND v.id = a.entity_id"
        " LEFT JOIN stalls s ON a.entity = 'stall' AND s.id = a.entity_id"
        " LEFT JOIN markets m ON a.entity = 'market' AND m.id = a.entity_id"
        " WHERE a.city = $1 AND (m.id = $2 OR v.market_id = $2 OR s.market_id = $2)"
        " ORDER BY a.id DESC LIMIT $3", city, market_id, limit)
    return [{**dict(r), "actor_roles": list(r["actor_roles"]),
             "before": _audit_json(r["before"]), "after": _audit_json(r["after"])} for r in rows]


def _audit_json(value: Any) -> Any:
    """An audit side as a dict: ``shared.audit.write`` stores it JSON-encoded inside the jsonb (so the pool's
    codec hands back a string), read either way."""
    return json.loads(value) if isinstance(value, str) else value
