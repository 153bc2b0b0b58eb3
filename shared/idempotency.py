"""``Idempotency-Key`` for requests that create money movements: the same key answers the same, once.

Use inside the transaction that creates the thing::

    async with conn.transaction():
        replay = await begin(conn, f"checkout:{buyer}", key, body_hash)
        if replay: return replay          # (status, response) of the first request
        ... create ...
        await remember(conn, f"checkout:{buyer}", key, body_hash, 201, response)

Concurrent requests with the same key are serialised by a transaction-scoped advisory lock, so exactly one
creates and the others replay its answer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import asyncpg

from shared.problems import Problem


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def begin(conn: asyncpg.Connection, scope: str, key: str | None, body_hash: str) -> tuple[int, Any] | None:
    if not key:
        return None
    if len(key) > 200:
        raise Problem(400, "Idempotency-Key terlalu panjang (maks. 200). / Idempotency-Key too long.",
                      code="bad-idempotency-key")
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"idem:{scope}:{key}")
    row = await conn.fetchrow("SELECT request_hash, status, response FROM idempotency_keys"
                              " WHERE scope = $1 AND key = $2", scope, key)
    if row is None:
        return None
    if row["request_hash"] != body_hash:
        raise Problem(422, "Idempotency-Key sudah dipakai untuk permintaan lain. / "
                           "This Idempotency-Key was used for a different request.", code="idempotency-key-reused")
    return int(row["status"]), row["response"]


async def remember(conn: asyncpg.Connection, scope: str, key: str | None, body_hash: str, status: int,
                   response: Any) -> None:
    if key:
        await conn.execute("INSERT INTO idempotency_keys(scope, key, request_hash, status, response)"
                           " VALUES ($1, $2, $3, $4, $5)", scope, key, body_hash, status, response)
