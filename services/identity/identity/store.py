"""``IdentityStore``: every write and aggregate load of the ``identity`` schema, on one connection.

Built by the kernel for each unit of work, so it always runs inside that unit's transaction. Reads for pages
are in ``queries.py``. Locks: a challenge row (FOR UPDATE) while its try is counted; a refresh token row
(FOR UPDATE) while it is rotated, so two concurrent uses of one token cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

Row: TypeAlias = Any


class IdentityStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------------------------------- accounts

    async def account_by_phone(self, phone: str) -> Row | None:
        return await self.conn.fetchrow("SELECT * FROM accounts WHERE phone = $1 FOR UPDATE", phone)

    async def account(self, account_id: str) -> Row | None:
        return await self.conn.fetchrow("SELECT * FROM accounts WHERE account_id = $1", account_id)

    async def insert_account(self, account_id: str, phone: str, name: str | None, home_city: str) -> Row | None:
        """The new account, or None when the phone already has one (a concurrent sign-up won)."""
        return await self.conn.fetchrow(
            "INSERT INTO accounts(account_id, phone, name, home_city) VALUES ($1,$2,$3,$4)"
            " ON CONFLICT DO NOTHING RETURNING *", account_id, phone, name, home_city)

    async def set_name(self, account_id: str, name: str) -> None:
        await self.conn.execute("UPDATE accounts SET name = $2, updated_at = now() WHERE account_id = $1",
                                account_id, name)

    async def anonymise_account(self, account_id: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE accounts SET phone = NULL, name = NULL, deleted_at = $2, updated_at = $2 WHERE account_id = $1",
            account_id, now)

    async def forget_challenges(self, phone: str) -> None:
        await self.conn.execute("UPDATE challenges SET phone = 'deleted' WHERE phone = $1", phone)

    # ------------------------------------------------------------------------------------------- grants

    async def live_grants(self, account_id: str) -> list[Row]:
        return list(await self.conn.fetch(
            "SELECT * FROM grants WHERE account_id = $1 AND revoked_at IS NULL ORDER BY granted_at, grant_id",
            account_id))

    async def insert_grant(self, grant_id: str, account_id: str, city: str, role: str, scope: str | None,
                           granted_by: str, reason: str | None) -> Row | None:
        """The new grant, or None when the account already holds it (live)."""
        return await self.conn.fetchrow(
            "INSERT INTO grants(grant_id, account_id, city, role, scope, granted_by, reason)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING RETURNING *",
            grant_id, account_id, city, role, scope, granted_by, reason)

    async def grant_for_update(self, grant_id: str) -> Row | None:
        return await self.conn.fetchrow("SELECT * FROM grants WHERE grant_id = $1 FOR UPDATE", grant_id)

    async def revoke_grant(self, grant_id: str, revoked_by: str, reason: str | None, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE grants SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE grant_id = $1",
            grant_id, now, revoked_by, reason)

    # ------------------------------------------------------------------------------------------- challenges

    async def lock_phone(self, phone: str) -> None:
        """Serialise code requests for one phone (the limits below are counted under it)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('identity-phone:' || $1))", phone)

    async def codes_for_phone_since(self, phone: str, since: datetime) -> tuple[int, datetime | None, datetime | None]:
        """Codes sent to ``phone`` since ``since``: how many, the oldest, and the newest still unused (the
        resend cool-down counts from it; a code that signed in does not hold the next sign-in back)."""
        row = await self.conn.fetchrow(
            "SELECT count(*) AS n, min(created_at) AS oldest,"
            " max(created_at) FILTER (WHERE used_at IS NULL) AS newest FROM challenges"
            " WHERE phone = $1 AND created_at > $2", phone, since)
        return int(row["n"]), row["oldest"], row["newest"]

    async def codes_from_address_since(self, address: str, since: datetime) -> tuple[int, datetime | None]:
        row = await self.conn.fetchrow(
            "SELECT count(*) AS n, min(created_at) AS oldest FROM challenges WHERE client_addr = $1"
            " AND created_at > $2", address, since)
        return int(row["n"]), row["oldest"]

    async def insert_challenge(self, challenge_id: str, city: str, phone: str, client_addr: str, purpose: str,
                               code_hash: bytes, now: datetime, expires_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO challenges(challenge_id, city, phone, client_addr, purpose, code_hash, created_at,"
            " expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            challenge_id, city, phone, client_addr, purpose, code_hash, now, expires_at)

    async def count_try(self, city: str, challenge_id: str) -> Row | None:
        """The challenge with this try counted (locked for the rest of the transaction), or None."""
        return await self.conn.fetchrow(
            "UPDATE challenges SET tries = tries + 1 WHERE challenge_id = $1 AND city = $2 RETURNING *",
            challenge_id, city)

    async def mark_used(self, challenge_id: str, now: datetime) -> None:
        await self.conn.execute("UPDATE challenges SET used_at = $2 WHERE challenge_id = $1", challenge_id, now)

    # ------------------------------------------------------------------------------------------- refresh tokens

    async def insert_refresh(self, token_hash: bytes, family_id: str, account_id: str, city: str,
                             now: datetime, expires_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO refresh_tokens(token_hash, family_id, account_id, city, issued_at, expires_at)"
            " VALUES ($1,$2,$3,$4,$5,$6)", token_hash, family_id, account_id, city, now, expires_at)

    async def refresh_for_update(self, token_hash: bytes) -> Row | None:
        return await self.conn.fetchrow("SELECT * FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE", token_hash)

    async def mark_refresh_used(self, token_hash: bytes, now: datetime) -> None:
        await self.conn.execute("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", token_hash, now)

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self.conn.execute("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
                                family_id, now)

    async def revoke_account_tokens(self, account_id: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL", account_id, now)

    # ------------------------------------------------------------------------------------------- vendors (catalog)

    async def upsert_vendor(self, vendor_id: str, city: str, market_id: str) -> None:
        await self.conn.execute(
            "INSERT INTO vendors(vendor_id, city, market_id) VALUES ($1,$2,$3) ON CONFLICT (vendor_id)"
            " DO UPDATE SET market_id = EXCLUDED.market_id, updated_at = now()", vendor_id, city, market_id)

    async def vendor_market(self, city: str, vendor_id: str) -> str | None:
        market: str | None = await self.conn.fetchval(
            "SELECT market_id FROM vendors WHERE city = $1 AND vendor_id = $2", city, vendor_id)
        return market


# ------------------------------------------------------------------------------------------------ city directory
# (appended as functions taking the store, so the class above stays as it was: issue #14)

async def city_document_for_update(store: IdentityStore, slug: str) -> Row | None:
    return await store.conn.fetchrow("SELECT * FROM city_documents WHERE slug = $1 FOR UPDATE", slug)


async def city_slugs(store: IdentityStore) -> set[str]:
    return {r["slug"] for r in await store.conn.fetch("SELECT slug FROM city_documents")}


async def insert_city_document(store: IdentityStore, slug: str, document: dict[str, Any], added_by: str) -> bool:
    """False when the slug is taken (a concurrent add won): the directory never holds a slug twice."""
    import json

    done = await store.conn.fetchval(
        "INSERT INTO city_documents(slug, document, added_by) VALUES ($1, $2::jsonb, $3)"
        " ON CONFLICT (slug) DO NOTHING RETURNING slug", slug, json.dumps(document), added_by)
    return done is not None


async def update_city_document(store: IdentityStore, slug: str, document: dict[str, Any], updated_by: str) -> int:
    """The new version."""
    import json

    version: int = await store.conn.fetchval(
        "UPDATE city_documents SET document = $2::jsonb, version = version + 1, updated_by = $3, updated_at = now()"
        " WHERE slug = $1 RETURNING version", slug, json.dumps(document), updated_by)
    return version
