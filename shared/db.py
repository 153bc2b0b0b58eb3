"""Database wiring: a pool bound to the service's own schema, and numbered SQL migrations."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import asyncpg

from shared import fastjson

SHARED_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# asyncpg raises InterfaceError both for a lost connection and for our own mistakes (a query given the wrong
# number of arguments, a connection used twice at once): only these messages mean the connection is gone.
_LOST_CONNECTION = ("connection is closed", "connection was closed", "pool is closing", "pool is closed")


def is_outage(exc: BaseException) -> bool:
    """True only for errors that say the database is unreachable (refused, lost, shutting down), not that the
    request, the message or our code is wrong: consumers retry later instead of dead-lettering, HTTP answers
    503. Everything else is a bug or bad input and must show as one (500 + log, or the DLQ)."""
    if isinstance(exc, asyncpg.InterfaceError):
        return any(m in str(exc) for m in _LOST_CONNECTION)
    # InternalClientError: asyncpg's protocol state broke, which in practice is a connection dying mid-call.
    return isinstance(exc, (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError,
                            asyncpg.InternalClientError, asyncpg.exceptions.OperatorInterventionError,
                            asyncpg.exceptions.TooManyConnectionsError))


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=fastjson.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, schema: str, service: str, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see only ``schema`` by default (``search_path``)."""
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=max_size, init=_init_connection,
        server_settings={"search_path": schema, "application_name": service},
    )
    assert pool is not None
    return pool


def migration_files(service_dir: Path | None) -> list[tuple[str, Path]]:
    """The ordered migrations of a service: the kernel's first (``shared/…``), then its own."""
    files = [(f"shared/{p.name}", p) for p in sorted(SHARED_MIGRATIONS.glob("*.sql"))]
    if service_dir is not None:
        files += [(p.name, p) for p in sorted(service_dir.glob("*.sql"))]
    return files


class MigrationError(RuntimeError):
    pass


async def migrate(conn: asyncpg.Connection, schema: str, service_dir: Path | None) -> list[str]:
    """Apply the migrations not yet recorded in ``<schema>.schema_migrations``; returns those applied.

    Serialised by an advisory lock so replicas starting together apply each file once. A recorded file whose
    content changed is refused: migrations are append-only.
    """
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
        for name, path in migration_files(service_dir):
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in done:
                if done[name] != checksum:
                    raise MigrationError(f"migration {name} of schema {schema} changed after it was applied; "
                                         "add a new numbered file instead")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations(name, checksum) VALUES ($1, $2)", name, checksum)
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
    return applied
