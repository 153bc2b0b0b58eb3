"""Issue #17: a projection rebuilt from offset 0 of catalog's compacted topics equals the live one.

Real stack: a market admin onboards and activates a vendor, who lists products, changes a price, sells one out
and delists another; a city admin registers an RW hub. Orders' live projection (fed by the change topics) is
read, then damaged on purpose (rows deleted, a price and a name changed), then rebuilt through
``pasarkota projections rebuild orders`` (``POST /ops/projections/catalog/rebuild``) — and it is what it was.
Learning's RW hubs the same way. The state topics are compacted on the broker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.catalog import MARKET, PRODUCT_STATE, VENDOR_STATE
from tests.catalog.support import admin_db_url, market_id
from tests.conftest import Platform, eventually

CITY = "cimahi"
MARKET_ID = market_id(CITY, "pasar-atas-baru")

# What checkout reads of the projection (orders.store.products / rw hubs / vendors): the answer it gives
PRODUCTS = """SELECT product_id, city, vendor_id, market_id, name, category, unit, price, min_per_order,
                     max_per_order, sold_by, step_grams, stock,
                     (active AND available AND NOT delisted AND (stock IS NULL OR stock > 0)) AS buyable
                FROM orders.product_view WHERE product_id = ANY($1::text[]) ORDER BY product_id"""
VENDORS = "SELECT vendor_id, city, market_id, name, suspended FROM orders.vendor_view WHERE vendor_id = ANY($1::text[])"
# every market and hub catalog has (other tests also publish made-up catalog events straight to Kafka: those
# have no state on the compacted topics, and a rebuild rightly forgets them)
MARKETS = ("SELECT market_id, city, name, kelurahan, active FROM orders.market_view"
           " WHERE market_id IN (SELECT id FROM catalog.markets) ORDER BY market_id")
HUBS = ("SELECT rw_hub_id, city, name, kelurahan, rw, address, active FROM orders.rw_hub_view"
        " WHERE rw_hub_id IN (SELECT id FROM catalog.rw_hubs) ORDER BY rw_hub_id")
LEARNING_HUBS = ("SELECT rw_hub_id, city, name, kelurahan, rw, address, active FROM learning.rw_hubs"
                 " WHERE rw_hub_id IN (SELECT id FROM catalog.rw_hubs) ORDER BY rw_hub_id")


async def _snapshot(conn: asyncpg.Connection, products: list[str], vendors: list[str]) -> dict[str, list[Any]]:
    return {"products": [tuple(r) for r in await conn.fetch(PRODUCTS, products)],
            "vendors": [tuple(r) for r in await conn.fetch(VENDORS, vendors)],
            "markets": [tuple(r) for r in await conn.fetch(MARKETS)],
            "hubs": [tuple(r) for r in await conn.fetch(HUBS)],
            "learning_hubs": [tuple(r) for r in await conn.fetch(LEARNING_HUBS)]}


def _rebuild(platform: Platform, service: str) -> str:
    """The operator's command, against this test's stack (its service URLs, a token from its identity)."""
    env = {**os.environ, **{f"PASARKOTA_{s.upper()}_URL": platform.url(s) for s in platform.ports}}
    done = subprocess.run([sys.executable, "-m", "deploy.cli", "projections", "rebuild", service],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_orders_and_learning_projections_rebuilt_from_offset_0_equal_the_live_ones(platform: Platform) -> None:
    catalog = platform.url("catalog")
    admin = platform.headers(CITY, "market_admin", market_id=MARKET_ID)
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(f"{catalog}/cities/{CITY}/markets/{MARKET_ID}/vendors", headers=admin,
                              json={"name": f"Warung Rebuild {tag}", "owner_name": "Bu Uji", "categories": ["sayur"]})
        assert r.status_code == 201, r.text
        vendor = r.json()["id"]
        for action in ("verify", "activate"):
            r = await client.post(f"{catalog}/cities/{CITY}/vendors/{vendor}/{action}", headers=admin, json={})
            assert r.status_code == 200, r.text
        me = platform.headers(CITY, "vendor", vendor_id=vendor)
        products = []
        for name, stock in (("Bayam", 10), ("Kangkung", 5), ("Wortel", None)):
            r = await client.post(f"{catalog}/cities/{CITY}/products", headers=me,
                                  json={"name": f"{name} {tag}", "category": "sayur", "unit": "ikat",
                                        "price": 4_000, "stock": stock})
            assert r.status_code == 201, r.text
            products.append(r.json()["id"])
        bayam, kangkung, wortel = products
        assert (await client.put(f"{catalog}/cities/{CITY}/products/{bayam}/price", headers=me,
                                 json={"price": 4_500})).status_code == 200
        assert (await client.put(f"{catalog}/cities/{CITY}/products/{kangkung}/stock", headers=me,
                                 json={"stock": 0})).status_code == 200
        assert (await client.delete(f"{catalog}/cities/{CITY}/products/{wortel}", headers=me)).status_code == 204
        r = await client.post(f"{catalog}/cities/{CITY}/rw-hubs", headers=platform.headers(CITY, "city_admin"),
                              json={"kelurahan": f"Kel. Rebuild {tag}", "rw": "7", "address": "Jl. Uji 7"})
        assert r.status_code == 201, r.text
        hub = r.json().get("rw_hub_id") or r.json()["id"]

    conn = await asyncpg.connect(admin_db_url(platform))
    try:
        async def caught_up() -> dict[str, list[Any]] | None:   # the live consumers have applied the last changes
            snap = await _snapshot(conn, products, [vendor])
            by_id = {p[0]: p for p in snap["products"]}
            ready = (len(by_id) == 3 and by_id[bayam][7] == 4_500 and by_id[kangkung][12] == 0
                     and not by_id[wortel][13] and snap["vendors"]
                     and any(h[0] == hub for h in snap["hubs"]) and any(h[0] == hub for h in snap["learning_hubs"]))
            return snap if ready else None

        live = await eventually(caught_up, timeout=60, interval=0.3, what="live projections caught up")
        assert [p[13] for p in live["products"]] == [
            {bayam: True, kangkung: False, wortel: False}[p[0]] for p in live["products"]]

        # the state topics carry it all, and they are compacted on the broker
        admin_client = AIOKafkaAdminClient(bootstrap_servers=platform.infra.bootstrap)
        await admin_client.start()
        try:
            described = await admin_client.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t) for t in (PRODUCT_STATE, VENDOR_STATE, MARKET)])
            policies = {res[3]: dict((e[0], e[1]) for e in res[4])["cleanup.policy"]
                        for response in described for res in response.resources}
        finally:
            await admin_client.close()
        assert policies == {PRODUCT_STATE: "compact", VENDOR_STATE: "compact", MARKET: "compact"}

        # damage both projections: rows gone, a price and a name wrong
        await conn.execute("DELETE FROM orders.product_view WHERE product_id = $1", kangkung)
        await conn.execute("UPDATE orders.product_view SET price = 1 WHERE product_id = $1", bayam)
        await conn.execute("DELETE FROM orders.vendor_view WHERE vendor_id = $1", vendor)
        await conn.execute("UPDATE orders.market_view SET name = 'rusak' WHERE market_id = $1", MARKET_ID)
        await conn.execute("DELETE FROM orders.rw_hub_view WHERE rw_hub_id = $1", hub)
        await conn.execute("DELETE FROM learning.rw_hubs WHERE rw_hub_id = $1", hub)
        assert await _snapshot(conn, products, [vendor]) != live

        out = _rebuild(platform, "orders")
        assert "orders.catalog:" in out and "product_view" in out, out
        out = _rebuild(platform, "learning")
        assert "learning.catalog:" in out and "rw_hubs" in out, out
        assert await _snapshot(conn, products, [vendor]) == live
    finally:
        await conn.close()


async def test_only_an_operator_rebuilds_and_an_unknown_projection_is_a_404(platform: Platform) -> None:
    orders = platform.url("orders")
    async with httpx.AsyncClient(timeout=30) as client:
        for role in ("city_admin", "buyer"):
            r = await client.post(f"{orders}/ops/projections/catalog/rebuild", headers=platform.headers(CITY, role))
            assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        assert (await client.post(f"{orders}/ops/projections/catalog/rebuild")).status_code == 401
        r = await client.post(f"{orders}/ops/projections/nope/rebuild", headers=platform.headers(CITY, "operator"))
        assert r.status_code == 404 and r.json()["type"].endswith("projection-not-found")
        listed = (await client.get(f"{orders}/ops/projections", headers=platform.headers(CITY, "operator"))).json()
        assert listed["projections"] == [{"name": "catalog", "topics": [PRODUCT_STATE, MARKET, VENDOR_STATE],
                                          "tables": ["product_view", "market_view", "rw_hub_view", "vendor_view"]}]
