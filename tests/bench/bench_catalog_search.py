"""Benchmark: catalog search latency (p50/p95) with 10,000 products in one city.

Run: .venv/bin/python tests/bench/bench_catalog_search.py [--products 10000] [--rounds 40]
Uses KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL (admin) when set, otherwise starts its own Kafka and Postgres
in a temporary folder. Starts one catalog process (demo data seeded), adds the bench products for the demo
vendors of one city, then times each query over HTTP (what a phone sees, minus the network) and the SQL
alone. Prints a table and writes bench-results/catalog_search.json. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from catalog import handlers, queries, seed, store  # noqa: E402
from catalog.search import parse_query, query_phrases, search_text  # noqa: E402
from deploy.local.kafka import KafkaBroker  # noqa: E402
from deploy.local.postgres import LocalPostgres  # noqa: E402
from deploy.local.procs import free_port  # noqa: E402
from deploy.provision import DATA_SERVICES, ensure_topics, provision_database, service_database_url  # noqa: E402
from shared.ids import demo_id  # noqa: E402

OUT = REPO / "bench-results" / "catalog_search.json"
CITY = "cimahi"
QUERIES = ["cabe merah", "CABAI", "keriting", "bawang", "beras premium", "ikan", "telor", "kol", "sereh",
           "daging sapi", "kue", "tidak ada barang ini"]
MODIFIERS = ["", "Super", "Lokal", "Organik", "Grade A", "Grade B", "Segar", "Pilihan", "Curah", "Kemasan",
             "Garut", "Brebes", "Lembang", "Pangalengan", "Cianjur", "Tegal", "Jumbo", "Mini", "Premium", "Ekonomis"]


def bench_products(n: int) -> list[dict[str, object]]:
    """``n`` plausible products over the 16 demo vendors of the city (names: base × modifiers × batch)."""
    rng = random.Random(42)
    vendors = seed.VENDORS[CITY]
    markets = [demo_id("market", CITY, m["slug"]) for m in seed.MARKETS[CITY]]
    out = []
    for k in range(n):
        i = k % len(vendors) + 1
        shop, _owner, cats = vendors[i - 1]
        cat = cats[k % len(cats)]
        name, unit, base = rng.choice(seed.PRODUCTS[cat])
        label = f"{name} {rng.choice(MODIFIERS)} {k:05d}".replace("  ", " ")
        out.append({
            "id": demo_id("bench-product", CITY, str(k)), "city": CITY, "vendor_id": demo_id("vendor", CITY,
                                                                                             f"vendor-{i:02d}"),
            "market_id": markets[(i - 1) % len(markets)], "name": label, "description": "", "category": cat,
            "unit": unit, "price": max(100, int(base * rng.uniform(0.8, 1.2)) // 100 * 100),
            "stock": rng.choice([None, 10, 50]), "available": True, "min_per_order": 1, "max_per_order": None,
            "photo_url": None, "search_text": handlers.product_search_text(label, cat, shop),
            "name_text": search_text(label)})
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 2)


def start_catalog(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "deploy.cli", "serve", "catalog"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


async def run(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="pasarkota-bench-search-"))
    kafka = pg = None
    bootstrap, admin_url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if not bootstrap:
        kafka = KafkaBroker(workdir / "kafka", port=free_port(), controller_port=free_port())
        kafka.start()
        bootstrap = kafka.bootstrap
    if not admin_url:
        pg = LocalPostgres(workdir / "postgres", port=free_port())
        pg.start()
        admin_url = pg.admin_url
    proc = None
    try:
        await provision_database(admin_url, DATA_SERVICES)
        await ensure_topics(bootstrap)
        port = free_port()
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PASARKOTA_HTTP_PORT": str(port),
               "PASARKOTA_DATABASE_URL": service_database_url(admin_url, "catalog"), "PASARKOTA_DEMO": "1",
               "PASARKOTA_LOG_LEVEL": "WARNING", "PASARKOTA_LOG_FORMAT": "json"}
        env.pop("DATABASE_URL", None)
        proc = start_catalog(env, workdir / "catalog.log")
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for _ in range(600):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("catalog did not become ready: " + (workdir / "catalog.log").read_text()[-2000:])

            dsn = service_database_url(admin_url, "catalog")
            conn = await asyncpg.connect(dsn, server_settings={"search_path": "catalog"})
            try:
                existing = await conn.fetchval("SELECT count(*) FROM products WHERE city = $1 AND active", CITY)
                missing = max(0, args.products - existing)
                started = time.perf_counter()
                rows = bench_products(missing)
                for i in range(0, len(rows), 2000):
                    await store.CatalogStore(conn).insert_products_bulk(rows[i:i + 2000])
                await conn.execute("ANALYZE products")
                load_s = time.perf_counter() - started
                total = await conn.fetchval("SELECT count(*) FROM products WHERE city = $1 AND active", CITY)

                results = []
                load_before = os.getloadavg()[0]
                for q in QUERIES:
                    http_ms, sql_ms, hits = [], [], 0
                    terms = parse_query(q)
                    for r in range(args.rounds + 3):
                        t0 = time.perf_counter()
                        resp = await client.get(f"/cities/{CITY}/products", params={"q": q, "page_size": 20})
                        t1 = time.perf_counter()
                        resp.raise_for_status()
                        hits = resp.json()["total"]
                        await queries.search_products(conn, CITY, terms, phrases=query_phrases(terms), market_id=None,
                                                      category=None, vendor_id=None, limit=20, offset=0)
                        t2 = time.perf_counter()
                        if r >= 3:  # warm-up rounds are not counted
                            http_ms.append((t1 - t0) * 1000)
                            sql_ms.append((t2 - t1) * 1000)
                    results.append({"query": q, "hits": hits, "http_p50_ms": pct(http_ms, 50),
                                    "http_p95_ms": pct(http_ms, 95), "sql_p50_ms": pct(sql_ms, 50),
                                    "sql_p95_ms": pct(sql_ms, 95)})
                all_http = [r["http_p50_ms"] for r in results]
            finally:
                await conn.close()
        return {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                        "python": platform.python_version()},
            "city": CITY, "products_in_city": total, "bench_products_loaded": missing,
            "load_seconds": round(load_s, 2), "rounds_per_query": args.rounds, "page_size": 20,
            "median_of_http_p50_ms": round(statistics.median(all_http), 2),
            "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
            "queries": results,
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if kafka:
            kafka.stop()
        if pg:
            pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000, help="products in the city (demo + bench)")
    parser.add_argument("--rounds", type=int, default=40, help="timed requests per query")
    result = asyncio.run(run(parser.parse_args()))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"catalog search, {result['products_in_city']} active products in {CITY}, "
          f"{result['rounds_per_query']} requests per query, page of 20\n")
    print(f"{'query':<24}{'hits':>7}{'HTTP p50':>10}{'HTTP p95':>10}{'SQL p50':>10}{'SQL p95':>10}   (ms)")
    for r in result["queries"]:  # type: ignore[attr-defined]
        print(f"{r['query']:<24}{r['hits']:>7}{r['http_p50_ms']:>10}{r['http_p95_ms']:>10}"
              f"{r['sql_p50_ms']:>10}{r['sql_p95_ms']:>10}")
    load = result["load_average_1m"]
    print(f"\nmachine load average (1 min) {load['before']} → {load['after']} on {os.cpu_count()} cpus")  # type: ignore[index]
    print(f"written to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
