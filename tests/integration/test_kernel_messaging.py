"""The event kernel against the real Kafka broker and PostgreSQL server.

Outbox relay crashes, duplicate deliveries and poison messages: every event delivered, every effect once.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from deploy.provision import PlannedTopic, ensure_topics
from shared.bus import EventBus
from shared.db import create_pool, migrate
from shared.envelope import build_event
from shared.metrics import EVENTS_DUPLICATE
from shared.outbox import OutboxRelay, add_to_outbox
from shared.uow import PgUnitOfWork
from tests.conftest import Infra, eventually
from tests.integration.probe import PROBE_TOPIC, ProbeHappened, effects, new_schema, read_topic

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
async def probe_topic(infra: Infra) -> str:
    await ensure_topics(infra.bootstrap, [PlannedTopic(PROBE_TOPIC, 3, 24), PlannedTopic(PROBE_TOPIC + ".dlq", 1, 24)])
    return PROBE_TOPIC


class Service:
    """A throwaway service: own schema and role, the kernel's migrations plus an effects table."""

    def __init__(self, schema: str, dsn: str, pool: asyncpg.Pool) -> None:
        self.schema, self.dsn, self.pool = schema, dsn, pool


@pytest.fixture
async def service(infra: Infra, probe_topic: str) -> AsyncIterator[Service]:
    schema, dsn = await new_schema(infra.admin_url)
    pool = await create_pool(dsn, schema, schema, max_size=5)
    async with pool.acquire() as conn:
        await migrate(conn, schema, HERE / "kernel_migrations")
    yield Service(schema, dsn, pool)
    await pool.close()


async def start_consumer(infra: Infra, svc: Service, *, fail_on: bool = False) -> EventBus:
    bus = EventBus(svc.schema, infra.bootstrap, max_attempts=3, backoff_ms=20)
    consumer = bus.consumer(f"effects-{uuid.uuid4().hex[:6]}", [PROBE_TOPIC])

    @consumer.on(ProbeHappened)
    async def apply_probe(uow: PgUnitOfWork[None], probe: ProbeHappened) -> None:
        if probe.fail:
            raise RuntimeError(f"probe {probe.seq} asked to fail")
        await uow.conn.execute("INSERT INTO effects(run_id, seq) VALUES ($1, $2)", probe.run_id, probe.seq)

    await bus.start(svc.pool)
    # Dead letters leave through the outbox, like every event: a relay runs beside the consumer.
    relay = OutboxRelay(svc.pool, svc.schema, infra.bootstrap, svc.schema, batch_size=100, idle_poll_ms=50)
    relay_task = asyncio.create_task(relay.run())
    stop_bus = bus.stop

    async def stop() -> None:
        await stop_bus()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)

    bus.stop = stop  # type: ignore[method-assign]
    return bus


async def write_events(svc: Service, run_id: str, count: int) -> None:
    async with svc.pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [
            build_event(ProbeHappened(run_id=run_id, seq=i, key=f"k{i % 7}"), city="cimahi") for i in range(count)
        ])


def run_relay(infra: Infra, svc: Service, fault: str, batch_size: int) -> int:
    proc = subprocess.run(
        [sys.executable, str(HERE / "relay_proc.py"), svc.dsn, svc.schema, infra.bootstrap, fault, str(batch_size)],
        capture_output=True, text=True, timeout=90,
    )
    return proc.returncode


