"""The demo data is plausible and its ids match what the other services derive."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog import domain, seed
from shared.ids import demo_id


def test_demo_products_per_city_and_plausible_prices() -> None:
    now = datetime.now(UTC)
    for city in ("cimahi", "tegal"):
        products = []
        for i, (shop, _owner, cats) in enumerate(seed.VENDORS[city], start=1):
            products += seed.demo_products(city, i, f"v{i}", "m", shop, cats, now)
        assert len(seed.VENDORS[city]) == 16
        assert 250 <= len(products) <= 400
        assert len({p.row["id"] for p in products}) == len(products)
        assert {p.row["category"] for p in products} >= {"sayur", "bumbu", "daging", "ikan", "sembako", "kue",
                                                         "kerajinan"}
        for p in products:
            assert domain.MIN_PRICE <= p.row["price"] <= domain.MAX_PRICE
            assert p.row["unit"] in domain.UNITS
            assert p.row["price"] == p.history[-1][0]
            assert all(at <= now for _, at in p.history)
        assert any(p.row["name"] == "Cabai Merah Keriting" for p in products)
        assert any(len(p.history) > 1 for p in products), "some prices changed, so the price list shows changes"


def test_demo_ids_follow_the_agreement() -> None:
    assert seed.rw_hub_id("cimahi", "Cigugur Tengah", 3) == demo_id("rwhub", "cimahi", "cigugur-tengah-rw03")
    slugs = {m["slug"] for m in seed.MARKETS["cimahi"]}
    assert slugs == {"pasar-atas-baru", "pasar-antri-baru", "pasar-cimindi"}
    assert {m["slug"] for m in seed.MARKETS["tegal"]} == {"pasar-pagi", "pasar-kejambon", "pasar-banjaran"}
