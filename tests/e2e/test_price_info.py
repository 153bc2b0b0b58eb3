"""Open price information on the real stack: every demo commodity of Cimahi with median/min/max and change,
the open-data CSV with its documented header, the public page under 30 KB, the market page's paging and
commodity filter, bad input."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest

from catalog import prices
from catalog.seed import PRODUCTS, VENDORS
from tests.conftest import Platform

pytestmark = pytest.mark.integration
CITY = "cimahi"


def demo_commodities(city: str) -> set[str]:
    """What the demo data of ``city`` holds of the commodity list (from the seed's own tables)."""
    out = set()
    for _, _, categories in VENDORS[city]:
        for category in categories:
            for name, unit, _ in PRODUCTS[category]:
                c = prices.commodity_of(name, unit)
                if c is not None:
                    out.add(c.slug)
    return out


async def test_open_data_json_csv_and_public_page(platform: Platform) -> None:
    catalog, portal = platform.url("catalog"), platform.url("portal")
    expected = demo_commodities(CITY)
    assert {"cabai-merah-keriting", "bawang-merah", "beras-medium", "minyak-goreng-curah"} <= expected
    async with httpx.AsyncClient(timeout=60) as client:
        r = await client.get(f"{catalog}/cities/{CITY}/open-data/prices.json")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        items = {i["commodity"]: i for i in body["items"]}
        assert set(items) == expected
        changed = 0
        for slug, i in items.items():
            t = i["today"]
            assert t["min"] <= t["median"] <= t["max"] and t["products"] >= 1, slug
            assert i["yesterday"] is not None, slug
            assert i["change"] == t["median"] - i["yesterday"]["median"]
            assert len(i["history"]) >= 25, (slug, len(i["history"]))   # the demo seeds 30 days
            changed += i["change"] != 0
        print({s: (i["today"]["median"], i["change"]) for s, i in sorted(items.items())})

        r = await client.get(f"{catalog}/cities/{CITY}/open-data/prices.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert list(rows[0]) == prices.CSV_HEADER
        assert {row["commodity"] for row in rows} == expected
        for row in rows:
            assert int(row["min"]) <= int(row["median"]) <= int(row["max"])
            assert row["median"] == str(items[row["commodity"]]["today"]["median"])

        r = await client.get(f"{portal}/kota/{CITY}/harga")
        assert r.status_code == 200
        print("price page bytes:", len(r.content))
        assert len(r.content) < 30 * 1024
        for i in items.values():
            assert i["name"].capitalize() in r.text
        r = await client.get(f"{portal}/kota/{CITY}/harga.csv")
        assert r.status_code == 200 and r.text.splitlines()[0] == ",".join(prices.CSV_HEADER)

        for bad in ("kemarin", "1999-01-01", "2026-13-40", "x" * 3000):
            r = await client.get(f"{catalog}/cities/{CITY}/open-data/prices.json", params={"date": bad})
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.get(f"{catalog}/cities/atlantis/open-data/prices.json")
        assert r.status_code == 404
        r = await client.get(f"{portal}/kota/{CITY}/harga.xml")
        assert r.status_code == 404


async def test_market_page_pages_the_whole_price_list_and_filters_by_commodity(platform: Platform) -> None:
    catalog, portal = platform.url("catalog"), platform.url("portal")
    async with httpx.AsyncClient(timeout=60) as client:
        markets = (await client.get(f"{catalog}/cities/{CITY}/markets")).json()
        market_list = markets["items"] if isinstance(markets, dict) else markets
        sizes = []
        for m in market_list:
            listed = (await client.get(f"{catalog}/cities/{CITY}/markets/{m['id']}/prices")).json()["items"]
            sizes.append((len(listed), m["id"], listed))
        total, market_id, listed = max(sizes)
        assert total > 40, "a demo market with more than one page of prices"
        seen: list[str] = []
        page = 1
        while True:
            html = (await client.get(f"{portal}/kota/{CITY}/pasar/{market_id}", params={"hal": page})).text
            seen += re.findall(r'/kota/cimahi/produk/([^"]+)">', html.split('id="harga"')[1].split("<h2>Produk")[0])
            if f"?hal={page + 1}" not in html:
                break
            page += 1
        assert page == -(-total // 40) and len(seen) == total and len(set(seen)) == total
        commodity = next(i["commodity"] for i in listed if i.get("commodity"))
        html = (await client.get(f"{portal}/kota/{CITY}/pasar/{market_id}", params={"komoditas": commodity})).text
        rows = re.findall(r'/kota/cimahi/produk/([^"]+)">', html.split('id="harga"')[1].split("<h2>Produk")[0])
        assert sorted(rows) == sorted(i["product_id"] for i in listed if i.get("commodity") == commodity)
        # an unknown commodity or a page past the end shows the list, never an error
        r = await client.get(f"{portal}/kota/{CITY}/pasar/{market_id}", params={"komoditas": "emas", "hal": 999})
        assert r.status_code == 200
        r = await client.get(f"{portal}/kota/{CITY}/pasar/{market_id}", params={"hal": "dua"})
        assert r.status_code in (400, 422)
