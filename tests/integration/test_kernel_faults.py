"""Restarting Kafka, then Postgres, in the middle of a stream of events loses none and applies none twice.

Uses its own broker and database server (not the session's), because it stops and starts them.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import LocalPostgres
from deploy.local.procs import free_port
from deploy.provision import DATA_SERVICES, PlannedTopic, ensure_topics, provision_database
from shared.bus import EventBus
from shared.db import create_pool, is_outage, migrate
from shared.envelope import build_event
from shared.outbox import OutboxRelay, add_to_outbox
from shared.uow import PgUnitOfWork
from tests.conftest import eventually
from tests.integration.probe import PROBE_TOPIC, ProbeHappened, new_schema

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
TOTAL = 1500


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KafkaBroker, LocalPostgres]]:
    work = tmp_path_factory.mktemp("faults")
    kafka = KafkaBroker(work / "kafka", port=free_port(), controller_port=free_port())
    pg = LocalPostgres(work / "postgres", port=free_port())
    threads = [threading.Thread(target=kafka.start), threading.Thread(target=pg.start)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        yield kafka, pg
    finally:
        kafka.stop()
        pg.stop()


@pytest.fixture
async def service(servers: tuple[KafkaBroker, LocalPostgres]) -> AsyncIterator[tuple[str, str]]:
    kafka, pg = servers
    await provision_database(pg.admin_url, DATA_SERVICES)
    await ensure_topics(kafka.bootstrap, [PlannedTopic(PROBE_TOPIC, 6, 24), PlannedTopic(PROBE_TOPIC + ".dlq", 1, 24)])
    schema, dsn = await new_schema(pg.admin_url)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, schema, HERE / "kernel_migrations")
    finally:
        await conn.close()
    yield schema, dsn


async def _write(pool: asyncpg.Pool, run_id: str, seqs: range) -> None:
    """Commit events in small transactions; while the database is down, wait and retry the same batch.

    A connection lost during COMMIT leaves the outcome unknown; retrying the same events is safe because the
    outbox's event_id is unique: a duplicate key means the first attempt did commit.
    """
    for start in range(seqs.start, seqs.stop, 50):
        batch = [build_event(ProbeHappened(run_id=run_id, seq=i, key=f"k{i % 13}"), city="tegal")
                 for i in range(start, min(start + 50, seqs.stop))]
        while True:
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await add_to_outbox(conn, batch)
                break
            except asyncpg.UniqueViolationError:
                break  # the earlier attempt committed before its connection was lost
            except Exception as exc:
                if not is_outage(exc):
                    raise
                await asyncio.sleep(0.2)


async def _restart(fn_stop: object, fn_start: object) -> None:
    await asyncio.to_thread(fn_stop)  # type: ignore[arg-type]
    await asyncio.sleep(1.0)
    await asyncio.to_thread(fn_start)  # type: ignore[arg-type]


async def test_kafka_and_postgres_restarts_mid_stream_lose_and_duplicate_nothing(
    servers: tuple[KafkaBroker, LocalPostgres], service: tuple[str, str]
) -> None:
    kafka, pg = servers
    schema, dsn = service
    run_id = uuid.uuid4().hex
    pool = await create_pool(dsn, schema, schema, max_size=6)
    relay = OutboxRelay(pool, schema, kafka.bootstrap, schema, batch_size=100, idle_poll_ms=50)
    relay_task = asyncio.create_task(relay.run())
    bus = EventBus(schema, kafka.bootstrap, max_attempts=3, backoff_ms=20, batch_size=100)
    consumer = bus.consumer("faults", [PROBE_TOPIC])

    @consumer.on(ProbeHappened)
    async def apply_probe(uow: PgUnitOfWork[None], probe: ProbeHappened) -> None:
        await uow.conn.execute("INSERT INTO effects(run_id, seq) VALUES ($1, $2)", probe.run_id, probe.seq)

    await bus.start(pool)
    try:
        await _write(pool, run_id, range(0, 500))
        await _restart(kafka.stop, kafka.start)            # the broker goes away mid-stream
        await _write(pool, run_id, range(500, 1000))
        writer = asyncio.create_task(_write(pool, run_id, range(1000, TOTAL)))
        await _restart(pg.stop, pg.start)                  # then the database, while events are written
        await writer

        async def all_applied() -> list[int] | None:
            conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
            try:
                rows = await conn.fetch("SELECT seq FROM effects WHERE run_id = $1", run_id)
            finally:
                await conn.close()
            seqs = [r["seq"] for r in rows]
            return seqs if len(set(seqs)) == TOTAL else None

        await eventually(all_applied, timeout=180, interval=0.5, what=f"all {TOTAL} effects")
        await asyncio.sleep(1.0)  # give a wrongly repeated delivery the chance to land before counting
        seqs = await all_applied()
    finally:
        await bus.stop()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await pool.close()
    assert seqs is not None and sorted(seqs) == list(range(TOTAL)), "every event applied exactly once"

    # Nothing was dead-lettered: an outage is not the message's fault.
    from tests.integration.probe import read_topic

    assert await read_topic(kafka.bootstrap, PROBE_TOPIC + ".dlq", run_id.encode()) == []
