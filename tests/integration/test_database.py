"""Postgres ownership and migrations against the real server."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from deploy.provision import DATA_SERVICES, provision_database, service_database_url
from shared.db import SHARED_MIGRATIONS, MigrationError, migrate
from tests.conftest import Infra
from tests.integration.probe import new_schema

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def service_migrations(name: str) -> Path:
    return REPO / "services" / name / name / "migrations"


async def connect_as(infra: Infra, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(service_database_url(infra.admin_url, service))


async def test_each_service_role_owns_its_schema_and_is_denied_the_others(infra: Infra) -> None:
    for name in DATA_SERVICES:
        conn = await connect_as(infra, name)
        try:
            await migrate(conn, name, service_migrations(name))
            await conn.execute("INSERT INTO outbox(event_id, topic, message_key, event_type, city, headers, body)"
                               " VALUES (gen_random_uuid(), 't', 'k', 'E', 'cimahi', '{}', '')")
            await conn.execute("DELETE FROM outbox WHERE topic = 't'")
        finally:
            await conn.close()

    catalog = await connect_as(infra, "catalog")
    try:
        for other in ("orders", "payments", "learning"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await catalog.fetch(f"SELECT * FROM {other}.outbox")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await catalog.execute(f"INSERT INTO {other}.inbox(consumer, event_id, event_type)"
                                      " VALUES ('x', gen_random_uuid(), 'E')")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await catalog.execute(f"CREATE TABLE {other}.sneaky(id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await catalog.execute("CREATE TABLE public.sneaky(id int)")
    finally:
        await catalog.close()


async def test_provisioning_twice_changes_nothing(infra: Infra) -> None:
    await provision_database(infra.admin_url, DATA_SERVICES)
    conn = await connect_as(infra, "payments")
    try:
        assert await conn.fetchval("SELECT current_schema()") == "payments"
    finally:
        await conn.close()


async def _shape(conn: asyncpg.Connection, schema: str) -> list[tuple[str, str, str]]:
    rows = await conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1"
        " ORDER BY 1, 2", schema)
    return [(r[0], r[1], r[2]) for r in rows]


async def test_migrations_rerun_change_nothing_and_edited_files_are_refused(infra: Infra, tmp_path: Path) -> None:
    schema, dsn = await new_schema(infra.admin_url)
    (tmp_path / "001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY, name text);")
    conn = await asyncpg.connect(dsn)
    try:
        first = await migrate(conn, schema, tmp_path)
        kernel = sorted(f"shared/{p.name}" for p in SHARED_MIGRATIONS.glob("*.sql"))
        assert first == [*kernel, "001_things.sql"]
        shape = await _shape(conn, schema)
        recorded = await conn.fetch("SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name")

        assert await migrate(conn, schema, tmp_path) == []
        assert await _shape(conn, schema) == shape
        assert await conn.fetch("SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name") == recorded

        (tmp_path / "002_more.sql").write_text("ALTER TABLE things ADD COLUMN price int;")
        assert await migrate(conn, schema, tmp_path) == ["002_more.sql"]

        (tmp_path / "001_things.sql").write_text("CREATE TABLE things (id bigint PRIMARY KEY);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, schema, tmp_path)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(infra: Infra, tmp_path: Path) -> None:
    schema, dsn = await new_schema(infra.admin_url)
    (tmp_path / "001_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(dsn)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, schema, tmp_path)
        assert await conn.fetchval("SELECT to_regclass($1)", f"{schema}.half") is None
        names = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")]
        assert names == sorted(f"shared/{p.name}" for p in SHARED_MIGRATIONS.glob("*.sql"))
    finally:
        await conn.close()
