"""An operator lists, inspects and replays dead letters (`pasarkota dlq`), on the real broker and database.

A handler bug dead-letters two events (one small, one too large to travel whole); once the bug is fixed,
``replay`` sends both back — the large one whole, from ``dead_letter_bodies`` — and each is applied exactly
once. A second ``replay`` sends nothing; naming one record replays it again, and the inbox makes that a no-op.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from deploy import dlq
from deploy.provision import PlannedTopic, ensure_topics
from shared.bus import DLQ_INLINE_MAX, EventBus
from shared.db import create_pool, migrate
from shared.envelope import build_event
from shared.outbox import OutboxRelay
from shared.uow import PgUnitOfWork
from tests.conftest import Infra, eventually
from tests.integration.probe import ProbeHappened, effects, new_schema

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
TOPIC = "test.replay.v1"


class Broken:
    """The handler's bug: probes marked ``fail`` raise until it is fixed."""

    fixed = False


@pytest.fixture
async def consuming(infra: Infra) -> AsyncIterator[tuple[str, str]]:
    await ensure_topics(infra.bootstrap, [PlannedTopic(TOPIC, 2, 24), PlannedTopic(TOPIC + ".dlq", 1, 24)])
    schema, dsn = await new_schema(infra.admin_url)
    pool = await create_pool(dsn, schema, schema, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, schema, HERE / "kernel_migrations")
    bus = EventBus(schema, infra.bootstrap, max_attempts=2, backoff_ms=10, batch_size=50)
    consumer = bus.consumer(f"replay-{uuid.uuid4().hex[:6]}", [TOPIC])

    @consumer.on(ProbeHappened)
    async def apply_probe(uow: PgUnitOfWork[None], probe: ProbeHappened) -> None:
        if probe.fail and not Broken.fixed:
            raise ValueError(f"bug in apply_probe for seq {probe.seq}")
        await uow.conn.execute("INSERT INTO effects(run_id, seq) VALUES ($1, $2)", probe.run_id[:64], probe.seq)

    relay = OutboxRelay(pool, schema, infra.bootstrap, schema, batch_size=100, idle_poll_ms=50)
    relay_task = asyncio.create_task(relay.run())
    await bus.start(pool)
    try:
        yield schema, dsn
    finally:
        await bus.stop()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await pool.close()


async def produce(bootstrap: str, bodies: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for body in bodies:
            await producer.send_and_wait(TOPIC, body, key=b"replay-key", headers=[("city", b"cimahi")])
    finally:
        await producer.stop()


def cli(infra: Infra, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "DATABASE_URL": infra.admin_url,
           "PASARKOTA_HOME": str(infra.workdir / "no-stack"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "deploy.cli", "dlq", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


async def test_dead_letters_are_listed_shown_and_replayed_once_after_the_fix(
        infra: Infra, consuming: tuple[str, str]) -> None:
    schema, dsn = consuming
    Broken.fixed = False
    run_id = uuid.uuid4().hex
    padding = "x" * (DLQ_INLINE_MAX + 10_000)  # the DLQ copy of this one is a prefix; the body stays in Postgres
    bodies = [build_event(ProbeHappened(run_id=run_id, seq=1, key="k", fail=True), city="cimahi").body(),
              build_event(ProbeHappened(run_id=run_id + padding, seq=2, key="k", fail=True), city="cimahi").body(),
              build_event(ProbeHappened(run_id=run_id, seq=3, key="k"), city="cimahi").body()]
    await produce(infra.bootstrap, bodies)
    assert await eventually(lambda: effects(dsn, schema, run_id), what="the good event after the bad ones") == [3]

    async def ours() -> list[dlq.DeadLetter]:
        found = await dlq.read_dead_letters(infra.bootstrap, TOPIC)
        return [d for d in found if d.headers.get("x-dlq-consumer", "").startswith(schema)]
    dead = await eventually(lambda: _at_least(ours, 2), what="both bad events on the DLQ")
    assert [d.headers["x-dlq-error-type"] for d in dead] == ["ValueError", "ValueError"]
    assert [d.truncated for d in dead] == [False, True]

    listed = cli(infra, "list", TOPIC, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [r for r in json.loads(listed.stdout) if (r["consumer"] or "").startswith(schema)]
    assert [(r["error_type"], r["truncated"]) for r in rows] == [("ValueError", False), ("ValueError", True)]
    assert "bug in apply_probe for seq 1" in rows[0]["error"]
    shown = cli(infra, "show", TOPIC + ".dlq", f"{dead[1].partition}:{dead[1].offset}", "--whole", "--max-bytes", "300")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.split("\n}\n", 1)[0] + "\n}")["body_bytes"] == len(bodies[1])

    Broken.fixed = True  # the bug is fixed and deployed; now the operator replays
    replayed = cli(infra, "replay", TOPIC)
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed" in replayed.stdout
    applied = await eventually(lambda: _count(dsn, schema, run_id, 3), what="the replayed events applied")
    assert sorted(applied) == [1, 2, 3]

    again = cli(infra, "replay", TOPIC, "--json")
    assert again.returncode == 0 and json.loads(again.stdout) == [], "nothing is replayed twice by default"
    one = cli(infra, "replay", TOPIC, f"{dead[0].partition}:{dead[0].offset}")  # named explicitly: sent again
    assert one.returncode == 0 and "replayed 1 record" in one.stdout
    await asyncio.sleep(1.0)  # a second application would land now
    assert sorted(await effects(dsn, schema, run_id) + await effects(dsn, schema, (run_id + padding)[:64])) \
        == [1, 2, 3], "the inbox makes a replayed duplicate a no-op"


async def _at_least(probe, n: int):  # type: ignore[no-untyped-def]
    found = await probe()
    return found if len(found) >= n else None


async def _count(dsn: str, schema: str, run_id: str, n: int) -> list[int] | None:
    seqs = await effects(dsn, schema, run_id) + await effects(dsn, schema, run_id + "x" * (64 - len(run_id)))
    return seqs if len(seqs) >= n else None
