"""`pasarkota bench payments --count N --rate R`: a market-morning burst against a running stack.

1. Publishes N ``OrderPaymentRequested`` events (both demo cities) straight to ``orders.order.v1`` and waits
   for the N ``PaymentRequested`` (each carries the dynamic QRIS) on ``payments.payment.v1``.
2. Acts as the acquirer: scans every QRIS and fires N signed notifications at the webhook over ``--concurrency``
   keep-alive connections, at ``--rate`` per second (0 = as fast as it can).
3. Watches ``payments.payment.v1`` for ``PaymentSucceeded``: end-to-end latency (notification sent → event on
   Kafka), time until the last one, and effects lost (no event) or duplicated (more than one per order).
4. Measures the raw ceilings on the same machine in the same run: Kafka's own ``ProducerPerformance`` for the
   same record count and size, and single-row INSERT commits/s on the same Postgres (1 and 8 connections).

Prints a table and writes ``bench-results/payments.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import re
import shutil
import subprocess
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.local.errors import RuntimeProblem
from payments.simulator import notification_body, scan, signed_request
from shared.cities import all_cities
from shared.envelope import build_event
from shared.events.orders import OrderPaymentRequested
from shared.events.payments import PAYMENT
from shared.ids import demo_id

REPO = Path(__file__).resolve().parents[3]
TOOLS_POM = REPO / "services" / "payments" / "kafka-tools-pom.xml"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# -- a minimal keep-alive HTTP/1.1 client (httpx would cost more CPU than the server we measure) ----------

class RawHttp:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer:
            self.writer.close()
            self.reader = self.writer = None

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        for attempt in range(3):  # the webhook is replay-safe: resending the same request id is harmless
            try:
                if self.writer is None:
                    await self._connect()
                assert self.reader and self.writer
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                                  f"Content-Length: {len(body)}\r\n{head}\r\n".encode() + body)
                status = int((await self.reader.readline()).split(b" ", 2)[1])
                length = 0
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                return status, await self.reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


# -- watching payments.payment.v1 ----------------------------------------------------------------------

@dataclass
class Watch:
    orders: set[str]
    requested: dict[str, tuple[str, str]] = field(default_factory=dict)  # order → (city, qris)
    succeeded: Counter[str] = field(default_factory=Counter)
    succeeded_at: dict[str, float] = field(default_factory=dict)
    produced_at: dict[str, float] = field(default_factory=dict)  # wall clock, from the Kafka record
    event_ids: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    redelivered: int = 0
    other: Counter[str] = field(default_factory=Counter)
    sizes: list[int] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: bool = False


async def watch(bootstrap: str, w: Watch) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(PAYMENT, p) for p in consumer.partitions_for_topic(PAYMENT) or set()]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:
            await consumer.position(tp)
        w.ready.set()
        while not w.stop:
            batch = await consumer.getmany(timeout_ms=100, max_records=10_000)
            now = time.monotonic()
            for records in batch.values():
                for r in records:
                    key = r.key.decode() if r.key else ""
                    if key not in w.orders:
                        continue
                    env = json.loads(r.value)
                    kind = env["event_type"]
                    if kind == "PaymentRequested":
                        w.requested[key] = (env["city"], env["payload"]["qris"])
                    elif kind == "PaymentSucceeded":
                        if env["event_id"] in w.event_ids[key]:
                            w.redelivered += 1  # the same event again (relay retry): consumers' inboxes drop it
                            continue
                        w.event_ids[key].add(env["event_id"])
                        w.succeeded[key] += 1
                        w.succeeded_at.setdefault(key, now)
                        # the relay's producer stamps the record (CreateTime): independent of how late this
                        # busy event loop gets around to reading it
                        w.produced_at.setdefault(key, r.timestamp / 1000)
                        w.sizes.append(len(r.value))
                    else:
                        w.other[kind] += 1
    finally:
        await consumer.stop()


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeProblem(f"bench: timed out waiting for {what}")
        await asyncio.sleep(0.05)


# -- raw ceilings -------------------------------------------------------------------------------------

def tools_libs() -> Path:
    """Kafka's kafka-tools jars (same version as the broker), fetched once with Maven into the cache."""
    from deploy.local.kafka import cache_root, kafka_version

    libs = cache_root() / f"kafka-{kafka_version()}" / "tools-libs"
    if (libs / ".complete").exists() or (libs.exists() and any(libs.glob("kafka-tools-*.jar"))):
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeProblem("Maven is needed once to fetch org.apache.kafka:kafka-tools (apt-get install maven)")
    proc = subprocess.run([mvn, "-q", "-B", "-f", str(TOOLS_POM), "dependency:copy-dependencies",
                           "-DincludeScope=runtime", f"-DoutputDirectory={libs}"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeProblem("Maven could not fetch kafka-tools: " + (proc.stdout + proc.stderr)[-500:])
    (libs / ".complete").write_text(kafka_version())
    return libs


async def kafka_producer_ceiling(bootstrap: str, count: int, size: int) -> dict[str, Any]:
    from deploy.local.kafka import find_java

    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=1)])
        cmd = [find_java(), "-Xmx512m", "-cp", f"{tools_libs()}/*", "org.apache.kafka.tools.ProducerPerformance",
               "--topic", topic, "--num-records", str(count), "--record-size", str(size), "--throughput", "-1",
               "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all", "enable.idempotence=true",
               "linger.ms=5"]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
    finally:
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
    text = out.decode()
    m = re.search(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                  r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th", text)
    if not m:
        raise RuntimeProblem("ProducerPerformance gave no summary: " + (text + err.decode())[-500:])
    return {"tool": "org.apache.kafka.tools.ProducerPerformance", "records": int(m.group(1)),
            "record_size": size, "records_per_second": float(m.group(2)), "mb_per_second": float(m.group(3)),
            "latency_ms": {"avg": float(m.group(4)), "max": float(m.group(5)), "p50": int(m.group(6)),
                           "p95": int(m.group(7)), "p99": int(m.group(8))},
            "settings": "acks=all enable.idempotence=true linger.ms=5, 12 partitions"}


async def postgres_commit_ceiling(admin_url: str, count: int) -> dict[str, Any]:
    from deploy.provision import DATABASE_NAME, _admin_on

    url = _admin_on(admin_url, DATABASE_NAME)
    table = f"public.bench_raw_commits_{uuid.uuid4().hex[:8]}"
    setup = await asyncpg.connect(url)
    results: dict[str, Any] = {"statement": "INSERT INTO t(city, payload) VALUES ($1, $2) -- autocommit, one row",
                               "rows_per_run": count}
    try:
        await setup.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, city text NOT NULL,"
                            " payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
        payload = "x" * 300
        for conns in (1, 8):
            pool = await asyncpg.create_pool(url, min_size=conns, max_size=conns)
            assert pool is not None
            per = count // conns

            async def insert_many(n: int, pool: asyncpg.Pool = pool) -> None:
                async with pool.acquire() as conn:
                    for _ in range(n):
                        await conn.execute(f"INSERT INTO {table}(city, payload) VALUES ($1, $2)", "cimahi", payload)

            started = time.perf_counter()
            await asyncio.gather(*(insert_many(per) for _ in range(conns)))
            elapsed = time.perf_counter() - started
            await pool.close()
            results[f"commits_per_second_{conns}_conn"] = round(per * conns / elapsed)
    finally:
        await setup.execute(f"DROP TABLE IF EXISTS {table}")
        await setup.close()
    return results


# -- the run ------------------------------------------------------------------------------------------

def stack_endpoints() -> tuple[str, str, str]:
    from deploy.stack import SERVICES, read_state

    state = read_state()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or state.get("kafka", {}).get("bootstrap")
    admin_url = os.environ.get("DATABASE_URL") or state.get("postgres", {}).get("admin_url")
    if not bootstrap or not admin_url:
        raise RuntimeProblem("no running stack found: start one with `pasarkota up --detach` (same PASARKOTA_HOME)")
    url = os.environ.get("PASARKOTA_PAYMENTS_URL") or next(s.url for s in SERVICES if s.name == "payments")
    return bootstrap, admin_url, url


def order_events(count: int) -> list[tuple[str, OrderPaymentRequested]]:
    cities = sorted(all_cities())
    rng = random.Random(20_000)
    events = []
    for i in range(count):
        city = cities[i % len(cities)]
        vendors = [demo_id("vendor", city, f"vendor-{rng.randint(1, 16):02d}") for _ in range(rng.randint(1, 3))]
        amounts = {v: rng.randint(1, 60) * 1_000 for v in vendors}
        events.append((city, OrderPaymentRequested(
            order_id=f"bench-{uuid.uuid4()}", buyer_id=f"bench-buyer-{i % 500}", amount=sum(amounts.values()),
            vendor_amounts=amounts)))
    return events


async def run(*, count: int, rate: float, concurrency: int, output: str, skip_raw: bool = False,
              progress: Any = print) -> dict[str, Any]:
    bootstrap, admin_url, base = stack_endpoints()
    load_start = os.getloadavg()
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    events = order_events(count)
    w = Watch(orders={e.order_id for _, e in events})
    watcher = asyncio.create_task(watch(bootstrap, w))
    await asyncio.wait_for(w.ready.wait(), 60)

    # 1. intents
    progress(f"bench payments: publishing {count} OrderPaymentRequested ...")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    t_intents = time.monotonic()
    try:
        futures = []
        for city, payload in events:
            out = build_event(payload, city=city, correlation_id=f"bench-{payload.order_id}")
            futures.append(await producer.send(out.topic, out.body(), key=out.key.encode(),
                                               headers=[(k, v.encode()) for k, v in out.headers().items()]))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    await wait_for(lambda: len(w.requested) >= count, 900, "every PaymentRequested")
    intents_seconds = time.monotonic() - t_intents
    progress(f"  {count} intents with QRIS in {intents_seconds:.1f}s; firing notifications ...")

    # 2. the burst of signed notifications
    secrets = {slug: c.webhook_secret for slug, c in all_cities().items()}
    requests = []
    for _, payload in events:
        city, qris = w.requested[payload.order_id]
        body = notification_body(scan(qris))
        requests.append((payload.order_id, city, body))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    sent_at: dict[str, float] = {}
    sent_wall: dict[str, float] = {}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    t0 = time.monotonic()
    last_answer = t0

    async def fire() -> None:
        nonlocal last_answer
        client = RawHttp(host, port)
        try:
            while not queue.empty():
                i = queue.get_nowait()
                if rate > 0:
                    delay = t0 + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                order_id, city, body = requests[i]
                path, headers = signed_request(city, secrets[city], body)
                started = time.monotonic()
                sent_at[order_id] = started
                sent_wall[order_id] = time.time()
                status, _ = await client.post(path, headers, body)
                done = time.monotonic()
                latencies.append(done - started)
                statuses[status] += 1
                last_answer = max(last_answer, done)
        finally:
            await client.close()

    await asyncio.gather(*(fire() for _ in range(concurrency)))
    accept_seconds = last_answer - t0
    progress(f"  {count} notifications answered in {accept_seconds:.1f}s; waiting for PaymentSucceeded ...")
    try:
        await wait_for(lambda: len(w.succeeded) >= count, 600, "every PaymentSucceeded")
    except RuntimeProblem as exc:
        progress(f"  {exc}")
    await asyncio.sleep(3.0)  # grace period: a duplicate would show up here
    w.stop = True
    await watcher

    e2e = [w.produced_at[o] - sent_wall[o] for o in w.produced_at if o in sent_wall]
    e2e_seen = [w.succeeded_at[o] - sent_at[o] for o in w.succeeded_at if o in sent_at]
    last_success = max(w.succeeded_at.values(), default=t0) - t0
    lost = sum(1 for _, e in events if w.succeeded[e.order_id] == 0)
    duplicated = sum(max(0, n - 1) for n in w.succeeded.values())
    size = round(sum(w.sizes) / len(w.sizes)) if w.sizes else 400
    report: dict[str, Any] = {
        "count": count, "rate_limit": rate or None, "concurrency": concurrency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_1m_at_start": round(load_start[0], 2), "loadavg_1m_at_end": round(os.getloadavg()[0], 2)},
        "intents": {"seconds": round(intents_seconds, 2), "per_second": round(count / intents_seconds, 1)},
        "webhook": {
            "accepted": statuses.get(200, 0), "non_2xx": sum(n for s, n in statuses.items() if s != 200),
            "seconds": round(accept_seconds, 2), "accepted_per_second": round(statuses.get(200, 0) / accept_seconds, 1),
            "latency_ms": {p: round(pct(latencies, q) * 1000, 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))},
        },
        "succeeded": {
            "seconds_until_last": round(last_success, 2),
            "per_second": round(len(w.succeeded) / last_success, 1) if last_success > 0 else None,
            "end_to_end_ms": {p: round(pct(e2e, q) * 1000, 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))},
            "end_to_end_definition": "notification sent → PaymentSucceeded record produced to Kafka (its timestamp)",
            "seen_by_bench_consumer_ms": {p: round(pct(e2e_seen, q) * 1000, 1)
                                          for p, q in (("p50", 50), ("p95", 95), ("p99", 99))},
            "event_bytes_avg": size,
        },
        "effects": {"expected": count, "succeeded_orders": len(w.succeeded), "lost": lost, "duplicated": duplicated,
                    "redelivered_same_event": w.redelivered, "other_events": dict(w.other),
                    "definition": "lost = orders without a PaymentSucceeded; duplicated = extra PaymentSucceeded"
                                  " event ids per order"},
    }
    if not skip_raw:
        progress("  raw ceilings: Kafka ProducerPerformance and Postgres single-row commits ...")
        report["raw"] = {"kafka_producer": await kafka_producer_ceiling(bootstrap, count, size),
                         "postgres_insert": await postgres_commit_ceiling(admin_url, count)}
    print_table(report, progress)
    path = Path(output)
    if not path.is_absolute():
        path = REPO / path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    progress(f"\nwritten to {path}")
    return report


