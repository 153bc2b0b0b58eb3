"""`pasarkota bench payments --count N --rate R`: a market-morning burst against a running stack.

Also runnable alone: .venv/bin/python tests/bench/bench_payments.py --count N [...] (the same flags). A tool
on top of the platform, beside the other benchmarks: it reaches the services only over HTTP and Kafka, with
their contracts (shared.events, payments.simulator's acquirer wire format); nothing of it ships in an image.

Default (real flow, what issue 5 asks — "places N orders and fires their payment notifications"):

1. Sets up: as vendors of both demo cities (tokens signed with the stack's secret), lists a few bench
   products with enough counted stock through catalog's HTTP, and finds an RW hub per city.
2. Places N real orders through orders' HTTP (``POST /cities/{city}/orders``, buyer tokens, an
   ``Idempotency-Key`` each, stall or RW-hub pickup) over ``--place-concurrency`` keep-alive connections; the
   saga runs as in production: catalog reserves, orders asks for payment, payments opens the intent.
3. Waits until every order has its ``PaymentRequested`` (with the dynamic QRIS) on ``payments.payment.v1``.
4. Acts as the acquirer: scans every QRIS and fires N signed notifications at the webhook over
   ``--concurrency`` keep-alive connections, at ``--rate`` per second (0 = as fast as it can).
5. Watches ``orders.order.v1`` for ``OrderPaid`` (orders emits it when the order turns *Dibayar*) and
   ``payments.payment.v1`` for ``PaymentSucceeded``: time until the last order is *Dibayar*, end-to-end
   latency (notification sent → ``OrderPaid`` record's Kafka timestamp), effects lost (placed, no
   ``OrderPaid``) or duplicated (more than one distinct ``OrderPaid`` or ``PaymentSucceeded`` event id per order).
6. Measures the raw ceilings on the same machine in the same run: Kafka's own ``ProducerPerformance`` for the
   same record count and size, and single-row INSERT commits/s on the same Postgres (1 and 8 connections).

``--direct`` keeps the isolated payments bench: it publishes N ``OrderPaymentRequested`` straight to
``orders.order.v1`` (no orders, no catalog) and ends at ``PaymentSucceeded`` on Kafka.

Prints a table and writes ``bench-results/payments.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: the repository's packages first
    sys.path.insert(0, str(REPO))

from deploy.commands.endpoints import city_slugs, dev_token, service_url, stack_endpoints, webhook_secret  # noqa: E402
from deploy.local.errors import RuntimeProblem  # noqa: E402
from payments.simulator import notification_body, scan, signed_request  # noqa: E402
from shared.envelope import build_event  # noqa: E402
from shared.events.orders import ORDER, OrderPaymentRequested  # noqa: E402
from shared.events.payments import PAYMENT  # noqa: E402
from shared.ids import demo_id  # noqa: E402

TOOLS_POM = Path(__file__).resolve().with_name("kafka-tools-pom.xml")
PCTS = (("p50", 50), ("p95", 95), ("p99", 99))
# events that mean an order of the run went somewhere else than Dibayar (or was refunded): counted per order
OTHER_KINDS = {"PaymentExpired", "PaymentRefunded", "PaymentAmountMismatch", "PaymentFailed", "OrderCancelled",
               "OrderPaymentExpired", "RefundRequested"}
WATCHED = {"PaymentRequested", "PaymentSucceeded", "OrderPaid"} | OTHER_KINDS


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def pcts_ms(values: list[float]) -> dict[str, float]:
    return {p: round(pct(values, q) * 1000, 1) for p, q in PCTS}


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


# -- watching payments.payment.v1 and orders.order.v1 ---------------------------------------------------

@dataclass
class Watch:
    only: set[str] | None = None  # direct mode: the bench's own order ids; real mode: everything, filtered later
    requested: dict[str, tuple[str, str]] = field(default_factory=dict)  # order → (city, qris)
    requested_seen: dict[str, float] = field(default_factory=dict)  # monotonic, when this consumer read it
    succeeded: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # distinct event ids
    succeeded_ts: dict[str, float] = field(default_factory=dict)  # wall clock, the first record's timestamp
    succeeded_seen: dict[str, float] = field(default_factory=dict)
    paid: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # OrderPaid event ids
    paid_ts: dict[str, float] = field(default_factory=dict)
    paid_seen: dict[str, float] = field(default_factory=dict)
    redelivered: Counter[str] = field(default_factory=Counter)  # the same event id again, per event type
    other: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    sizes: list[int] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: bool = False

    def _first(self, ids: defaultdict[str, set[str]], ts: dict[str, float], seen: dict[str, float], key: str,
               event_id: str, kind: str, timestamp_ms: int, now: float) -> bool:
        if event_id in ids[key]:
            self.redelivered[kind] += 1  # a relay retry: consumers' inboxes drop it; not a second effect
            return False
        ids[key].add(event_id)
        # the relay's producer stamps the record (CreateTime): independent of how late this busy event loop
        # gets around to reading it
        ts.setdefault(key, timestamp_ms / 1000)
        seen.setdefault(key, now)
        return True

    def take(self, key: str, kind: str, value: bytes, timestamp_ms: int, now: float) -> None:
        env = json.loads(value)
        if kind == "PaymentRequested":
            self.requested.setdefault(key, (env["city"], env["payload"]["qris"]))
            self.requested_seen.setdefault(key, now)
        elif kind == "PaymentSucceeded":
            if self._first(self.succeeded, self.succeeded_ts, self.succeeded_seen, key, env["event_id"], kind,
                           timestamp_ms, now):
                self.sizes.append(len(value))
        elif kind == "OrderPaid":
            self._first(self.paid, self.paid_ts, self.paid_seen, key, env["event_id"], kind, timestamp_ms, now)
        else:
            self.other[key][kind] += 1


async def watch(bootstrap: str, w: Watch, topics: list[str]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or set()]
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
                    kind = next((v.decode() for k, v in (r.headers or ()) if k == "event_type"), None)
                    if kind is not None and kind not in WATCHED:
                        continue  # OrderPlaced, OrderPaymentRequested, …: not decoded, this loop is busy
                    key = r.key.decode() if r.key else ""
                    if w.only is not None and key not in w.only:
                        continue
                    if kind is None:
                        kind = json.loads(r.value)["event_type"]
                        if kind not in WATCHED:
                            continue
                    w.take(key, kind, r.value, r.timestamp, now)
    finally:
        await consumer.stop()


async def wait_progress(count: Any, target: int, *, stall: float, what: str, progress: Any,
                        every: float = 10.0) -> bool:
    """Wait until count() >= target; give up when nothing moved for `stall` seconds. True when reached."""
    last, last_move, last_note = count(), time.monotonic(), time.monotonic()
    while last < target:
        await asyncio.sleep(0.05)
        now, current = time.monotonic(), count()
        if current != last:
            last, last_move = current, now
        if now - last_note >= every:
            progress(f"    … {what}: {current}/{target}")
            last_note = now
        if now - last_move > stall:
            progress(f"  gave up waiting for {what}: {current}/{target}, nothing moved for {stall:.0f}s")
            return False
    return True


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
    from deploy.provision import DATABASE_NAME, admin_on_database

    url = admin_on_database(admin_url, DATABASE_NAME)
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

def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def direct_events(count: int) -> list[tuple[str, OrderPaymentRequested]]:
    cities = city_slugs()
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


async def direct_intents(bootstrap: str, count: int, w: Watch, progress: Any) -> tuple[list[str], dict[str, Any]]:
    """--direct: publish OrderPaymentRequested ourselves (payments alone, no orders/catalog)."""
    events = direct_events(count)
    assert w.only is not None
    w.only.update(e.order_id for _, e in events)
    progress(f"bench payments --direct: publishing {count} OrderPaymentRequested ...")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    started = time.monotonic()
    try:
        futures = []
        for city, payload in events:
            out = build_event(payload, city=city, correlation_id=f"bench-{payload.order_id}")
            futures.append(await producer.send(out.topic, out.body(), key=out.key.encode(),
                                               headers=[(k, v.encode()) for k, v in out.headers().items()]))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    ids = [e.order_id for _, e in events]
    await wait_progress(lambda: len(w.requested), count, stall=120, what="PaymentRequested", progress=progress)
    seconds = time.monotonic() - started
    return ids, {"seconds": round(seconds, 2), "per_second": round(len(w.requested) / seconds, 1),
                 "definition": "OrderPaymentRequested published → PaymentRequested on Kafka"}


# -- real flow: catalog products, orders over HTTP ------------------------------------------------------

@dataclass
class BenchProduct:
    city: str
    vendor_id: str
    product_id: str
    market_id: str


async def setup_products(catalog: str, count: int, run_id: str, vendors_per_city: int,
                         progress: Any) -> tuple[list[BenchProduct], dict[str, str]]:
    """As vendors of both demo cities, list one bench product each (counted stock for the whole run), in
    their own markets; and an RW hub per city for RW-hub pickup."""
    products: list[BenchProduct] = []
    hubs: dict[str, str] = {}
    stock = min(1_000_000, 3 * count + 10)  # quantities are 1–3: even one product alone would carry the run
    async with httpx.AsyncClient(base_url=catalog, timeout=30) as client:
        for city in city_slugs():
            found = await client.get(f"/cities/{city}/rw-hubs")
            if found.status_code != 200 or not found.json()["items"]:
                raise RuntimeProblem(f"catalog has no RW hub in {city} (HTTP {found.status_code}); is the demo "
                                     "data seeded (PASARKOTA_DEMO=1)?")
            hubs[city] = found.json()["items"][0]["id"]
            for i in range(1, vendors_per_city + 1):  # vendor i sits in market (i − 1) mod 3: several markets
                vendor_id = demo_id("vendor", city, f"vendor-{i:02d}")
                token = dev_token(city, sub=f"bench-{vendor_id}", roles=["vendor"], vendor_id=vendor_id,
                                  ttl_seconds=3600)
                made = await client.post(f"/cities/{city}/products", headers={"Authorization": f"Bearer {token}"},
                                         json={"name": f"Beras Bench {run_id} {i}", "category": "sembako",
                                               "unit": "kg", "price": 12_000 + 500 * i, "stock": stock,
                                               "description": "pasarkota bench payments"})
                if made.status_code != 201:
                    raise RuntimeProblem(f"catalog refused the bench product of {vendor_id} in {city} "
                                         f"(HTTP {made.status_code}): {made.text[:300]}")
                p = made.json()
                products.append(BenchProduct(city, vendor_id, p["id"], p["market_id"]))
    progress(f"  {len(products)} bench products (stock {stock} each) across {len(hubs)} cities")
    return products, hubs


async def delist_products(catalog: str, products: list[BenchProduct]) -> None:
    async with httpx.AsyncClient(base_url=catalog, timeout=30) as client:
        for p in products:
            token = dev_token(p.city, sub=f"bench-{p.vendor_id}", roles=["vendor"], vendor_id=p.vendor_id,
                              ttl_seconds=600)
            await client.delete(f"/cities/{p.city}/products/{p.product_id}",
                                headers={"Authorization": f"Bearer {token}"})


@dataclass
class Placement:
    order_ids: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    sample: list[dict[str, str]] = field(default_factory=list)


async def place_orders(orders_url: str, count: int, run_id: str, products: list[BenchProduct],
                       hubs: dict[str, str], concurrency: int, progress: Any) -> Placement:
    """N real checkouts: buyer tokens, one Idempotency-Key per order (a resent request is the same order)."""
    host, port = host_port(orders_url)
    tokens: dict[tuple[str, int], str] = {}

    def request(i: int) -> tuple[str, dict[str, str], bytes]:
        p = products[i % len(products)]
        buyer = (p.city, i % 400)
        if buyer not in tokens:
            tokens[buyer] = dev_token(p.city, sub=f"bench-buyer-{p.city}-{buyer[1]}", roles=["buyer"],
                                      ttl_seconds=12 * 3600)
        fulfilment: dict[str, Any] = ({"type": "pickup_rw_hub", "rw_hub_id": hubs[p.city]} if i % 2
                                      else {"type": "pickup_stall"})
        body = json.dumps({"market_id": p.market_id, "fulfilment": fulfilment,
                           "items": [{"product_id": p.product_id, "quantity": 1 + i % 3}]}).encode()
        headers = {"Authorization": f"Bearer {tokens[buyer]}", "Content-Type": "application/json",
                   "Idempotency-Key": f"bench-{run_id}-{i}"}
        return f"/cities/{p.city}/orders", headers, body

    result = Placement()
    placed: dict[int, str] = {}

    async def place(client: RawHttp, i: int, *, warm_up: bool) -> None:
        path, headers, body = request(i)
        deadline = time.monotonic() + 60
        while True:
            started = time.monotonic()
            status, answer = await client.post(path, headers, body)
            if status == 201:
                result.latencies.append(time.monotonic() - started)
                placed[i] = json.loads(answer)["order_id"]
                break
            # the first order of each product waits for orders' projection of ProductListed to arrive
            if warm_up and status == 422 and b"unknown-product" in answer and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                continue
            code = re.search(rb'"code"\s*:\s*"([^"]+)"', answer) or re.search(rb'"type"\s*:\s*"([^"]+)"', answer)
            result.errors[f"{status} {code.group(1).decode() if code else answer[:80]!r}"] += 1
            break
        result.statuses[status] += 1

    started = time.monotonic()
    first = RawHttp(host, port)
    try:  # one order per product first, one at a time: the projections are there before the burst
        for i in range(min(len(products), count)):
            await place(first, i, warm_up=True)
    finally:
        await first.close()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(min(len(products), count), count):
        queue.put_nowait(i)

    async def worker() -> None:
        client = RawHttp(host, port)
        try:
            while not queue.empty():
                i = queue.get_nowait()
                await place(client, i, warm_up=False)
                if i % 2000 == 0:
                    progress(f"    … {len(placed)} orders placed")
        finally:
            await client.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.monotonic() - started
    result.order_ids = [placed[i] for i in sorted(placed)]
    result.sample = [{"city": products[i % len(products)].city, "order_id": placed[i]} for i in sorted(placed)[:6]]
    return result


# -- the acquirer's burst ---------------------------------------------------------------------------------

@dataclass
class Burst:
    sent_at: dict[str, float] = field(default_factory=dict)  # monotonic
    sent_wall: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)
    t0: float = 0.0
    t0_wall: float = 0.0
    seconds: float = 0.0
    retries: int = 0  # re-sent after a refused connection or a 5xx (persistent mode)


async def fire(payments_url: str, w: Watch, order_ids: list[str], rate: float, concurrency: int, *,
               persistent: bool = False) -> Burst:
    """Fire one signed notification per order. ``persistent``: behave like a real acquirer during an outage —
    re-send the very same signed request (same request id: replay-safe) until it is answered 2xx."""
    host, port = host_port(payments_url)
    secrets = {slug: webhook_secret(slug) for slug in city_slugs()}
    requests = []
    for order_id in order_ids:
        city, qris = w.requested[order_id]
        requests.append((order_id, city, notification_body(scan(qris))))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(requests)):
        queue.put_nowait(i)
    b = Burst(t0=time.monotonic(), t0_wall=time.time())
    last_answer = b.t0

    async def shoot() -> None:
        nonlocal last_answer
        client = RawHttp(host, port)
        try:
            while not queue.empty():
                i = queue.get_nowait()
                if rate > 0:
                    delay = b.t0 + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                order_id, city, body = requests[i]
                path, headers = signed_request(city, secrets[city], body)
                started = time.monotonic()
                b.sent_at[order_id] = started
                b.sent_wall[order_id] = time.time()
                while True:
                    try:
                        status, _ = await client.post(path, headers, body)
                    except (OSError, asyncio.IncompleteReadError, RuntimeError):
                        if not persistent:
                            raise
                        status = 0
                    if not persistent or 200 <= status < 300 or 400 <= status < 500:
                        break
                    b.retries += 1
                    await asyncio.sleep(0.5)
                done = time.monotonic()
                b.latencies.append(done - started)
                b.statuses[status] += 1
                if 200 <= status < 300:
                    b.accepted.add(order_id)
                last_answer = max(last_answer, done)
        finally:
            await client.close()

    await asyncio.gather(*(shoot() for _ in range(concurrency)))
    b.seconds = last_answer - b.t0
    return b


class Profiler:
    """py-spy (a sampling profiler, PyPI) on every service process of the stack during the burst: from the first
    notification until the last order is *Dibayar*. Non-blocking sampling at 50 Hz, following worker processes.
    Each service's collapsed stacks go to ``<dir>/<service>.txt``; :meth:`summary` gives its top frames by own
    time (where the CPU is) and by total time (which of our functions it is spent under)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        from deploy import stack
        from deploy.local.procs import read_pid

        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.directory.mkdir(parents=True, exist_ok=True)
        for svc in stack.SERVICES:
            for index in range(svc.workers):
                pid = read_pid(stack.worker_pid_file(svc, index))
                if not pid:
                    continue
                self._record(f"{svc.name}.{index}" if index else svc.name, pid, exe)

    def _record(self, name: str, pid: int, exe: str) -> None:
        out = self.directory / f"{name}.txt"
        out.unlink(missing_ok=True)
        self.procs[name] = subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--rate", "50", "--nonblocking", "--subprocesses",
             "--format", "raw", "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        import signal

        for proc in self.procs.values():
            proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()

    def summary(self, top: int = 12) -> dict[str, Any]:
        result: dict[str, Any] = {}
        services: dict[str, list[Path]] = {}
        for name in self.procs:  # the workers of one service are summed: "orders", "orders.1", ...
            path = self.directory / f"{name}.txt"
            if path.exists():
                services.setdefault(name.split(".")[0], []).append(path)
        for name, paths in services.items():
            own: Counter[str] = Counter()
            total: Counter[str] = Counter()
            samples = 0
            for line in (line for path in paths for line in path.read_text().splitlines()):
                stack_text, _, count_text = line.rpartition(" ")
                if not count_text.isdigit():
                    continue
                n = int(count_text)
                frames = [f for f in stack_text.split(";") if f]
                if not frames:
                    continue
                samples += n
                own[_frame(frames[-1])] += n
                for frame in {_frame(f) for f in frames if _ours(f)}:
                    total[frame] += n
            # py-spy drops samples of idle threads: these are shares of the time a thread was on the CPU. A leaf
            # ``Runner.run`` is the event loop's own C code (uvloop: sockets, httptools parsing, callbacks).
            for path in paths:  # kept as evidence beside the report, compressed (collapsed stacks are large)
                with open(path, "rb") as raw, gzip.open(path.with_suffix(".txt.gz"), "wb") as packed:
                    shutil.copyfileobj(raw, packed)
                path.unlink()
            paths = [path.with_suffix(".txt.gz") for path in paths]
            result[name] = {
                "samples": samples,
                "top_own": [{"frame": f, "pct": round(100 * n / samples, 1)} for f, n in own.most_common(top)],
                "top_total_ours": [{"frame": f, "pct": round(100 * n / samples, 1)}
                                   for f, n in total.most_common(top) if not f.startswith(("cmd_serve", "main ("))],
                "files": [str(x.relative_to(REPO)) if x.is_relative_to(REPO) else str(x) for x in paths]}
        return result


