"""The payments benchmark runs end to end on the real platform (small N) and finds nothing lost or doubled.

Real flow: bench products listed through catalog's HTTP, real checkouts through orders' HTTP, the saga to
Menunggu Pembayaran, signed notifications at the webhook, every order Dibayar (`OrderPaid`) exactly once.
No wall-clock assertions: the figures are for docs/payments.md, produced by `pasarkota bench payments`.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.bench.bench_payments import print_table, run
from tests.conftest import Platform

pytestmark = pytest.mark.integration


@pytest.fixture
def bench_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", platform.infra.bootstrap)
    monkeypatch.setenv("DATABASE_URL", platform.infra.admin_url)
    for svc in ("catalog", "orders", "payments", "identity"):
        monkeypatch.setenv(f"PASARKOTA_{svc.upper()}_URL", platform.url(svc))
    return platform


async def test_bench_real_orders_all_paid_once(bench_env: Platform, tmp_path: Path) -> None:
    output = tmp_path / "payments.json"
    report = await run(count=120, rate=0, concurrency=8, output=str(output), place_concurrency=8,
                       vendors_per_city=2, progress=lambda *_: None)
    assert report["mode"] == "real-flow"
    eff = report["effects"]
    assert eff == {**eff, "placed": 120, "not_placed": 0, "with_intent": 120, "no_intent": 0, "notified_2xx": 120,
                   "paid_orders": 120, "succeeded_orders": 120, "lost": 0, "duplicated": 0,
                   "duplicated_order_paid": 0, "duplicated_payment_succeeded": 0}
    assert eff["other_events"] == {}  # nothing cancelled, expired, refunded or mismatched
    assert report["webhook"]["accepted"] == 120 and report["webhook"]["non_2xx"] == 0
    assert report["paid"]["orders"] == 120
    assert report["raw"]["kafka_producer"]["records"] == 120
    assert report["raw"]["postgres_insert"]["commits_per_second_1_conn"] > 0
    written = json.loads(output.read_text())
    burst = written["runs"]["burst"]
    assert burst["count"] == 120 and burst["mode"] == "real-flow"
    assert len(burst["machine"]["loadavg_at_start"]) == 3 and burst["ratios"]["paid_per_pg_commit_8conn"] > 0
    table = {row["figure"]: row for row in written["table"]}
    assert table["lost / duplicated, every run"]["value"] == "0 / 0"
    assert table["orders Dibayar per second through the 20,000 burst"]["value"] == report["paid"]["per_second"]
    assert table["end-to-end p99 paced at 500/s (ms)"]["value"] is None  # no paced run in this file yet

    # the orders really are Dibayar (asked of orders itself), and the bench products were delisted afterwards
    products = report["placement"]["products"]
    assert len(products) == 4 and {p["city"] for p in products} == {"cimahi", "tegal"}
    async with httpx.AsyncClient(timeout=30) as client:
        for o in report["placement"]["sample_orders"]:
            got = await client.get(f"{bench_env.url('orders')}/cities/{o['city']}/orders/{o['order_id']}",
                                   headers=bench_env.headers(o["city"], "city_admin"))
            assert got.status_code == 200 and got.json()["status"] == "paid", got.text
        for p in products:
            got = await client.get(f"{bench_env.url('catalog')}/cities/{p['city']}/products/{p['product_id']}")
            assert got.status_code == 404
    print_table(report)  # visible with -s


async def test_bench_direct_mode_isolates_payments(bench_env: Platform, tmp_path: Path) -> None:
    report = await run(count=60, rate=0, concurrency=4, output=str(tmp_path / "p.json"), direct=True,
                       skip_raw=True, progress=lambda *_: None)
    assert report["mode"] == "direct" and "placement" not in report
    assert report["effects"] == {**report["effects"], "succeeded_orders": 60, "lost": 0, "duplicated": 0}
    assert report["webhook"]["accepted"] == 60