def print_table(r: dict[str, Any], out: Any = print) -> None:
    wh, ok, eff = r["webhook"], r["succeeded"], r["effects"]
    rows = [
        ("intents created (OrderPaymentRequested → PaymentRequested)", f"{r['intents']['per_second']:,.0f} /s"),
        ("notifications accepted (2xx, stored durably)", f"{wh['accepted_per_second']:,.0f} /s"),
        ("webhook latency p50 / p95 / p99", "{p50} / {p95} / {p99} ms".format(**wh["latency_ms"])),
        ("non-2xx answers", f"{wh['non_2xx']}"),
        ("time until the last PaymentSucceeded", f"{ok['seconds_until_last']} s"),
        ("PaymentSucceeded throughput", f"{ok['per_second'] or 0:,.0f} /s"),
        ("end-to-end p50 / p95 / p99 (notification → event)", "{p50} / {p95} / {p99} ms".format(**ok["end_to_end_ms"])),
        ("lost effects", str(eff["lost"])),
        ("duplicated effects", str(eff["duplicated"])),
    ]
    raw = r.get("raw")
    if raw:
        kp, pg = raw["kafka_producer"], raw["postgres_insert"]
        rows += [
            (f"raw: Kafka ProducerPerformance ({kp['record_size']} B, acks=all)",
             f"{kp['records_per_second']:,.0f} /s (p99 {kp['latency_ms']['p99']} ms)"),
            ("raw: Postgres single-row INSERT commits, 1 connection", f"{pg['commits_per_second_1_conn']:,} /s"),
            ("raw: Postgres single-row INSERT commits, 8 connections", f"{pg['commits_per_second_8_conn']:,} /s"),
        ]
    width = max(len(k) for k, _ in rows)
    out(f"\npasarkota bench payments: N={r['count']}, rate={r['rate_limit'] or 'max'}, "
        f"concurrency={r['concurrency']}, {r['machine']['cpus']} CPUs, load {r['machine']['loadavg_1m_at_start']}"
        f" → {r['machine']['loadavg_1m_at_end']}")
    out("-" * (width + 30))
    for k, v in rows:
        out(f"{k:<{width}}  {v}")
    out("-" * (width + 30))
