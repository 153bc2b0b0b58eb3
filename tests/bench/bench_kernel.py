"""Benchmark: the event kernel's own ceilings on this machine (not a test; nothing asserted).

  outbox write   N events committed into the outbox (1,000 per transaction)
  relay          outbox → Kafka (acks=all, idempotent producer), until every row is marked sent
  consume        Kafka → a consumer applying one effect row per event with the inbox (batch transactions)

Starts its own Kafka and Postgres in a temporary folder. Run: .venv/bin/python tests/bench/bench_kernel.py [N]
Prints a table and writes bench-results/kernel.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from deploy.local.kafka import KafkaBroker  # noqa: E402
from deploy.local.postgres import LocalPostgres  # noqa: E402
from deploy.local.procs import free_port  # noqa: E402
from deploy.provision import PlannedTopic, ensure_topics  # noqa: E402
from shared.bus import EventBus  # noqa: E402
from shared.db import create_pool, migrate  # noqa: E402
from shared.envelope import build_event  # noqa: E402
from shared.outbox import OutboxRelay, add_to_outbox  # noqa: E402
from shared.uow import PgUnitOfWork  # noqa: E402
from tests.integration.probe import PROBE_TOPIC, ProbeHappened, new_schema  # noqa: E402


async def run(n: int, bootstrap: str, admin_url: str) -> dict[str, float]:
    await ensure_topics(bootstrap, [PlannedTopic(PROBE_TOPIC, 12, 24), PlannedTopic(PROBE_TOPIC + ".dlq", 1, 24)])
    schema, dsn = await new_schema(admin_url)
    pool = await create_pool(dsn, schema, "bench", max_size=8)
    async with pool.acquire() as conn:
        await migrate(conn, schema, REPO / "tests" / "integration" / "kernel_migrations")
    run_id = uuid.uuid4().hex

    started = time.perf_counter()
    for offset in range(0, n, 1000):
        async with pool.acquire() as conn, conn.transaction():
            await add_to_outbox(conn, [build_event(ProbeHappened(run_id=run_id, seq=i, key=f"k{i}"), city="cimahi")
                                       for i in range(offset, min(n, offset + 1000))])
    write_s = time.perf_counter() - started

    relay = OutboxRelay(pool, schema, bootstrap, "bench", batch_size=1000, idle_poll_ms=50)
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    while await relay.lag() > 0:
        await asyncio.sleep(0.05)
    relay_s = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    bus = EventBus(schema, bootstrap, batch_size=500)
    consumer = bus.consumer("bench", [PROBE_TOPIC])

    @consumer.on(ProbeHappened)
    async def apply(uow: PgUnitOfWork[None], probe: ProbeHappened) -> None:
        await uow.conn.execute("INSERT INTO effects(run_id, seq) VALUES ($1, $2)", probe.run_id, probe.seq)

    started = time.perf_counter()
    await bus.start(pool)
    while True:
        async with pool.acquire() as conn:
            done = await conn.fetchval("SELECT count(*) FROM effects WHERE run_id = $1", run_id)
        if done >= n:
            break
        await asyncio.sleep(0.05)
    consume_s = time.perf_counter() - started
    await bus.stop()
    async with pool.acquire() as conn:
        distinct = await conn.fetchval("SELECT count(DISTINCT seq) FROM effects WHERE run_id = $1", run_id)
        total = await conn.fetchval("SELECT count(*) FROM effects WHERE run_id = $1", run_id)
    await pool.close()
    return {"events": n, "outbox_write_per_s": round(n / write_s), "relay_per_s": round(n / relay_s),
            "consume_per_s": round(n / consume_s), "effects": total, "distinct_effects": distinct}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    work = Path(tempfile.mkdtemp(prefix="pasarkota-bench-kernel-"))
    kafka = KafkaBroker(work / "kafka", port=free_port(), controller_port=free_port())
    pg = LocalPostgres(work / "postgres", port=free_port())
    threads = [threading.Thread(target=kafka.start), threading.Thread(target=pg.start)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        from deploy.provision import DATA_SERVICES, provision_database

        asyncio.run(provision_database(pg.admin_url, DATA_SERVICES))
        result = asyncio.run(run(n, kafka.bootstrap, pg.admin_url))
    finally:
        kafka.stop()
        pg.stop()
    result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["cpus"] = os.cpu_count() or 0
    out = REPO / "bench-results" / "kernel.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'kernel stage':<34}{'events/s':>10}")
    print(f"  {'outbox write (1,000 per tx)':<32}{result['outbox_write_per_s']:>10}")
    print(f"  {'relay outbox → Kafka':<32}{result['relay_per_s']:>10}")
    print(f"  {'consume + inbox + effect':<32}{result['consume_per_s']:>10}")
    print(f"effects {result['effects']} for {n} events ({result['distinct_effects']} distinct): "
          f"lost {n - result['distinct_effects']}, duplicated {result['effects'] - result['distinct_effects']}")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
