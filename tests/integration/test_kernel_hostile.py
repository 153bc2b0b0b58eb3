"""Hostile messages against the event kernel on the real broker and database (issue #18, items 1, 2, 10).

No message, of any shape or size, may stall its partition or be dead-lettered twice — not even when the batch
it arrived in is read again after an outage.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from deploy.provision import PlannedTopic, ensure_topics
from shared.bus import DLQ_INLINE_MAX, DLQ_PREFIX_BYTES, EventBus
from shared.db import create_pool, migrate
from shared.envelope import build_event
from shared.metrics import CONSUMER_NACKS, DEAD_LETTERS_TRUNCATED
from shared.outbox import OutboxRelay
from shared.uow import PgUnitOfWork
from tests.conftest import Infra, eventually
from tests.integration.probe import ProbeHappened, effects, new_schema, read_topic

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
TOPIC = "test.probe.v1"


@pytest.fixture(scope="module")
async def topics(infra: Infra) -> None:
    await ensure_topics(infra.bootstrap, [PlannedTopic(TOPIC, 3, 24), PlannedTopic(TOPIC + ".dlq", 1, 24)])


class Running:
    def __init__(self, schema: str, dsn: str, pool: asyncpg.Pool, bus: EventBus, group: str) -> None:
        self.schema, self.dsn, self.pool, self.bus, self.group = schema, dsn, pool, bus, group
        self.outage_once: set[int] = set()


@pytest.fixture
async def running(infra: Infra, topics: None) -> AsyncIterator[Running]:
    schema, dsn = await new_schema(infra.admin_url)
    pool = await create_pool(dsn, schema, schema, max_size=5)
    async with pool.acquire() as conn:
        await migrate(conn, schema, HERE / "kernel_migrations")
    bus = EventBus(schema, infra.bootstrap, max_attempts=2, backoff_ms=10, batch_size=100)
    name = f"hostile-{uuid.uuid4().hex[:6]}"
    consumer = bus.consumer(name, [TOPIC])
    run = Running(schema, dsn, pool, bus, consumer.group_id)

    @consumer.on(ProbeHappened)
    async def apply_probe(uow: PgUnitOfWork[None], probe: ProbeHappened) -> None:
        if probe.seq in run.outage_once:  # the database "goes away" once while this batch is applied
            run.outage_once.discard(probe.seq)
            raise ConnectionRefusedError(111, "simulated outage")
        await uow.conn.execute("INSERT INTO effects(run_id, seq) VALUES ($1, $2)", probe.run_id, probe.seq)

    relay = OutboxRelay(pool, schema, infra.bootstrap, schema, batch_size=100, idle_poll_ms=50)
    relay_task = asyncio.create_task(relay.run())
    await bus.start(pool)
    try:
        yield run
    finally:
        await bus.stop()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await pool.close()


async def produce(bootstrap: str, key: bytes, values: list[bytes], headers: list[tuple[str, bytes]] | None = None
                  ) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for value in values:  # one key → one partition, in this order
            await producer.send_and_wait(TOPIC, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def dead_letters(bootstrap: str, group: str, needle: bytes) -> list[dict[str, bytes]]:
    found = await read_topic(bootstrap, TOPIC + ".dlq", needle)
    return [h for _, _, h in found if h.get("x-dlq-consumer") == group.encode()]


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def test_any_shape_of_bad_message_is_dead_lettered_once_even_when_its_batch_is_read_again(
        infra: Infra, running: Running) -> None:
    run_id = uuid.uuid4().hex
    marker = run_id.encode()
    bad = [
        deep_json(100_000) + b" " + marker,                       # past the JSON parser's nesting limit
        b'{"event_id": "' + marker + b'"}',                        # JSON, not an envelope
        b"[1, 2, 3, " + marker + b"]",                              # not JSON at all
        b'"' + marker + b'"',                                       # JSON, but a string
        b'{"' + marker + b'": ' + deep_json(50_000) + b"}",       # deep inside an object
        "\udcff".encode("utf-8", "surrogatepass") + marker,        # not UTF-8
    ]
    first = build_event(ProbeHappened(run_id=run_id, seq=1, key="k"), city="cimahi").body()
    last = build_event(ProbeHappened(run_id=run_id, seq=2, key="k"), city="cimahi").body()
    running.outage_once.add(2)  # the batch with the bad messages is nacked once and read again
    nacks_before = CONSUMER_NACKS.labels(running.schema, running.group.split(".", 1)[1])._value.get()
    await produce(infra.bootstrap, b"hostile-" + marker, [first, *bad, last],
                  headers=[("bad-header", b"\xff\xfe"), ("nul", b"a\x00b")])

    seqs = await eventually(lambda: _both(running, run_id), timeout=90, what="the good events after the bad ones")
    assert seqs == [1, 2]
    dead = await eventually(lambda: _at_least(infra.bootstrap, running.group, marker, len(bad)), timeout=60,
                            what="every bad message on the DLQ")
    await asyncio.sleep(1.0)  # a repeated dead letter would land now
    dead = await dead_letters(infra.bootstrap, running.group, marker)
    offsets = [h["x-dlq-source-offset"] for h in dead]
    assert len(offsets) == len(bad) and len(set(offsets)) == len(bad), "each bad message dead-lettered once"
    assert {h["x-dlq-error-type"] for h in dead} == {b"DecodeError"}
    assert any(b"recursion limit exceeded" in h["x-dlq-error"] for h in dead)
    assert CONSUMER_NACKS.labels(running.schema, running.group.split(".", 1)[1])._value.get() > nacks_before, \
        "the batch really was read again"


async def test_a_value_just_under_the_broker_limit_is_dead_lettered_with_a_pointer_and_the_partition_flows(
        infra: Infra, running: Running) -> None:
    run_id = uuid.uuid4().hex
    marker = run_id.encode()
    huge = marker + b" " + b"x" * (1_040_000 - len(marker))   # just under message.max.bytes (1,048,588)
    good = build_event(ProbeHappened(run_id=run_id, seq=7, key="k"), city="cimahi").body()
    truncated_before = DEAD_LETTERS_TRUNCATED.labels(running.schema, running.group.split(".", 1)[1], TOPIC
                                                     )._value.get()
    await produce(infra.bootstrap, b"huge-" + marker, [huge, good])

    assert await eventually(lambda: effects(running.dsn, running.schema, run_id), timeout=90,
                            what="the event behind the huge one") == [7]
    dead = await eventually(lambda: dead_letters(infra.bootstrap, running.group, marker), timeout=60,
                            what="the huge message's dead letter")
    assert len(dead) == 1 and dead[0]["x-dlq-body-truncated"] == b"true"
    assert int(dead[0]["x-dlq-body-size"]) == len(huge) > DLQ_INLINE_MAX
    ref = dead[0]["x-dlq-body-ref"].decode()
    body_id = uuid.UUID(ref.rsplit("/", 1)[1])
    conn = await asyncpg.connect(running.dsn, server_settings={"search_path": running.schema})
    try:
        kept = await conn.fetchval("SELECT body FROM dead_letter_bodies WHERE id = $1", body_id)
    finally:
        await conn.close()
    assert kept == huge, "the full body is kept where the pointer says"
    found = await read_topic(infra.bootstrap, TOPIC + ".dlq", marker)
    assert [len(v) for _, v, h in found if h.get("x-dlq-consumer") == running.group.encode()] == [DLQ_PREFIX_BYTES]
    assert DEAD_LETTERS_TRUNCATED.labels(running.schema, running.group.split(".", 1)[1], TOPIC)._value.get() \
        == truncated_before + 1


async def test_lag_and_the_oldest_message_in_flight_are_reported(infra: Infra, running: Running) -> None:
    run_id = uuid.uuid4().hex
    await produce(infra.bootstrap, b"lag-" + run_id.encode(),
                  [build_event(ProbeHappened(run_id=run_id, seq=i, key="k"), city="cimahi").body()
                   for i in range(5)])
    await eventually(lambda: _count(running, run_id, 5), timeout=60, what="five effects")
    report = running.bus.stall_report()
    assert set(report) == {running.group}
    assert report[running.group] == {"lag": 0, "oldest_in_flight_seconds": 0.0}


async def _both(running: Running, run_id: str) -> list[int] | None:
    got = await effects(running.dsn, running.schema, run_id)
    return got if len(got) >= 2 else None


async def _count(running: Running, run_id: str, n: int) -> list[int] | None:
    got = await effects(running.dsn, running.schema, run_id)
    return got if len(got) >= n else None


async def _at_least(bootstrap: str, group: str, marker: bytes, n: int) -> list[dict[str, bytes]] | None:
    dead = await dead_letters(bootstrap, group, marker)
    return dead if len(dead) >= n else None
