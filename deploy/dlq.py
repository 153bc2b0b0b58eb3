"""Dead-letter topics for operators: list, show and replay what a consumer could not process.

A consumer that cannot decode or apply a message writes it once to ``<topic>.dlq`` with ``x-dlq-*`` headers
(consumer group, source topic/partition/offset, error type and text, attempts, time; see ``shared.bus``).
Bodies too large to travel whole stay in the consuming service's ``dead_letter_bodies`` table and the DLQ
record carries a 16 KiB prefix and ``x-dlq-body-ref`` (``<schema>.dead_letter_bodies/<id>``).

Replay publishes the original key, body (the whole body, fetched from Postgres when the DLQ copy is a
prefix) and original headers back to the source topic, with ``x-replayed-from`` naming the DLQ record.
It is safe for every consumer group of that topic: inboxes are keyed by consumer and event id, so groups
that had applied the event skip it. What has been replayed is remembered as the committed offset of the
consumer group :data:`REPLAY_GROUP` on the DLQ topic, so ``replay`` never sends a record twice unless one is
named explicitly (``--partition/--offset``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from deploy.provision import DATABASE_NAME, admin_on_database
from shared.bus import DLQ_SUFFIX
from shared.kafka import KafkaSecurity

REPLAY_GROUP = "pasarkota-dlq-replay"
_BODY_REF = re.compile(r"(?P<schema>[a-z_][a-z0-9_]{0,62})\.dead_letter_bodies/(?P<id>[0-9a-f-]{36})")


@dataclass
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def source_topic(self) -> str:
        return self.headers.get("x-dlq-source-topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def truncated(self) -> bool:
        return self.headers.get("x-dlq-body-truncated") == "true"

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v.encode()) for k, v in self.headers.items() if not k.startswith("x-dlq-")]

    def summary(self) -> dict[str, Any]:
        h = self.headers
        return {"partition": self.partition, "offset": self.offset, "failed_at": h.get("x-dlq-failed-at"),
                "consumer": h.get("x-dlq-consumer"), "error_type": h.get("x-dlq-error-type"),
                "error": (h.get("x-dlq-error") or "")[:160], "event_type": h.get("event_type"),
                "city": h.get("city"), "source": f"{self.source_topic}/{h.get('x-dlq-source-partition')}"
                                                  f"/{h.get('x-dlq-source-offset')}",
                "size": int(h.get("x-dlq-body-size") or len(self.value)), "truncated": self.truncated}


def _security() -> dict[str, Any]:
    return KafkaSecurity.from_env().client_options()  # the same PASARKOTA_KAFKA_* settings as the services


def dlq_name(topic: str) -> str:
    """Accept ``orders.order.v1`` or ``orders.order.v1.dlq``; answer the DLQ topic."""
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


def _decode_headers(raw: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    return {k: (v or b"").decode("utf-8", "replace") for k, v in raw or ()}


async def dlq_topics(bootstrap: str) -> dict[str, int]:
    """Every DLQ topic on the cluster with the number of records it holds now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **_security())
    await admin.start()
    try:
        names = sorted(t for t in await admin.list_topics() if t.endswith(DLQ_SUFFIX))
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    partitions = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
    counts = dict.fromkeys(names, 0)
    if not partitions:
        return counts
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **_security())
    await consumer.start()
    try:
        begin = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    for tp in partitions:
        counts[tp.topic] += end[tp] - begin[tp]
    return counts


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    known = consumer.partitions_for_topic(topic)
    if not known:
        await consumer._client.force_metadata_update()  # aiokafka fills metadata lazily
        known = consumer.partitions_for_topic(topic)
    if not known:
        raise LookupError(f"no topic {topic} on the cluster")
    return [TopicPartition(topic, p) for p in sorted(known)]


