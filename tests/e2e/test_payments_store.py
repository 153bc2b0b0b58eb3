"""The payments workers' SQL on the real Postgres (a scratch schema): expiry, and replicas draining the
notification table together (FOR UPDATE SKIP LOCKED) without applying anything twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

import payments
from payments import handlers, store
from payments.simulator import SimulatorAcquirer
from shared.cities import get_city
from shared.events.orders import OrderPaymentRequested
from tests.conftest import Infra, scratch_schema

pytestmark = pytest.mark.integration
MIGRATIONS = Path(payments.__file__).resolve().parent / "migrations"
ACQUIRER = SimulatorAcquirer()


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schema(infra, "payments", MIGRATIONS) as pool:
        yield pool


async def new_intent(pool: asyncpg.Pool, amount: int = 20_000, *, minutes: int = 15) -> asyncpg.Record:
    order_id = str(uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        async def no_emit(_: object) -> None:
            return None
        await handlers.create_intent(conn, ACQUIRER, get_city("tegal"), OrderPaymentRequested(
            order_id=order_id, buyer_id="b", amount=amount, vendor_amounts={"v": amount}), no_emit, "corr",
            now=datetime.now(UTC) + timedelta(minutes=minutes - 15))
        row = await store.intent_by_order(conn, "tegal", order_id)
    assert row is not None
    return row


async def test_expiry_worker_expires_only_due_pending_intents(pool: asyncpg.Pool) -> None:
    due = await new_intent(pool, minutes=-1)
    fresh = await new_intent(pool)
    async with pool.acquire() as conn, conn.transaction():
        assert await handlers.expire_due(conn) == 1
    async with pool.acquire() as conn, conn.transaction():
        assert await handlers.expire_due(conn) == 0
        assert (await store.intent_by_id(conn, "tegal", due["payment_id"]))["status"] == "expired"
        assert (await store.intent_by_id(conn, "tegal", fresh["payment_id"]))["status"] == "pending"
        outbox = await conn.fetch("SELECT event_type, message_key FROM outbox")
    assert [(r["event_type"], r["message_key"]) for r in outbox] == [("PaymentExpired", due["order_id"])]


async def test_replicas_drain_notifications_together_and_apply_each_once(pool: asyncpg.Pool) -> None:
    intents = [await new_intent(pool, amount=10_000 + i) for i in range(60)]
    async with pool.acquire() as conn:
        for i, intent in enumerate(intents):
            for copy in range(2):  # every payment notified twice under different request ids (gateway retry)
                row = await store.store_notification(
                    conn, city="tegal", request_id=f"r-{i}-{copy}", body="{}", body_sha256="x",
                    bill_number=intent["bill_number"], amount=intent["amount"], acquirer_reference=f"A-{i}",
                    paid_at=datetime.now(UTC), status="paid")
                assert row is not None

    async def replica() -> int:
        total = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                n = await handlers.process_notifications(conn, ACQUIRER, batch_size=7)
            if n == 0:
                return total
            total += n

    counts = await asyncio.gather(replica(), replica(), replica())
    assert sum(counts) == 120
    async with pool.acquire() as conn:
        outcomes = await conn.fetch("SELECT outcome, count(*) AS n FROM acquirer_notifications GROUP BY outcome")
        events = await conn.fetch("SELECT event_type, body FROM outbox")
        statuses = await conn.fetch("SELECT DISTINCT status FROM payment_intents")
    assert {r["outcome"]: r["n"] for r in outcomes} == {"paid": 60, "repeat": 60}
    succeeded = [json.loads(r["body"])["payload"]["order_id"] for r in events if r["event_type"] == "PaymentSucceeded"]
    assert sorted(succeeded) == sorted(i["order_id"] for i in intents)
    assert [r["status"] for r in statuses] == ["succeeded"]


async def test_a_quarantined_notification_is_visible_and_no_longer_queued(pool: asyncpg.Pool) -> None:
    intent = await new_intent(pool)
    async with pool.acquire() as conn:
        row = await store.store_notification(
            conn, city="tegal", request_id="poison", body="{}", body_sha256="x", bill_number=intent["bill_number"],
            amount=intent["amount"], acquirer_reference="A-P", paid_at=datetime.now(UTC), status="paid")
        assert row is not None
        async with conn.transaction():
            await handlers.quarantine_notification(conn, row["id"], "RuntimeError('boom')")
        async with conn.transaction():
            assert await handlers.process_notifications(conn, ACQUIRER) == 0
        mismatch = await conn.fetchrow("SELECT kind, detail FROM payment_mismatches")
    assert (mismatch["kind"], mismatch["detail"]) == ("processing_error", "RuntimeError('boom')")
