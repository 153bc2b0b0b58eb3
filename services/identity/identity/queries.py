"""The read side identity's routes need: an account's own data (export), a city's staff grants."""

from __future__ import annotations

from typing import Any

import asyncpg

from identity.domain import ALL_CITIES
from shared.phone import masked


async def me(conn: asyncpg.Connection, account_id: str) -> dict[str, Any] | None:
    account = await conn.fetchrow("SELECT * FROM accounts WHERE account_id = $1 AND deleted_at IS NULL", account_id)
    if account is None:
        return None
    grants = await conn.fetch("SELECT grant_id, city, role, scope, granted_at FROM grants WHERE account_id = $1"
                              " AND revoked_at IS NULL ORDER BY granted_at", account_id)
    return {"account_id": account_id, "phone": account["phone"], "name": account["name"],
            "grants": [{**dict(g), "granted_at": g["granted_at"].isoformat()} for g in grants]}


async def export(conn: asyncpg.Connection, account_id: str) -> dict[str, Any] | None:
    """Everything identity holds about the account (UU 27/2022): account, grants (live and past), sign-ins, sessions."""
    account = await conn.fetchrow("SELECT * FROM accounts WHERE account_id = $1 AND deleted_at IS NULL", account_id)
    if account is None:
        return None
    grants = await conn.fetch("SELECT grant_id, city, role, scope, granted_by, reason, granted_at, revoked_at,"
                              " revoked_by, revoke_reason FROM grants WHERE account_id = $1 ORDER BY granted_at",
                              account_id)
    sign_ins = await conn.fetch("SELECT challenge_id, city, client_addr, purpose, tries, created_at, used_at"
                                " FROM challenges WHERE phone = $1 ORDER BY created_at", account["phone"])
    sessions = await conn.fetch("SELECT family_id, city, min(issued_at) AS started_at, max(issued_at) AS last_used_at,"
                                " bool_or(revoked_at IS NOT NULL) AS revoked FROM refresh_tokens WHERE account_id = $1"
                                " GROUP BY family_id, city ORDER BY started_at", account_id)

    def rows(records: list[asyncpg.Record]) -> list[dict[str, Any]]:
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in records]

    return {"service": "identity",
            "account": {"account_id": account_id, "phone": account["phone"], "name": account["name"],
                        "home_city": account["home_city"], "created_at": account["created_at"].isoformat()},
            "grants": rows(grants), "sign_ins": rows(sign_ins), "sessions": rows(sessions)}


async def city_directory(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every city: the seed file's and those added at runtime (with version and who added it). Nothing about
    secrets: identity holds none (payments answers whether it has a city's webhook secret, issue #14)."""
    from shared.cities import all_cities, seed_slugs

    added = {r["slug"]: r for r in await conn.fetch("SELECT slug, version, added_by, added_at FROM city_documents")}
    seeds = seed_slugs()
    out = []
    for slug, city in sorted(all_cities().items()):
        row = added.get(slug)
        out.append({"slug": slug, "name": city.name, "timezone": city.timezone,
                    "source": "seed" if slug in seeds else "runtime",
                    "version": row["version"] if row else None, "added_by": row["added_by"] if row else None,
                    "added_at": row["added_at"].isoformat() if row else None})
    for slug, row in sorted(added.items()):  # in identity's directory, not yet projected here (seconds)
        if slug not in all_cities():
            out.append({"slug": slug, "name": None, "source": "runtime", "version": row["version"],
                        "added_by": row["added_by"], "added_at": row["added_at"].isoformat(), "pending": True})
    return out


async def city_grants(conn: asyncpg.Connection, city: str, *, market_id: str | None = None) -> list[dict[str, Any]]:
    """Live grants in ``city`` (not operators'); only vendors of ``market_id`` for a market admin."""
    rows = await conn.fetch(
        "SELECT g.*, a.phone, a.name FROM grants g JOIN accounts a USING (account_id)"
        " WHERE g.city = $1 AND g.revoked_at IS NULL AND g.city <> $2"
        " AND ($3::text IS NULL OR (g.role = 'vendor' AND g.scope IN"
        "      (SELECT vendor_id FROM vendors WHERE market_id = $3)))"
        " ORDER BY g.role, g.granted_at LIMIT 500", city, ALL_CITIES, market_id)
    return [{"grant_id": r["grant_id"], "account_id": r["account_id"], "role": r["role"], "scope": r["scope"],
             "phone": masked(r["phone"]) if r["phone"] else None, "name": r["name"],
             "granted_by": r["granted_by"], "reason": r["reason"], "granted_at": r["granted_at"].isoformat()}
            for r in rows]


async def grants_audit(conn: asyncpg.Connection, city: str, *, market_id: str | None = None,
                       limit: int = 100) -> list[dict[str, Any]]:
    """The audit list of the city's grants (granted / revoked), newest first; a market admin's
    (``market_id``): only the vendor grants of their market — one query."""
    import json

    rows = await conn.fetch(
        "SELECT a.id, a.at, a.actor, a.actor_roles, a.entity, a.entity_id, a.action, a.before, a.after"
        " FROM audit_log a LEFT JOIN grants g ON g.grant_id = a.entity_id"
        " WHERE a.city = $1 AND a.entity = 'grant'"
        " AND ($2::text IS NULL OR (g.role = 'vendor' AND g.scope IN"
        "      (SELECT vendor_id FROM vendors WHERE market_id = $2)))"
        " ORDER BY a.id DESC LIMIT $3", city, market_id, limit)

    def side(value: Any) -> Any:  # shared.audit stores each side JSON-encoded inside the jsonb
        return json.loads(value) if isinstance(value, str) else value

    return [{**dict(r), "at": r["at"].isoformat(), "actor_roles": list(r["actor_roles"]),
             "before": side(r["before"]), "after": side(r["after"])} for r in rows]
