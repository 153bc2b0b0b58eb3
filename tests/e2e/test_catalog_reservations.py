"""Stock reservations over events, against the real platform: no oversell under concurrency, ever.

OrderPlaced / OrderPaid / OrderCancelled / OrderPaymentExpired are published straight to ``orders.order.v1``
(as the orders service would), so these tests do not depend on orders being finished. Two catalog replicas
share the consumer group, so reservations for the same product really run concurrently.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from deploy.local.procs import free_port
from shared.events.catalog import RESERVATION
from shared.events.common import OrderLine
from shared.events.orders import OrderCancelled, OrderPaid, OrderPaymentExpired, OrderPlaced
from tests.catalog.support import (
    admin_db_url,
    by_type,
    catalog_events,
    inbox_has,
    market_id,
    product,
    publish,
    vendor_headers,
    vendor_id,
)
from tests.conftest import Platform, eventually

pytestmark = pytest.mark.integration

CITY = "cimahi"
MARKET = market_id(CITY, "pasar-atas-baru")  # vendor-01's market (vendors spread over markets in order)


@pytest.fixture(scope="module")
def second_catalog(platform: Platform) -> Iterator[str]:
    """A second catalog replica in the same consumer group: partitions split, reservations race for real."""
    port = free_port()
    env = platform.env("catalog")
    env["PASARKOTA_HTTP_PORT"] = str(port)
    log = open(platform.home / "catalog-2.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "deploy.cli", "serve", "catalog"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            assert proc.poll() is None, "second catalog replica exited"
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            import time

            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def create_product(platform: Platform, *, stock: int | None, name: str, vendor: int = 1) -> str:
    r = httpx.post(f"{platform.url('catalog')}/cities/{CITY}/products", headers=vendor_headers(platform, CITY, vendor),
                   json={"name": name, "category": "sembako", "unit": "kg", "price": 15000, "stock": stock,
                         "max_per_order": 100})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def order(run: str, n: int, pid: str, qty: int = 1, vendor: int = 1, market: str = MARKET) -> OrderPlaced:
    return OrderPlaced(order_id=f"{run}-{n:04d}", buyer_id=f"demo-buyer-{CITY}-{n % 5}", market_id=market,
                       lines=[OrderLine(product_id=pid, vendor_id=vendor_id(CITY, vendor), quantity=qty,
                                        unit_price=15000)],
                       subtotal=15000 * qty, total=15000 * qty, fulfilment="pickup_stall")


async def outcomes(platform: Platform, run: str, want: int) -> list[dict]:
    async def probe() -> list[dict] | None:
        events = await catalog_events(platform.infra.bootstrap, RESERVATION, run)
        decided = by_type(events, "StockReserved") + by_type(events, "StockRejected")
        return events if len(decided) >= want else None

    return await eventually(probe, timeout=180, interval=0.5, what=f"{want} reservation outcomes")


async def test_200_concurrent_orders_for_50_units_reserve_exactly_50_and_restock_exactly_10(
        platform: Platform, second_catalog: str) -> None:
    run = f"conc-{uuid.uuid4().hex[:8]}"
    pid = create_product(platform, stock=50, name=f"Beras Uji {run}")
    await publish(platform.infra.bootstrap, [order(run, i, pid) for i in range(200)], CITY)

    events = await outcomes(platform, run, 200)
    reserved, rejected = by_type(events, "StockReserved"), by_type(events, "StockRejected")
    assert len(reserved) == 50
    assert len(rejected) == 150
    assert len({e["payload"]["order_id"] for e in reserved + rejected}) == 200  # one outcome per order
    assert {r["reason"] for e in rejected for r in e["payload"]["rejected"]} <= {"sold_out", "insufficient_stock"}
    assert (await product(platform, CITY, pid))["stock"] == 0  # and never below: CHECK (stock >= 0)
    assert all(e["payload"]["expires_at"] for e in reserved)

    # Ten of the reserved orders are paid, then cancelled (refund): exactly ten units go back on the shelf.
    paid = sorted(e["payload"]["order_id"] for e in reserved)[:10]
    await publish(platform.infra.bootstrap,
                  [OrderPaid(order_id=o, payment_id=f"pay-{o}", amount=15000) for o in paid], CITY)
    cancelled = await publish(platform.infra.bootstrap,
                              [OrderCancelled(order_id=o, reason="buyer_cancelled", paid=True) for o in paid], CITY)

    async def restocked() -> list[dict] | None:
        evs = by_type(await catalog_events(platform.infra.bootstrap, RESERVATION, run), "StockReleased")
        return evs if len(evs) >= 10 else None

    released = await eventually(restocked, timeout=120, interval=0.5, what="10 restocks")
    assert len(released) == 10 and all(e["payload"]["restocked"] for e in released)
    assert len(by_type(await catalog_events(platform.infra.bootstrap, RESERVATION, run), "StockCommitted")) == 10
    assert (await product(platform, CITY, pid))["stock"] == 10

    # Replays change nothing: the same events again (inbox), new cancellations and expiries (state guards),
    # and a repeated OrderPlaced for an order already decided.
    await publish(platform.infra.bootstrap, [], CITY, envelopes=cancelled)
    again = await publish(platform.infra.bootstrap,
                          [OrderCancelled(order_id=o, reason="again", paid=True) for o in paid]
                          + [OrderPaymentExpired(order_id=o) for o in paid]
                          + [order(run, int(paid[0].rsplit("-", 1)[1]), pid)], CITY)
    await eventually(lambda: inbox_has(platform, [str(e.envelope.event_id) for e in again + cancelled]),
                     what="replays consumed")
    assert (await product(platform, CITY, pid))["stock"] == 10
    assert len(by_type(await catalog_events(platform.infra.bootstrap, RESERVATION, run), "StockReleased")) == 10


async def test_cancel_and_payment_expiry_release_a_held_reservation(platform: Platform) -> None:
    run = f"rel-{uuid.uuid4().hex[:8]}"
    pid = create_product(platform, stock=10, name=f"Gula Uji {run}")
    await publish(platform.infra.bootstrap, [order(run, 1, pid, qty=3), order(run, 2, pid, qty=4)], CITY)
    await outcomes(platform, run, 2)
    assert (await product(platform, CITY, pid))["stock"] == 3
    await publish(platform.infra.bootstrap, [OrderPaymentExpired(order_id=f"{run}-0001"),
                                             OrderCancelled(order_id=f"{run}-0002", reason="buyer_cancelled")], CITY)

    async def both_released() -> list[dict] | None:
        evs = by_type(await catalog_events(platform.infra.bootstrap, RESERVATION, run), "StockReleased")
        return evs if len(evs) == 2 else None

    released = await eventually(both_released, what="two releases")
    assert {e["payload"]["restocked"] for e in released} == {False}
    assert (await product(platform, CITY, pid))["stock"] == 10
    async with httpx.AsyncClient(base_url=platform.url("catalog")) as c:
        r = await c.get(f"/cities/{CITY}/reservations/{run}-0001", headers=platform.headers(CITY, "city_admin"))
    assert r.json()["status"] == "released"


async def test_all_or_nothing_with_the_failing_lines_named(platform: Platform) -> None:
    run = f"aon-{uuid.uuid4().hex[:8]}"
    ok = create_product(platform, stock=5, name=f"Tepung Uji {run}")
    short = create_product(platform, stock=1, name=f"Minyak Uji {run}")
    placed = order(run, 1, ok, qty=2)
    two_lines = placed.model_copy(update={"lines": [
        *placed.lines, OrderLine(product_id=short, vendor_id=vendor_id(CITY, 1), quantity=2, unit_price=15000)]})
    elsewhere = order(run, 2, ok, qty=1, market=market_id(CITY, "pasar-cimindi"))
    unknown = order(run, 3, "no-such-product", qty=1)
    await publish(platform.infra.bootstrap, [two_lines, elsewhere, unknown], CITY)
    events = await outcomes(platform, run, 3)
    rejected = {e["payload"]["order_id"]: e["payload"]["rejected"] for e in by_type(events, "StockRejected")}
    assert rejected == {
        f"{run}-0001": [{"product_id": short, "reason": "insufficient_stock"}],
        f"{run}-0002": [{"product_id": ok, "reason": "wrong_market"}],
        f"{run}-0003": [{"product_id": "no-such-product", "reason": "not_found"}],
    }
    assert (await product(platform, CITY, ok))["stock"] == 5  # the good line was not taken either
    assert (await product(platform, CITY, short))["stock"] == 1


async def test_worker_releases_reservations_past_their_deadline(platform: Platform) -> None:
    run = f"exp-{uuid.uuid4().hex[:8]}"
    pid = create_product(platform, stock=6, name=f"Kacang Uji {run}")
    await publish(platform.infra.bootstrap, [order(run, 1, pid, qty=4)], CITY)
    reserved = by_type(await outcomes(platform, run, 1), "StockReserved")
    assert reserved and (await product(platform, CITY, pid))["stock"] == 2
    # Time travel instead of waiting out the payment expiry + grace: move the deadline into the past.
    conn = await asyncpg.connect(admin_db_url(platform))
    try:
        await conn.execute("UPDATE catalog.reservations SET expires_at = now() - interval '1 second'"
                           " WHERE order_id = $1", f"{run}-0001")
    finally:
        await conn.close()

    async def released() -> list[dict] | None:
        evs = by_type(await catalog_events(platform.infra.bootstrap, RESERVATION, run), "StockReleased")
        return evs or None

    evs = await eventually(released, what="deadline release")
    assert evs[0]["payload"]["reason"] == "reservation_expired"
    assert (await product(platform, CITY, pid))["stock"] == 6
    # A payment confirmed after the release commits nothing (payments refunds such late payments).
    late = await publish(platform.infra.bootstrap, [OrderPaid(order_id=f"{run}-0001", payment_id="late",
                                                              amount=60000)], CITY)
    await eventually(lambda: inbox_has(platform, [str(late[0].envelope.event_id)]), what="late payment consumed")
    assert not by_type(await catalog_events(platform.infra.bootstrap, RESERVATION, run), "StockCommitted")
    assert (await product(platform, CITY, pid))["stock"] == 6


async def test_an_order_placed_again_gets_its_answer_again_and_nothing_is_reserved_twice(platform: Platform) -> None:
    """The orders grace worker re-sends OrderPlaced once (same payload, new event id) when no answer came: catalog
    re-sends the answer it recorded, identical, and takes no stock a second time."""
    run = f"rep-{uuid.uuid4().hex[:8]}"
    pid = create_product(platform, stock=5, name=f"Kecap Uji {run}")
    ok, short = order(run, 1, pid, qty=2), order(run, 2, pid, qty=9)
    await publish(platform.infra.bootstrap, [ok, short], CITY)
    first = await outcomes(platform, run, 2)
    assert len(by_type(first, "StockReserved")) == 1 and len(by_type(first, "StockRejected")) == 1
    assert (await product(platform, CITY, pid))["stock"] == 3

    again = await publish(platform.infra.bootstrap, [ok, short], CITY)  # build_event: new event ids
    assert {str(e.envelope.event_id) for e in again}.isdisjoint({e["event_id"] for e in first})
    events = await outcomes(platform, run, 4)
    for kind in ("StockReserved", "StockRejected"):
        sent = by_type(events, kind)
        assert len(sent) == 2 and sent[0]["payload"] == sent[1]["payload"], sent
        assert sent[1]["causation_id"] in {str(e.envelope.event_id) for e in again}
    assert (await product(platform, CITY, pid))["stock"] == 3  # taken once
    async with httpx.AsyncClient(base_url=platform.url("catalog")) as c:
        r = await c.get(f"/cities/{CITY}/reservations/{run}-0001", headers=platform.headers(CITY, "city_admin"))
    assert r.json()["status"] == "held" and [(x["product_id"], x["quantity"]) for x in r.json()["lines"]] == [(pid, 2)]