class CpuMeter:
    """CPU seconds each component of the stack spent during the burst, and the bench itself: where the two cores
    went. Sampled every second (psutil, user + system): a process that exits meanwhile (a killed worker) keeps its
    last sample; Postgres counts its live backends plus the reaped ones (the postmaster's ``children_*`` times)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.t0 = 0.0

    @staticmethod
    def _components() -> dict[str, list[int]]:
        from deploy import stack
        from deploy.local.procs import read_pid

        found: dict[str, list[int]] = {"bench (load generator)": [os.getpid()]}
        for svc in stack.SERVICES:
            pids = [pid for i in range(svc.workers) if (pid := read_pid(stack.worker_pid_file(svc, i)))]
            if pids:
                found[svc.name] = pids
        kafka = read_pid(stack.home() / "kafka" / "kafka.pid")
        if kafka:
            found["kafka"] = [kafka]
        try:
            postmaster = int((stack.home() / "postgres" / "pgdata" / "postmaster.pid").read_text().split()[0])
            found["postgres"] = [postmaster]
        except (FileNotFoundError, ValueError, IndexError):
            pass
        return found

    @staticmethod
    def _seconds(pid: int) -> float | None:
        import psutil

        try:
            proc = psutil.Process(pid)
            t = proc.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    c = child.cpu_times()
                    total += c.user + c.system
            return total
        except psutil.NoSuchProcess:
            return None

    def sample(self) -> None:
        for name, pids in self._components().items():
            for pid in pids:
                seconds = self._seconds(pid)
                if seconds is None:
                    continue
                self.first.setdefault(pid, 0.0 if self.t0 else seconds)  # started during the burst: all of it
                self.last[pid] = (name, seconds)

    def begin(self) -> None:
        self.sample()
        self.t0 = time.monotonic()

    async def sample_forever(self, stop: Any) -> None:
        while not stop():
            await asyncio.sleep(1.0)
            self.sample()

    def end(self) -> dict[str, Any]:
        self.sample()
        wall = time.monotonic() - self.t0
        used: dict[str, float] = {}
        for pid, (name, seconds) in self.last.items():
            used[name] = used.get(name, 0.0) + max(seconds - self.first.get(pid, 0.0), 0.0)
        total = sum(used.values())
        return {"wall_seconds": round(wall, 1), "cpu_seconds": {k: round(v, 1) for k, v in
                                                                 sorted(used.items(), key=lambda kv: -kv[1])},
                "cores_busy": round(total / wall, 2) if wall else None,
                "definition": "CPU seconds (user+system; Postgres with its backends) from the first notification "
                              "until the last OrderPaid, sampled every second (a killed process: its last sample)"}


# What each replica (worker process) of a service applied, read from its own /metrics.
REPLICA_FIGURES = {
    "orders": ("pasarkota_events_consumed_total", {"consumer": "saga", "event_type": "PaymentSucceeded"}),
    "payments": ("pasarkota_payment_notifications_processed_total", {"outcome": "paid"}),
    "catalog": ("pasarkota_events_consumed_total", {"consumer": "reservations", "event_type": "OrderPaid"}),
}


def _metric_sum(text: str, name: str, labels: dict[str, str]) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


class Replicas:
    """The worker processes of the burst-path services: their share of the work (scraped from each one's own port
    every ``interval`` seconds — a scrape renders every metric of the process, so not more often than needed — a
    killed process's last figure is kept), and ``kill`` for a rebalance mid-burst."""

    def __init__(self, services: tuple[str, ...] = tuple(REPLICA_FIGURES), interval: float = 2.0) -> None:
        self.services = services
        self.interval = interval
        self.last: dict[tuple[str, int, int], float] = {}  # (service, index, pid) -> counter
        self.first: dict[tuple[str, int, int], float] = {}  # the same before the burst (0 for a process started later)
        self.started = False
        self.killed: list[dict[str, Any]] = []
        self.stop = False

    async def scrape_once(self, client: httpx.AsyncClient) -> None:
        from deploy import stack

        for svc in stack.SERVICES:
            if svc.name not in self.services:
                continue
            name, labels = REPLICA_FIGURES[svc.name]
            for index, pid, url in stack.worker_urls(svc):
                url = url or (svc.url if svc.workers == 1 else None)
                if not pid or not url:
                    continue
                try:
                    text = (await client.get(f"{url}/metrics")).text
                except httpx.HTTPError:
                    continue
                key = (svc.name, index, pid)
                self.last[key] = _metric_sum(text, name, labels)
                self.first.setdefault(key, 0.0 if self.started else self.last[key])

    async def scrape_forever(self) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            await self.scrape_once(client)
            self.started = True
            while not self.stop:
                for _ in range(int(self.interval / 0.1)):
                    if self.stop:
                        break
                    await asyncio.sleep(0.1)
                await self.scrape_once(client)

    def kill(self, service: str, index: int, at: float) -> None:
        import signal

        from deploy import stack

        svc = next(s for s in stack.SERVICES if s.name == service)
        from deploy.local.procs import read_pid

        pid = read_pid(stack.worker_pid_file(svc, index))
        if pid:
            os.kill(pid, signal.SIGKILL)
            self.killed.append({"service": service, "worker": index, "pid": pid, "at_seconds": round(at, 2)})

    def shares(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for service in self.services:
            rows = [(i, pid, n - self.first.get((s, i, pid), 0.0)) for (s, i, pid), n in sorted(self.last.items())
                    if s == service]
            total = sum(n for _i, _p, n in rows)
            out[service] = {"figure": REPLICA_FIGURES[service][0], "labels": REPLICA_FIGURES[service][1],
                            "total": total,
                            "processes": [{"worker": i, "pid": pid, "applied": int(n),
                                           "share_pct": round(100 * n / total, 1) if total else None,
                                           "killed": any(k["pid"] == pid for k in self.killed)}
                                          for i, pid, n in rows]}
        return out


def _frame(raw: str) -> str:
    """``function (path/to/file.py:123)`` → ``function (file.py)``: lines vary between runs, files do not."""
    name, _, where = raw.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else where
    return f"{name} ({short})"


OUR_PACKAGES = ("shared", "catalog", "orders", "payments", "learning", "identity", "notifications", "portal")


def _ours(raw: str) -> bool:
    where = raw.partition(" (")[2]
    return where.split("/", 1)[0] in OUR_PACKAGES


async def _kill_mid_burst(replicas: Replicas, services: tuple[str, ...], w: Watch, order_ids: list[str],
                         progress: Any) -> None:
    """SIGKILL worker 1 of each of ``services`` once a third of the orders are Dibayar: its consumer-group
    partitions move to the other worker (a rebalance) while the burst goes on; the supervisor restarts it."""
    t0 = time.monotonic()
    target = len(order_ids) // 3
    while sum(1 for o in order_ids if o in w.paid) < target and time.monotonic() - t0 < 300:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.6)  # a scrape just before the kill: the killed process's count is nearly complete
    for service in services:
        replicas.kill(service, 1, time.monotonic() - t0)
    progress(f"  SIGKILLed worker 1 of {', '.join(services)} at {time.monotonic() - t0:.1f}s "
             f"({target} of {len(order_ids)} Dibayar)")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def run(*, count: int, rate: float, concurrency: int, output: str, skip_raw: bool = False,
              direct: bool = False, place_concurrency: int = 16, vendors_per_city: int = 3,
              progress: Any = print, during_burst: Any = None, profile: str | None = None,
              kill_replicas: tuple[str, ...] = (), label: str = "burst") -> dict[str, Any]:
    """``during_burst``: an async callable started as the notifications start (the chaos bench's faults);
    its result lands in the report as ``during_burst``; the notifications are then re-sent until answered."""
    bootstrap, admin_url = stack_endpoints()
    load_start = loadavg()
    run_id = uuid.uuid4().hex[:6]
    w = Watch(only=set() if direct else None)
    watcher = asyncio.create_task(watch(bootstrap, w, [PAYMENT] if direct else [PAYMENT, ORDER]))
    await asyncio.wait_for(w.ready.wait(), 60)
    report: dict[str, Any] = {"mode": "direct" if direct else "real-flow", "count": count, "rate_limit": rate or None,
                              "concurrency": concurrency}
    products: list[BenchProduct] = []
    try:
        if direct:
            order_ids, report["intents"] = await direct_intents(bootstrap, count, w, progress)
            placed = order_ids
        else:
            progress(f"bench payments: real flow, {count} orders through orders' HTTP (run {run_id}) ...")
            products, hubs = await setup_products(service_url("catalog"), count, run_id, vendors_per_city, progress)
            t_place = time.monotonic()
            p = await place_orders(service_url("orders"), count, run_id, products, hubs, place_concurrency, progress)
            placed = p.order_ids
            progress(f"  {len(placed)} orders placed in {p.seconds:.1f}s ({len(placed) / p.seconds:,.0f}/s); "
                     "waiting for every payment intent ...")
            report["placement"] = {
                "placed": len(placed), "refused": count - len(placed), "seconds": round(p.seconds, 2),
                "per_second": round(len(placed) / p.seconds, 1) if p.seconds else None,
                "concurrency": place_concurrency, "latency_ms": pcts_ms(p.latencies), "errors": dict(p.errors),
                "products": [vars(x) for x in products], "sample_orders": p.sample,
                "definition": "POST /cities/{city}/orders answered 201 (OrderPlaced in the outbox)"}

            def settled() -> int:
                return sum(1 for o in placed if o in w.requested or w.other.get(o))
            await wait_progress(settled, len(placed), stall=120, what="payment intents (or cancellations)",
                                progress=progress)
            seen = [w.requested_seen[o] for o in placed if o in w.requested_seen]
            until = (max(seen) if seen else time.monotonic()) - t_place
            with_intent = [o for o in placed if o in w.requested]
            report["intents"] = {
                "with_intent": len(with_intent), "seconds_from_first_order": round(until, 2),
                "per_second": round(len(with_intent) / until, 1) if until > 0 else None,
                "definition": "first checkout → the last PaymentRequested read on Kafka (catalog reserved, "
                              "orders asked, payments opened the intent with its QRIS)"}
            order_ids = with_intent
        progress(f"  {len(order_ids)} intents with QRIS; firing {len(order_ids)} notifications "
                 f"(rate {rate or 'max'}, {concurrency} connections) ...")
        chaos = asyncio.create_task(during_burst()) if during_burst else None
        profiler = Profiler(REPO / profile if not Path(profile).is_absolute() else Path(profile)) if profile else None
        if profiler:
            profiler.start()
        cpu = CpuMeter()
        cpu.begin()
        replicas = Replicas(interval=0.5 if kill_replicas else 2.0)  # a killed one's count is its last scrape
        scraper = asyncio.create_task(replicas.scrape_forever())
        while not replicas.started:  # the replicas' counters before the first notification
            await asyncio.sleep(0.05)
        cpu_sampler = asyncio.create_task(cpu.sample_forever(lambda: replicas.stop))
        killer = asyncio.create_task(_kill_mid_burst(replicas, kill_replicas, w, order_ids, progress)) \
            if kill_replicas else None
        b = await fire(service_url("payments"), w, order_ids, rate, concurrency,
                       persistent=chaos is not None or bool(kill_replicas))
        progress(f"  {len(order_ids)} notifications answered in {b.seconds:.1f}s; waiting for "
                 f"{'PaymentSucceeded' if direct else 'OrderPaid (Dibayar)'} ...")
        effect = w.succeeded if direct else w.paid
        await wait_progress(lambda: sum(1 for o in order_ids if o in effect), len(order_ids), stall=120,
                            what="PaymentSucceeded" if direct else "OrderPaid", progress=progress)
        report["cpu_during_burst"] = cpu.end()
        if profiler:
            profiler.stop()
            report["profile"] = profiler.summary()
        if killer is not None:
            await killer
        await asyncio.sleep(1.0)  # one more scrape of every replica
        replicas.stop = True
        await scraper
        await cpu_sampler
        report["replicas"] = {"killed": replicas.killed, **replicas.shares()}
        if chaos is not None:
            report["during_burst"] = await chaos
        await asyncio.sleep(5.0)  # grace period: a duplicate or a late effect would show up here
    finally:
        w.stop = True
        await watcher
    if products:
        await delist_products(service_url("catalog"), products)

    ours = set(placed)
    accepted = b.statuses.get(200, 0)
    report["webhook"] = {
        "accepted": accepted, "non_2xx": sum(n for s, n in b.statuses.items() if not 200 <= s < 300),
        "statuses": {str(s): n for s, n in sorted(b.statuses.items())},
        "seconds": round(b.seconds, 2), "accepted_per_second": round(accepted / b.seconds, 1) if b.seconds else None,
        "resent_after_outage": b.retries,
        "latency_ms": pcts_ms(b.latencies)}

    def outcome(ts: dict[str, float], seen: dict[str, float], definition: str) -> dict[str, Any]:
        got = [o for o in ts if o in b.sent_wall]
        last = max((ts[o] for o in got), default=b.t0_wall) - b.t0_wall
        return {"orders": len(got), "seconds_until_last": round(last, 2),
                "per_second": round(len(got) / last, 1) if last > 0 else None,
                "end_to_end_ms": pcts_ms([ts[o] - b.sent_wall[o] for o in got]),
                "seen_by_bench_consumer_ms": pcts_ms([seen[o] - b.sent_at[o] for o in got if o in seen]),
                "end_to_end_definition": definition}

    report["succeeded"] = outcome(w.succeeded_ts, w.succeeded_seen, "notification sent → PaymentSucceeded record "
                                  "produced to Kafka (its timestamp)")
    report["succeeded"]["event_bytes_avg"] = round(sum(w.sizes) / len(w.sizes)) if w.sizes else 400
    dup_succeeded = sum(max(0, len(w.succeeded[o]) - 1) for o in ours if o in w.succeeded)
    others: Counter[str] = Counter()
    for o in ours:
        others.update(w.other.get(o, {}))
    if direct:
        lost = sum(1 for o in placed if not w.succeeded.get(o))
        report["effects"] = {
            "expected": count, "succeeded_orders": sum(1 for o in placed if w.succeeded.get(o)), "lost": lost,
            "duplicated": dup_succeeded, "redelivered_same_event": sum(w.redelivered.values()),
            "other_events": dict(others),
            "definition": "lost = orders without a PaymentSucceeded; duplicated = extra PaymentSucceeded event ids"
                          " per order"}
    else:
        report["paid"] = outcome(w.paid_ts, w.paid_seen, "notification sent → OrderPaid record produced to Kafka "
                                 "(its timestamp): the order is Dibayar")
        dup_paid = sum(max(0, len(w.paid[o]) - 1) for o in ours if o in w.paid)
        paid_orders = sum(1 for o in placed if w.paid.get(o))
        report["effects"] = {
            "expected": count, "placed": len(placed), "not_placed": count - len(placed),
            "with_intent": len(order_ids), "no_intent": len(placed) - len(order_ids),
            "notified_2xx": len(b.accepted), "paid_orders": paid_orders,
            "succeeded_orders": sum(1 for o in placed if w.succeeded.get(o)),
            "lost": len(placed) - paid_orders, "duplicated": dup_paid + dup_succeeded,
            "duplicated_order_paid": dup_paid, "duplicated_payment_succeeded": dup_succeeded,
            "redelivered_same_event": dict(w.redelivered), "other_events": dict(others),
            "definition": "lost = placed orders without an OrderPaid after a 5 s grace period; duplicated = more than"
                          " one distinct OrderPaid event id per order plus more than one distinct PaymentSucceeded"
                          " event id per order (the same event id delivered again is counted apart)"}
    if not skip_raw:
        progress("  raw ceilings: Kafka ProducerPerformance and Postgres single-row commits ...")
        report["raw"] = {"kafka_producer": await kafka_producer_ceiling(bootstrap, count,
                                                                         report["succeeded"]["event_bytes_avg"]),
                         "postgres_insert": await postgres_commit_ceiling(admin_url, count)}
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                         "loadavg_at_start": load_start, "loadavg_at_end": loadavg(),
                         "loadavg_1m_at_start": load_start[0], "loadavg_1m_at_end": loadavg()[0]}
    report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report["git_commit"] = _git_commit()
    report["workers"] = _workers()
    report["ratios"] = _ratios(report)
    print_table(report, progress)
    path = Path(output)
    if not path.is_absolute():
        path = REPO / path
    path.parent.mkdir(parents=True, exist_ok=True)
    # One file for every kind of run (issue #16's table): this run under its label, the others kept.
    try:
        document = json.loads(path.read_text())
        runs = document["runs"] if isinstance(document.get("runs"), dict) else {}
    except (FileNotFoundError, ValueError, AttributeError):
        runs = {}
    runs[label] = report
    table = targets_table(runs)
    path.write_text(json.dumps({"runs": runs, "table": table}, indent=2) + "\n")
    progress("")
    print_targets(table, progress)
    progress(f"\nwritten to {path} (run {label!r})")
    return report


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _workers() -> dict[str, int]:
    """Processes running per service (their pid files), as the stack under test really ran."""
    from deploy import stack
    from deploy.local.procs import read_pid

    return {svc.name: sum(1 for i in range(16) if read_pid(stack.worker_pid_file(svc, i))) for svc in stack.SERVICES}


