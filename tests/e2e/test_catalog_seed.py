"""The demo seeder is idempotent: a restarted catalog creates nothing twice and emits nothing again."""

from __future__ import annotations

import httpx
import pytest

from shared.events.catalog import MARKET, VENDOR
from tests.catalog.support import catalog_events, market_id, vendor_id
from tests.conftest import Platform, eventually

pytestmark = pytest.mark.integration


async def test_restart_seeds_nothing_twice(platform: Platform) -> None:
    market, vendor = market_id("tegal", "pasar-kejambon"), vendor_id("tegal", 16)

    async def snapshot() -> tuple[int, int, int, int]:
        async with httpx.AsyncClient(base_url=platform.url("catalog")) as c:
            products = (await c.get("/cities/tegal/products", params={"vendor": vendor})).json()["total"]
            hubs = len((await c.get("/cities/tegal/rw-hubs")).json()["items"])
        return (products, hubs, len(await catalog_events(platform.infra.bootstrap, MARKET, market)),
                len(await catalog_events(platform.infra.bootstrap, VENDOR, vendor)))

    async def seeded_and_relayed() -> tuple[int, int, int, int] | None:
        snap = await snapshot()
        return snap if snap[0] > 0 and snap[1] >= 6 and snap[2] >= 1 and snap[3] >= 1 else None

    before = await eventually(seeded_and_relayed, what="demo data seeded and relayed")
    platform.kill("catalog")
    platform.restart("catalog")
    assert await snapshot() == before
