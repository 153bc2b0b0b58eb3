"""The payments workers' SQL on the real Postgres (a scratch schema): expiry, replicas draining the
notification table together (FOR UPDATE SKIP LOCKED) without applying anything twice, and the refund worker.

Use cases run in the kernel's unit of work (``shared.uow.Work``) on the scratch pool, as the workers do."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import payments
from payments import handlers
from payments.merchant import merchants_of_record
from payments.simulator import SimulatorAcquirer
from payments.store import PaymentsStore
from shared.bus import Incoming
from shared.cities import all_cities
from shared.envelope import build_event
from shared.events.orders import OrderPaymentRequested
from shared.uow import Work
from tests.conftest import Infra, scratch_schema
from tests.payments.fakes import SpyAcquirer

pytestmark = pytest.mark.integration
MIGRATIONS = Path(payments.__file__).resolve().parent / "migrations"
ISSUING = handlers.Issuing(SimulatorAcquirer(), merchants_of_record(all_cities()), all_cities())


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schema(infra, "payments", MIGRATIONS) as pool:
        yield pool


def work_on(pool: asyncpg.Pool) -> Work:
    return Work(lambda: pool, PaymentsStore)


async def new_intent(pool: asyncpg.Pool, amount: int = 20_000, *, minutes: int = 15) -> Any:
    order_id = str(uuid.uuid4())
    asked = OrderPaymentRequested(order_id=order_id, buyer_id="b", amount=amount, vendor_amounts={"v": amount})
    async with work_on(pool)(city=None) as uow:
        await handlers.create_intents(uow, [Incoming(build_event(asked, city="tegal", correlation_id="corr").envelope,
                                                      asked)],
                                      issuing=ISSUING, now=datetime.now(UTC) + timedelta(minutes=minutes - 15))
        uow.pending.clear()  # only the workers' own events are asserted below
        row = await uow.store.intent_by_order("tegal", order_id)
    assert row is not None
    return row


async def test_expiry_worker_expires_only_due_pending_intents(pool: asyncpg.Pool) -> None:
    due = await new_intent(pool, minutes=-1)
    fresh = await new_intent(pool)
    async with work_on(pool)(city=None) as uow:
        assert await handlers.expire_due(uow) == 1
    async with work_on(pool)(city=None) as uow:
        assert await handlers.expire_due(uow) == 0
        assert (await uow.store.intent_by_id("tegal", due["payment_id"]))["status"] == "expired"
        assert (await uow.store.intent_by_id("tegal", fresh["payment_id"]))["status"] == "pending"
        outbox = await uow.conn.fetch("SELECT event_type, message_key FROM outbox")
    assert [(r["event_type"], r["message_key"]) for r in outbox] == [("PaymentExpired", due["order_id"])]


async def test_replicas_drain_notifications_together_and_apply_each_once(pool: asyncpg.Pool) -> None:
    intents = [await new_intent(pool, amount=10_000 + i) for i in range(60)]
    async with pool.acquire() as conn:
        for i, intent in enumerate(intents):
            for copy in range(2):  # every payment notified twice under different request ids (gateway retry)
                row = await PaymentsStore(conn).store_notification(
                    city="tegal", request_id=f"r-{i}-{copy}", body="{}", body_sha256="x",
                    bill_number=intent["bill_number"], amount=intent["amount"], acquirer_reference=f"A-{i}",
                    paid_at=datetime.now(UTC), status="paid")
                assert row is not None

    async def replica() -> int:
        total = 0
        while True:
            async with work_on(pool)(city=None) as uow:
                n = await handlers.process_notifications(uow, batch_size=7)
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
        row = await PaymentsStore(conn).store_notification(
            city="tegal", request_id="poison", body="{}", body_sha256="x", bill_number=intent["bill_number"],
            amount=intent["amount"], acquirer_reference="A-P", paid_at=datetime.now(UTC), status="paid")
        assert row is not None
    async with work_on(pool)(city=None) as uow:
        await handlers.quarantine_notification(uow, row["id"], "RuntimeError('boom')")
    async with work_on(pool)(city=None) as uow:
        assert await handlers.process_notifications(uow) == 0
    async with pool.acquire() as conn:
        mismatch = await conn.fetchrow("SELECT kind, detail FROM payment_mismatches")
    assert (mismatch["kind"], mismatch["detail"]) == ("processing_error", "RuntimeError('boom')")


async def test_refunds_are_sent_after_commit_once_each_by_replicas_together(pool: asyncpg.Pool) -> None:
    """Second payments are refunded: decided in the notification batch (no acquirer call there), then sent by
    three refund workers sharing the queue (SKIP LOCKED): each refund reaches the acquirer exactly once."""
    intents = [await new_intent(pool, amount=5_000 + i) for i in range(12)]
    async with pool.acquire() as conn:
        for i, intent in enumerate(intents):
            for copy in range(2):  # two different payments for one intent: the second is refunded
                assert await PaymentsStore(conn).store_notification(
                    city="tegal", request_id=f"d-{i}-{copy}", body="{}", body_sha256="x",
                    bill_number=intent["bill_number"], amount=intent["amount"], acquirer_reference=f"D-{i}-{copy}",
                    paid_at=datetime.now(UTC), status="paid") is not None
    async with work_on(pool)(city=None) as uow:
        assert await handlers.process_notifications(uow) == 24
    async with pool.acquire() as conn:
        queued = await conn.fetchval("SELECT count(*) FROM refunds WHERE acquirer_refund_reference IS NULL")
        refunded = await conn.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'PaymentRefunded'")
    assert (queued, refunded) == (12, 12)

    acquirer = SpyAcquirer()

    async def replica() -> int:
        total = 0
        while True:
            async with work_on(pool)(city=None) as uow:
                n = await handlers.send_refunds(uow, acquirer=acquirer, limit=2)
            if n == 0:
                return total
            total += n

    assert sum(await asyncio.gather(replica(), replica(), replica())) == 12
    assert sorted(o.acquirer_reference or "" for o in acquirer.refunded) == sorted(f"D-{i}-1" for i in range(12))
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT acquirer_refund_reference, sent_at FROM refunds")
    assert len(rows) == 12 and all(r["acquirer_refund_reference"] and r["sent_at"] for r in rows)
