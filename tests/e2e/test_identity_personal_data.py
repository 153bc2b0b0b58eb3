"""Personal data (UU 27/2022) on the real platform: a person downloads what identity holds about them and asks
for deletion; ``AccountDeletionRequested`` removes their phone and name from every service's schema — checked by
SQL over every text column of each schema — while money records keep amounts, dates and ids.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from deploy.provision import DATABASE_NAME, admin_on_database
from shared.ids import demo_id
from tests.codes import read_code
from tests.conftest import Platform, eventually

pytestmark = pytest.mark.integration
CITY = "cimahi"
MARKET_SLUGS = ("pasar-atas-baru", "pasar-antri-baru", "pasar-cimindi")
SCHEMAS = ("identity", "catalog", "orders", "payments", "learning", "notifications")


async def traces(conn: asyncpg.Connection, schema: str, phone: str, name: str) -> list[str]:
    """``table.column`` of every text/jsonb value in ``schema`` that holds the phone (in any format) or the name."""
    columns = await conn.fetch(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t"
        " USING (table_schema, table_name) WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'"
        " AND c.data_type IN ('text', 'character varying', 'jsonb', 'json')", schema)
    digits = phone[1:]  # 0812… / 62812… / +62 812-… all contain these digits
    found = []
    for table, column in ((r["table_name"], r["column_name"]) for r in columns):
        hit = await conn.fetchval(
            f'SELECT count(*) FROM {schema}."{table}" WHERE regexp_replace("{column}"::text, \'[^0-9]\', \'\', \'g\')'
            f' LIKE $1 OR "{column}"::text ILIKE $2', f"%{digits}%", f"%{name}%")
        if hit:
            found.append(f"{table}.{column}")
    return found


async def test_deletion_removes_phone_and_name_from_every_schema(platform: Platform) -> None:
    identity, learning, catalog, orders = (platform.url(s) for s in ("identity", "learning", "catalog", "orders"))
    phone = "0819" + str(uuid.uuid4().int)[:8]
    name = f"Warga Hapus {uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(timeout=30) as client:
        # -- a person known to every service: account, participant, vendor owner, buyer with a delivery address
        started = await client.post(f"{identity}/cities/{CITY}/sign-in/start", json={"phone": phone},
                                    headers={"X-Forwarded-For": "10.77.0.1"})
        challenge_id = started.json()["challenge_id"]
        code = await read_code(platform.infra.bootstrap, challenge_id=challenge_id)
        tokens = (await client.post(f"{identity}/cities/{CITY}/sign-in/verify",
                                    json={"challenge_id": challenge_id, "code": code, "name": name})).json()
        me = {"Authorization": f"Bearer {tokens['access_token']}"}
        registered = await client.post(f"{learning}/cities/{CITY}/participants/register", headers=me, json={
            "name": name, "phone": phone, "group": "umum", "rw": "05", "kelurahan": "Cibabat"})
        assert registered.status_code == 201, registered.text
        assert registered.json()["participant"]["subject"] == tokens["account_id"]
        market = demo_id("market", CITY, MARKET_SLUGS[0])
        vendor = await client.post(f"{catalog}/cities/{CITY}/markets/{market}/vendors",
                                   headers=platform.headers(CITY, "market_admin", market_id=market),
                                   json={"name": f"Lapak Sayur {phone[-4:]}", "owner_name": name,
                                         "phone": f"+62 {phone[1:4]}-{phone[4:8]}-{phone[8:]}", "categories": []})
        assert vendor.status_code == 201, vendor.text
        products = (await client.get(f"{catalog}/cities/{CITY}/products", params={"page_size": 100})).json()["items"]
        product = next(p for p in products if p.get("available_now") and p["market_id"] in
                       {demo_id("market", CITY, s) for s in MARKET_SLUGS} and p.get("min_per_order", 1) == 1
                       and (p.get("stock") is None or p["stock"] >= 3))

        tomorrow = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=1)).date().isoformat()

        async def ordered() -> dict[str, Any] | None:
            r = await client.post(f"{orders}/cities/{CITY}/orders", headers=me, json={
                "market_id": product["market_id"], "items": [{"product_id": product["id"], "quantity": 1}],
                "fulfilment": {"type": "delivery", "street": f"Jl. {name} No. 7", "rw": "05", "phone": phone,
                               "kelurahan": "Cibabat", "slot_date": tomorrow, "slot_window": "10:00-12:00"}})
            return dict(r.json()) if r.status_code == 201 else None

        order = await eventually(ordered, timeout=60, interval=1.0, what="a delivery order by the person")
        async def exported() -> dict[str, Any] | None:  # the participant grant follows learning's event
            r = await client.get(f"{identity}/cities/{CITY}/me/export", headers=me)
            assert r.status_code == 200
            body = dict(r.json())
            return body if {g["role"] for g in body["grants"]} >= {"buyer", "participant"} else None

        export = await eventually(exported, timeout=30, what="an export with the automatic participant grant")
        assert export["account"]["phone"] == phone and export["account"]["name"] == name
        assert export["sign_ins"] and export["sessions"]

        db = await asyncpg.connect(admin_on_database(platform.infra.admin_url, DATABASE_NAME))
        try:
            async def everywhere() -> dict[str, list[str]]:
                return {s: await traces(db, s, phone, name) for s in SCHEMAS}

            before = await everywhere()
            for schema in ("identity", "catalog", "orders", "learning"):  # the check can see them
                assert before[schema], (schema, before)

            # -- the person asks for deletion ----------------------------------------------------------------
            deleted = await client.post(f"{identity}/cities/{CITY}/me/deletion", headers=me)
            assert deleted.status_code == 202, deleted.text

            left: dict[str, list[str]] = {}

            async def gone() -> bool:
                nonlocal left
                left = {s: found for s, found in (await everywhere()).items() if found}
                return not left

            try:
                await eventually(gone, timeout=60, interval=0.5, what="phone and name gone from every schema")
            except AssertionError:
                raise AssertionError(f"still there: {left}") from None
            # money records keep amounts, dates and ids
            kept = await db.fetchrow("SELECT total, created_at, buyer_id, delivery_address FROM orders.orders"
                                     " WHERE order_id = $1", order["order_id"])
            assert kept["total"] == order["total"] and kept["buyer_id"] == tokens["account_id"]
            assert kept["delivery_address"] == "(dihapus)"
        finally:
            await db.close()
        # the account is gone: its session ends, and a second request finds nothing
        refreshed = await client.post(f"{identity}/cities/{CITY}/tokens/refresh",
                                      json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401
        assert (await client.post(f"{identity}/cities/{CITY}/me/deletion", headers=me)).status_code == 404