def _ratios(r: dict[str, Any]) -> dict[str, Any]:
    """Each figure beside the raw ceiling of the same run: the issue's "that ÷ single-row commits/s"."""
    raw = r.get("raw") or {}
    commits8 = (raw.get("postgres_insert") or {}).get("commits_per_second_8_conn")
    kafka = (raw.get("kafka_producer") or {}).get("records_per_second")
    paid = (r.get("paid") or {}).get("per_second")
    accepted = (r.get("webhook") or {}).get("accepted_per_second")
    placed = (r.get("placement") or {}).get("per_second")

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    return {"paid_per_pg_commit_8conn": ratio(paid, commits8),
            "accepted_per_pg_commit_8conn": ratio(accepted, commits8),
            "placed_per_pg_commit_8conn": ratio(placed, commits8), "paid_per_kafka_record": ratio(paid, kafka)}


# (label, run, how to read it from that run, target, met when)
TARGETS: list[tuple[str, str, Any, str, Any]] = [
    ("orders Dibayar per second through the 20,000 burst", "burst",
     lambda r: (r.get("paid") or {}).get("per_second"), ">= 2,500", lambda v: v >= 2500),
    ("that / single-row commits/s of the same Postgres (8 connections)", "burst",
     lambda r: r["ratios"]["paid_per_pg_commit_8conn"], ">= 0.20", lambda v: v >= 0.20),
    ("notifications accepted durably per second", "burst",
     lambda r: r["webhook"]["accepted_per_second"], ">= 5,000", lambda v: v >= 5000),
    ("webhook p99 (ms)", "burst", lambda r: r["webhook"]["latency_ms"]["p99"], "< 50", lambda v: v < 50),
    ("checkout: orders placed per second (201, Idempotency-Key)", "burst",
     lambda r: (r.get("placement") or {}).get("per_second"), ">= 1,000", lambda v: v >= 1000),
    ("end-to-end p99 paced at 500/s (ms)", "paced",
     lambda r: (r.get("paid") or {}).get("end_to_end_ms", {}).get("p99"), "< 200", lambda v: v < 200),
    ("lost / duplicated, every run", "*", None, "0 / 0", None),
]