@pytest.mark.parametrize("crash_point", ["after_send", "after_publish"])
async def test_relay_killed_mid_batch_delivers_every_event_and_effects_apply_once(
    infra: Infra, service: Service, crash_point: str
) -> None:
    run_id = uuid.uuid4().hex
    await write_events(service, run_id, 120)

    assert run_relay(infra, service, f"relay:{crash_point}", batch_size=50) == 137  # killed mid-way
    async with service.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 120

    assert run_relay(infra, service, "", batch_size=50) == 0  # a restarted relay drains the outbox
    on_kafka = await read_topic(infra.bootstrap, PROBE_TOPIC, run_id.encode())
    assert {int(v.split(b'"seq":')[1].split(b",")[0]) for _, v, _ in on_kafka} == set(range(120))
    if crash_point == "after_publish":
        assert len(on_kafka) > 120, "the first batch was published twice: the crash really happened after publish"

    bus = await start_consumer(infra, service)
    try:
        async def all_applied() -> list[int] | None:
            got = await effects(service.dsn, service.schema, run_id)
            return got if len(set(got)) == 120 else None
        await eventually(all_applied, what="all 120 effects")
        await asyncio.sleep(0.5)  # let any duplicate that would wrongly apply land before we count
        seqs = await effects(service.dsn, service.schema, run_id)
    finally:
        await bus.stop()
    assert sorted(seqs) == list(range(120)), "each event applied exactly once"


async def test_same_event_delivered_twice_has_one_effect(infra: Infra, service: Service) -> None:
    run_id = uuid.uuid4().hex
    outgoing = build_event(ProbeHappened(run_id=run_id, seq=1, key="same"), city="tegal")
    before = EVENTS_DUPLICATE.labels(service.schema, "x")._value.get()
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all")
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(PROBE_TOPIC, outgoing.body(), key=outgoing.key.encode())
    finally:
        await producer.stop()
    bus = await start_consumer(infra, service)
    try:
        await eventually(lambda: effects(service.dsn, service.schema, run_id), what="first delivery applied")
        consumer = bus.consumers[0]
        await eventually(
            lambda: _async(EVENTS_DUPLICATE.labels(service.schema, consumer.name)._value.get() >= 1),
            what="second delivery recognised as duplicate")
    finally:
        await bus.stop()
    assert before == 0
    assert await effects(service.dsn, service.schema, run_id) == [1]


async def _async(value: object) -> object:
    return value


async def test_poison_messages_go_to_dlq_and_the_partition_keeps_flowing(infra: Infra, service: Service) -> None:
    run_id = uuid.uuid4().hex
    key = f"poison-{run_id}".encode()
    not_json = b"\xff\xfe not json " + run_id.encode()
    failing = build_event(ProbeHappened(run_id=run_id, seq=1, key="x", fail=True), city="cimahi")
    good = build_event(ProbeHappened(run_id=run_id, seq=2, key="x"), city="cimahi")
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all")
    await producer.start()
    try:
        for body in (not_json, failing.body(), good.body()):  # same key → same partition, in this order
            await producer.send_and_wait(PROBE_TOPIC, body, key=key,
                                         headers=[("content-type", b"application/json"), ("bad", b"\xff")])
    finally:
        await producer.stop()

    bus = await start_consumer(infra, service)
    try:
        seqs = await eventually(lambda: effects(service.dsn, service.schema, run_id), what="good message applied")
    finally:
        await bus.stop()
    assert seqs == [2]

    dead = await eventually(
        lambda: _dead(infra.bootstrap, run_id), what="both poison messages on the DLQ")
    by_type = {h["x-dlq-error-type"].decode(): h for _, _, h in dead}
    assert set(by_type) == {"DecodeError", "RuntimeError"}
    assert by_type["DecodeError"]["x-dlq-attempts"] == b"0"
    assert b"not JSON" in by_type["DecodeError"]["x-dlq-error"]
    assert by_type["RuntimeError"]["x-dlq-attempts"] == b"3"
    assert b"asked to fail" in by_type["RuntimeError"]["x-dlq-error"]
    assert by_type["RuntimeError"]["x-dlq-source-topic"] == PROBE_TOPIC.encode()
    assert {h["x-dlq-source-partition"] for _, _, h in dead} == {by_type["DecodeError"]["x-dlq-source-partition"]}


async def _dead(bootstrap: str, run_id: str) -> list[tuple[int, bytes, dict[str, bytes]]] | None:
    found = await read_topic(bootstrap, PROBE_TOPIC + ".dlq", run_id.encode())
    mine = [f for f in found if f[2].get("x-dlq-consumer", b"").startswith(b"kt_")]
    types = {h.get("x-dlq-error-type") for _, _, h in mine}
    return mine if len(types) >= 2 else None
