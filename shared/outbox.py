"""The transactional outbox: events are rows written in the state change's own transaction, then relayed.

The relay publishes with ``acks=all`` and an idempotent producer, in id order, and marks rows sent only
after Kafka confirmed them. A crash between publish and mark re-publishes those rows; consumers drop the
duplicates through their inbox (same ``event_id``). One relay per schema holds an advisory lock, so the
order per key is the order of commit even with several replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.envelope import Envelope, EventPayload, OutgoingEvent, build_event
from shared.kafka import PLAINTEXT, KafkaSecurity
from shared.logging import get_logger
from shared.metrics import EVENTS_PUBLISHED, OUTBOX_LAG, OUTBOX_OLDEST_AGE

log = get_logger(__name__)


async def add_to_outbox(conn: asyncpg.Connection, events: Iterable[OutgoingEvent]) -> None:
    """Write events into the outbox of the connection's schema, in one statement whatever their number (a polled
    batch's events are one round trip). Call inside the state change's transaction; ids follow list order."""
    rows = [(e.envelope.event_id, e.topic, e.key, e.envelope.event_type, e.envelope.city, e.headers(), e.body())
            for e in events]
    if rows:
        await conn.execute(
            "INSERT INTO outbox(event_id, topic, message_key, event_type, city, headers, body)"
            " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[],"
            " $7::bytea[])",
            *[[r[i] for r in rows] for i in range(7)])


async def emit(
    conn: asyncpg.Connection, payload: EventPayload, *, city: str, causation: Envelope | None = None,
    correlation_id: str | None = None, key: str | None = None,
) -> OutgoingEvent:
    """Build an event and write it to the outbox (inside the caller's transaction)."""
    outgoing = build_event(payload, city=city, causation=causation, correlation_id=correlation_id, key=key)
    await add_to_outbox(conn, [outgoing])
    return outgoing


def _crash_point(fault_inject: str, point: str) -> None:
    """Test-only: die like a killed process at a named point (``PASARKOTA_FAULT_INJECT=relay:<point>``)."""
    if fault_inject == f"relay:{point}":
        log.warning("fault injected: relay exits", point=point)
        os._exit(137)


class OutboxRelay:
    """Moves committed outbox rows of one schema to Kafka."""

    def __init__(self, pool: asyncpg.Pool, schema: str, bootstrap: str, service: str, *,
                 batch_size: int = 500, idle_poll_ms: int = 500, fault_inject: str = "",
                 security: KafkaSecurity = PLAINTEXT, linger_ms: int = 5, max_batch_bytes: int = 262_144,
                 compression_type: str = "none") -> None:
        self.security = security
        self.producer_options: dict[str, Any] = {
            "linger_ms": linger_ms, "max_batch_size": max_batch_bytes,
            "compression_type": None if compression_type == "none" else compression_type}
        self.pool = pool
        self.schema = schema
        self.bootstrap = bootstrap
        self.service = service
        self.batch_size = batch_size
        self.idle_poll = idle_poll_ms / 1000
        self.fault_inject = fault_inject
        self._wake = asyncio.Event()
        self.running = False
        self.is_leader = False

    async def run(self) -> None:
        """Run until cancelled. Survives Kafka and Postgres outages by retrying with backoff."""
        self.running = True
        backoff = 0.2
        try:
            while True:
                try:
                    await self._run_as_leader()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("outbox relay error; retrying", error=repr(exc), backoff=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            self.running = False

    async def _run_as_leader(self) -> None:
        async with self.pool.acquire() as lock_conn:
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"relay:{self.schema}"):
                await asyncio.sleep(1.0)
            self.is_leader = True
            channel = f"outbox_{self.schema}"
            await lock_conn.add_listener(channel, self._on_notify)
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                client_id=f"{self.service}-outbox", **self.producer_options, **self.security.client_options(),
            )
            await producer.start()
            try:
                while True:
                    sent = await self.relay_batch(producer)
                    if sent < self.batch_size:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.idle_poll)
            finally:
                self.is_leader = False
                await producer.stop()
                with contextlib.suppress(Exception):
                    await lock_conn.remove_listener(channel, self._on_notify)
                    await lock_conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"relay:{self.schema}")

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def relay_batch(self, producer: AIOKafkaProducer) -> int:
        """Publish one batch of unsent rows in id order; mark them sent once Kafka confirmed all."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, message_key, headers, body, created_at FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id LIMIT $1", self.batch_size)
            await self._record_lag(conn, len(rows))
            if not rows:
                return 0
            futures = []
            for row in rows:
                headers = [(k, str(v).encode()) for k, v in row["headers"].items()]
                futures.append(await producer.send(
                    row["topic"], value=row["body"], key=row["message_key"].encode(), headers=headers))
            _crash_point(self.fault_inject, "after_send")
            await asyncio.gather(*futures)
            _crash_point(self.fault_inject, "after_publish")
            await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                               [r["id"] for r in rows])
            for row in rows:
                EVENTS_PUBLISHED.labels(self.service, row["topic"]).inc()
            return len(rows)

    async def _record_lag(self, conn: asyncpg.Connection, batch: int) -> None:
        if batch < self.batch_size:
            OUTBOX_LAG.labels(self.service).set(batch)
        else:
            OUTBOX_LAG.labels(self.service).set(
                await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        age = await conn.fetchval(
            "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox WHERE sent_at IS NULL")
        OUTBOX_OLDEST_AGE.labels(self.service).set(float(age or 0))

    async def lag(self) -> int:
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