async def read_dead_letters(bootstrap: str, topic: str, *, partition: int | None = None,
                            offset: int | None = None, from_group: bool = False,
                            limit: int | None = None) -> list[DeadLetter]:
    """DLQ records in offset order per partition: all, one (``partition`` + ``offset``), or the not yet
    replayed ones (``from_group``: from :data:`REPLAY_GROUP`'s committed offsets)."""
    topic = dlq_name(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **_security(),
                                group_id=REPLAY_GROUP if from_group else None,
                                fetch_max_bytes=8 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        tps = await _partitions(consumer, topic)
        if partition is not None:
            tps = [tp for tp in tps if tp.partition == partition]
            if not tps:
                raise LookupError(f"{topic} has no partition {partition}")
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        begin = await consumer.beginning_offsets(tps)
        for tp in tps:
            start = begin[tp]
            if offset is not None:
                start = offset
            elif from_group:
                committed = await consumer.committed(tp)
                start = max(begin[tp], committed) if committed is not None else begin[tp]
            consumer.seek(tp, start)
        stop = {tp: (min(offset + 1, end[tp]) if offset is not None else end[tp]) for tp in tps}
        found: list[DeadLetter] = []
        while [tp for tp in tps if await consumer.position(tp) < stop[tp]]:
            batch = await consumer.getmany(*tps, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= stop[tp]:
                        continue
                    found.append(DeadLetter(tp.topic, tp.partition, r.offset, r.key, r.value or b"",
                                            _decode_headers(r.headers)))
            if limit is not None and len(found) >= limit:
                break
        found.sort(key=lambda d: (d.partition, d.offset))
        return found[:limit] if limit is not None else found
    finally:
        await consumer.stop()


async def whole_body(dead: DeadLetter, admin_url: str | None) -> bytes:
    """The original body: the DLQ copy, or the stored whole body when the copy is a prefix."""
    if not dead.truncated:
        return dead.value
    ref = _BODY_REF.fullmatch(dead.headers.get("x-dlq-body-ref", ""))
    if ref is None or admin_url is None:
        raise LookupError(f"{dead.topic}/{dead.partition}/{dead.offset} is a truncated copy and its body "
                          "reference cannot be followed (DATABASE_URL needed)")
    conn = await asyncpg.connect(admin_on_database(admin_url, DATABASE_NAME))  # the services' database
    try:
        body = await conn.fetchval(f'SELECT body FROM "{ref["schema"]}".dead_letter_bodies WHERE id = $1',
                                   uuid.UUID(ref["id"]))
    finally:
        await conn.close()
    if body is None:
        raise LookupError(f"the body {ref.group(0)} is no longer stored")
    return bytes(body)


async def replay(bootstrap: str, topic: str, *, admin_url: str | None = None, partition: int | None = None,
                 offset: int | None = None, dry_run: bool = False) -> list[DeadLetter]:
    """Send DLQ records back to their source topic; answer what was (or, dry, would be) replayed.

    Without ``offset``: every record not replayed before, then :data:`REPLAY_GROUP`'s offsets move past them.
    With ``partition`` + ``offset``: that one record, whether or not it was replayed before.
    """
    topic = dlq_name(topic)
    chosen = await read_dead_letters(bootstrap, topic, partition=partition, offset=offset,
                                     from_group=offset is None)
    if dry_run or not chosen:
        return chosen
    bodies = [await whole_body(d, admin_url) for d in chosen]  # all resolvable before anything is sent
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **_security(),
                                max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for dead, body in zip(chosen, bodies, strict=True):
            headers = [*dead.original_headers(),
                       ("x-replayed-from", f"{dead.topic}/{dead.partition}/{dead.offset}".encode())]
            await producer.send_and_wait(dead.source_topic, body, key=dead.key, headers=headers)
    finally:
        await producer.stop()
    if offset is None:
        await _remember(bootstrap, chosen)
    return chosen


async def _remember(bootstrap: str, replayed: list[DeadLetter]) -> None:
    last: dict[TopicPartition, int] = {}
    for d in replayed:
        tp = TopicPartition(d.topic, d.partition)
        last[tp] = max(last.get(tp, -1), d.offset)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=REPLAY_GROUP, enable_auto_commit=False,
                                **_security())
    await consumer.start()
    try:
        consumer.assign(list(last))
        await consumer.commit({tp: OffsetAndMetadata(o + 1, "replayed") for tp, o in last.items()})
    finally:
        await consumer.stop()
