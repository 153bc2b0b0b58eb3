"""Test helpers: read a topic from the beginning, publish another service's event (when it is not built yet)."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.envelope import EventPayload, build_event


async def read_topic(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every envelope on ``topic`` up to its current end (no consumer group, nothing committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[dict[str, Any]] = []
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    try:
                        out.append(json.loads(record.value))
                    except (TypeError, ValueError):
                        continue
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return out
    finally:
        await consumer.stop()


def unique_events(envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop re-deliveries of the same event (the outbox may publish an event twice; consumers dedupe by id)."""
    seen: set[str] = set()
    out = []
    for env in envelopes:
        if env.get("event_id") not in seen:
            seen.add(env.get("event_id", ""))
            out.append(env)
    return out


async def publish(bootstrap: str, payload: EventPayload, *, city: str) -> None:
    """Publish an event as its owning service would (envelope, key, headers)."""
    outgoing = build_event(payload, city=city, correlation_id="learning-e2e-test")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(outgoing.topic, outgoing.body(), key=outgoing.key.encode(),
                                     headers=[(k, v.encode()) for k, v in outgoing.headers().items()])
    finally:
        await producer.stop()