def targets_table(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for label, run, read, target, met in TARGETS:
        if run == "*":
            lost = sum(r["effects"]["lost"] for r in runs.values())
            dup = sum(r["effects"]["duplicated"] for r in runs.values())
            rows.append({"figure": label, "run": ", ".join(sorted(runs)), "value": f"{lost} / {dup}",
                         "target": target, "met": lost == 0 and dup == 0})
            continue
        r = runs.get(run)
        value = None
        if r is not None:
            try:
                value = read(r)
            except (KeyError, TypeError):
                value = None
        rows.append({"figure": label, "run": run, "value": value, "target": target,
                     "met": bool(met(value)) if isinstance(value, (int, float)) else None})
    return rows


def print_targets(table: list[dict[str, Any]], out: Any = print) -> None:
    width = max(len(row["figure"]) for row in table)
    out(f"issue #16 targets{'':<{max(0, width - 15)}}  value       target    met")
    for row in table:
        value = row["value"]
        text = "-" if value is None else (f"{value:,.3f}" if isinstance(value, float) and value < 10 else
                                          f"{value:,.0f}" if isinstance(value, (int, float)) else str(value))
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        out(f"  {row['figure']:<{width}}  {text:>10}  {row['target']:<8}  {met}  ({row['run']})")


def _ms(d: dict[str, float]) -> str:
    return " / ".join("-" if isinstance(d[p], float) and math.isnan(d[p]) else f"{d[p]}" for p, _ in PCTS) + " ms"


def print_table(r: dict[str, Any], out: Any = print) -> None:
    wh, ok, eff = r["webhook"], r["succeeded"], r["effects"]
    rows: list[tuple[str, str]] = []
    if r["mode"] == "direct":
        rows.append(("intents created (OrderPaymentRequested → PaymentRequested)",
                     f"{r['intents']['per_second']:,.0f} /s"))
    else:
        pl, it = r["placement"], r["intents"]
        rows += [
            ("orders placed (POST /orders → 201)",
             f"{pl['placed']:,} in {pl['seconds']} s = {pl['per_second'] or 0:,.0f} /s"),
            ("checkout latency p50 / p95 / p99", _ms(pl["latency_ms"])),
            ("all payment intents (first checkout → last PaymentRequested)",
             f"{it['seconds_from_first_order']} s = {it['per_second'] or 0:,.0f} /s"),
        ]
    rows += [
        ("notifications accepted (2xx, stored durably)",
         f"{wh['accepted_per_second'] or 0:,.0f} /s ({wh['seconds']} s)"),
        ("webhook latency p50 / p95 / p99", _ms(wh["latency_ms"])),
        ("non-2xx answers", f"{wh['non_2xx']}"),
    ]
    if r["mode"] == "direct":
        rows += [("time until the last PaymentSucceeded", f"{ok['seconds_until_last']} s"),
                 ("PaymentSucceeded throughput", f"{ok['per_second'] or 0:,.0f} /s"),
                 ("end-to-end p50 / p95 / p99 (notification → PaymentSucceeded)", _ms(ok["end_to_end_ms"]))]
    else:
        paid = r["paid"]
        rows += [("time until the last order is Dibayar (OrderPaid)", f"{paid['seconds_until_last']} s"),
                 ("orders Dibayar per second", f"{paid['per_second'] or 0:,.0f} /s"),
                 ("end-to-end p50 / p95 / p99 (notification → OrderPaid)", _ms(paid["end_to_end_ms"])),
                 ("  of which notification → PaymentSucceeded", _ms(ok["end_to_end_ms"]))]
    rows += [("lost effects", str(eff["lost"])), ("duplicated effects", str(eff["duplicated"]))]
    if r["mode"] != "direct":
        rows.append(("orders not placed / without intent", f"{eff['not_placed']} / {eff['no_intent']}"))
    raw = r.get("raw")
    if raw:
        kp, pg = raw["kafka_producer"], raw["postgres_insert"]
        rows += [
            (f"raw: Kafka ProducerPerformance ({kp['records']} × {kp['record_size']} B, acks=all)",
             f"{kp['records_per_second']:,.0f} /s (p99 {kp['latency_ms']['p99']} ms)"),
            ("raw: Postgres single-row INSERT commits, 1 connection", f"{pg['commits_per_second_1_conn']:,} /s"),
            ("raw: Postgres single-row INSERT commits, 8 connections", f"{pg['commits_per_second_8_conn']:,} /s"),
        ]
    cpu = r.get("cpu_during_burst")
    if cpu:
        rows.append(("CPU seconds during the burst (cores busy)",
                     ", ".join(f"{k} {v}" for k, v in cpu["cpu_seconds"].items()) + f" ({cpu['cores_busy']})"))
    width = max(len(k) for k, _ in rows)
    m = r["machine"]
    out(f"\npasarkota bench payments ({r['mode']}): N={r['count']}, rate={r['rate_limit'] or 'max'}, "
        f"concurrency={r['concurrency']}, {m['cpus']} CPUs, load {m['loadavg_at_start']} → {m['loadavg_at_end']}")
    out("-" * (width + 34))
    for k, v in rows:
        out(f"{k:<{width}}  {v}")
    out("-" * (width + 34))


def main(argv: list[str] | None = None) -> int:
    """The same run as `pasarkota bench payments`, with the same flags."""
    import argparse

    from deploy.commands.bench import add_payments_arguments, run_payments

    parser = argparse.ArgumentParser(prog="bench_payments.py", description=__doc__.splitlines()[0])
    add_payments_arguments(parser)
    try:
        return run_payments(parser.parse_args(argv))
    except RuntimeProblem as exc:
        print(f"bench payments: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
