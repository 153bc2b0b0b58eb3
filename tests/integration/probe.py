"""A test-only event type and helpers shared by the kernel's integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.envelope import EventPayload, event

PROBE_TOPIC = "test.probe.v1"


@event("ProbeHappened", 1, PROBE_TOPIC, key="key")
class ProbeHappened(EventPayload):
    run_id: str
    seq: int
    key: str
    fail: bool = False


async def new_schema(admin_url: str) -> tuple[str, str]:
    """A fresh service-like schema with its own login role; returns (schema, dsn)."""
    from deploy.provision import provision_database, service_database_url

    schema = f"kt_{uuid.uuid4().hex[:10]}"
    await provision_database(admin_url, (schema,))
    return schema, service_database_url(admin_url, schema)


async def read_topic(bootstrap: str, topic: str, needle: bytes) -> list[tuple[int, bytes, dict[str, bytes]]]:
    """Every record on ``topic`` (all partitions, from the start) whose value contains ``needle``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]
    assert partitions, f"topic {topic} has no partitions"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for r in records:
                    if needle in (r.value or b""):
                        found.append((tp.partition, r.value, dict(r.headers or ())))
        return found
    finally:
        # aiokafka's group-less coordinator may surface its own cancelled task on stop; not our concern here.
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def effects(dsn: str, schema: str, run_id: str) -> list[int]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return [r["seq"] for r in await conn.fetch("SELECT seq FROM effects WHERE run_id = $1 ORDER BY id", run_id)]
    finally:
        await conn.close()
