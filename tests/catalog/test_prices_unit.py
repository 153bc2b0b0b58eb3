"""The pure parts of the open price information: commodity mapping, median/min/max, change, daily history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from catalog import prices

D0 = datetime(2026, 9, 1, tzinfo=UTC)


def test_commodity_mapping_by_name_and_unit() -> None:
    assert prices.commodity_of("Cabai Merah Keriting", "kg").slug == "cabai-merah-keriting"  # type: ignore[union-attr]
    assert prices.commodity_of("Minyak Goreng", "liter").name == "minyak goreng curah"  # type: ignore[union-attr]
    assert prices.commodity_of("Telur Ayam Negeri", "kg").slug == "telur-ayam-ras"  # type: ignore[union-attr]
    assert prices.commodity_of("Telur Ayam Negeri (30 butir)", "papan") is None
    assert prices.commodity_of("Bawang Merahan", "kg") is None and prices.commodity_of("Klepon", "bungkus") is None


def test_summary_and_change() -> None:
    assert prices.summary([30, 10, 20, 45]) == {"median": 25, "min": 10, "max": 45, "products": 4}
    assert prices.summary([]) is None
    assert prices.change(11_000, 10_000) == (1000, 10.0) and prices.change(5, None) == (None, None)


def test_city_prices_per_day_with_yesterday_and_history() -> None:
    def product(pid: str, market: str, *points: tuple[int, int]) -> prices.PricedProduct:
        return prices.PricedProduct(pid, "Bawang Merah", "kg", market,
                                    [(D0 + timedelta(days=d, hours=1), p) for d, p in points])

    day_ends = [(date(2026, 9, 1) + timedelta(days=n), D0 + timedelta(days=n + 1)) for n in range(3)]
    items = prices.city_prices([product("a", "m1", (0, 30_000), (2, 36_000)), product("b", "m2", (1, 40_000)),
                                prices.PricedProduct("c", "Klepon", "bungkus", "m1", [(D0, 8000)])], day_ends)
    assert len(items) == 1
    item = items[0]
    assert item["commodity"] == "bawang-merah" and item["markets"] == 2
    assert item["today"] == {"median": 38_000, "min": 36_000, "max": 40_000, "products": 2}
    assert item["yesterday"] == {"median": 35_000, "min": 30_000, "max": 40_000}
    assert item["change"] == 3000 and item["change_percent"] == 8.6
    assert [h["median"] for h in item["history"]] == [30_000, 35_000, 38_000]  # type: ignore[attr-defined]
    rows = prices.csv_rows("cimahi", date(2026, 9, 3), items)
    assert rows[0] == prices.CSV_HEADER and rows[1][2] == "bawang-merah" and rows[1][5] == "38000"
