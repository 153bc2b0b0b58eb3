"""Where uploaded material files live: a small adapter, so object storage can replace the database later.

``BlobStore`` is the interface (put / get by key). The default, ``PgBlobStore``, keeps the bytes in the learning
schema's ``material_blobs`` (bytea) on the unit of work's own connection — the file exists if and only if its
material row committed. An object-storage adapter would put under the same key (and delete on rollback).
"""

from __future__ import annotations

from typing import Protocol

import asyncpg


class BlobStore(Protocol):
    async def put(self, city: str, key: str, content: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...


class PgBlobStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def put(self, city: str, key: str, content: bytes) -> None:
        await self.conn.execute("INSERT INTO material_blobs (storage_key, city, content) VALUES ($1, $2, $3)",
                                key, city, content)

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self.conn.fetchval(
            "SELECT content FROM material_blobs WHERE storage_key = $1", key)
        return value
