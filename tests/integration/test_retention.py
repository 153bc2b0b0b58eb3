"""The kernel prunes its own tables by their documented windows, and never an unsent outbox row."""

from __future__ import annotations

import uuid

import pytest

from shared.retention import Retention, prune_batch
from tests.conftest import Infra, scratch_schema

pytestmark = pytest.mark.integration


async def test_expired_kernel_rows_go_and_everything_else_stays(infra: Infra) -> None:
    async with scratch_schema(infra, "retention", None) as pool, pool.acquire() as conn:
        async def outbox(sent: str | None, created: str) -> uuid.UUID:
            event_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO outbox(event_id, topic, message_key, event_type, city, headers, body, created_at,"
                " sent_at) VALUES ($1, 't', 'k', 'E', 'cimahi', '{}', ''::bytea, now() - $2::text::interval,"
                " now() - $3::text::interval)", event_id, created, sent)
            return event_id

        old_sent = await outbox("100 hours", "101 hours")
        fresh_sent = await outbox("1 hour", "1 hour")
        never_sent = await outbox(None, "400 days")  # a relay that was down for a year still sends it
        for consumer, age in (("c-old", "36 days"), ("c-new", "2 days")):
            await conn.execute("INSERT INTO inbox(consumer, event_id, event_type, processed_at)"
                               " VALUES ($1, $2, 'E', now() - $3::text::interval)", consumer, uuid.uuid4(), age)
        for key, age in (("k-old", "3 days"), ("k-new", "1 hour")):
            await conn.execute("INSERT INTO idempotency_keys(scope, key, request_hash, status, response, created_at)"
                               " VALUES ('s', $1, 'h', 201, '{}', now() - $2::text::interval)", key, age)

        deleted = await prune_batch(conn, Retention())
        assert deleted == {"outbox": 1, "inbox": 1, "idempotency_keys": 1, "dead_letter_bodies": 0}
        left = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM outbox")}
        assert left == {fresh_sent, never_sent} and old_sent not in left
        assert [r["consumer"] for r in await conn.fetch("SELECT consumer FROM inbox")] == ["c-new"]
        assert [r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys")] == ["k-new"]
        assert await prune_batch(conn, Retention()) == dict.fromkeys(deleted, 0)
