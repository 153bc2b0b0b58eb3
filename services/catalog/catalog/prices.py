"""Open price information (issue #14): commodities with normalised names, daily median/min/max, change, history.

Pure: no IO. A product belongs to a commodity by a mapping of its (folded) name and its unit — no column, so
every existing product is classified without a migration and a vendor cannot mislabel one; a product that
matches no commodity is simply not in the open price list. ``queries.city_price_points`` loads the prices.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Commodity:
    slug: str          # stable key of the open data
    name: str          # normalised name, as the national price panels write it
    unit: str          # the unit every price of the commodity is per
    patterns: tuple[str, ...]   # folded product-name prefixes that belong to it


# The staples a city's price information follows (after the PIHPS / SP2KP lists), demo products included.
COMMODITIES: tuple[Commodity, ...] = (
    Commodity("beras-medium", "beras medium", "kg", ("beras medium",)),
    Commodity("beras-premium", "beras premium", "kg", ("beras premium",)),
    Commodity("cabai-merah-keriting", "cabai merah keriting", "kg", ("cabai merah keriting", "cabe merah keriting")),
    Commodity("cabai-rawit-merah", "cabai rawit merah", "kg", ("cabai rawit merah", "cabe rawit merah")),
    Commodity("cabai-hijau-besar", "cabai hijau besar", "kg", ("cabai hijau besar",)),
    Commodity("bawang-merah", "bawang merah", "kg", ("bawang merah",)),
    Commodity("bawang-putih", "bawang putih", "kg", ("bawang putih",)),
    Commodity("minyak-goreng-curah", "minyak goreng curah", "liter", ("minyak goreng curah", "minyak goreng")),
    Commodity("gula-pasir", "gula pasir", "kg", ("gula pasir",)),
    Commodity("telur-ayam-ras", "telur ayam ras", "kg", ("telur ayam ras", "telur ayam negeri")),
    Commodity("daging-ayam-ras", "daging ayam ras", "ekor", ("ayam broiler", "ayam potong")),
    Commodity("daging-sapi-murni", "daging sapi murni", "kg", ("daging sapi murni",)),
    Commodity("tepung-terigu", "tepung terigu", "kg", ("tepung terigu",)),
    Commodity("tomat", "tomat", "kg", ("tomat",)),
    Commodity("kentang", "kentang", "kg", ("kentang",)),
    Commodity("ikan-bandeng", "ikan bandeng", "kg", ("ikan bandeng",)),
)
BY_SLUG = {c.slug: c for c in COMMODITIES}
HISTORY_DAYS = 30
CSV_HEADER = ["city", "date", "commodity", "commodity_name", "unit", "median", "min", "max", "products",
              "median_yesterday", "change", "change_percent"]


def fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def commodity_of(name: str, unit: str) -> Commodity | None:
    """The commodity a product is, from its name and unit (``Telur Ayam Negeri (30 butir)`` per papan is not
    ``telur ayam ras`` per kg)."""
    folded = fold(name)
    for c in COMMODITIES:
        if unit == c.unit and any(folded == p or folded.startswith(p + " ") for p in c.patterns):
            return c
    return None


def summary(prices: Iterable[int]) -> dict[str, int] | None:
    """Median (rounded to the rupiah), minimum, maximum and how many prices; None for no prices."""
    values = sorted(prices)
    if not values:
        return None
    return {"median": round(statistics.median(values)), "min": values[0], "max": values[-1],
            "products": len(values)}


def change(today: int | None, yesterday: int | None) -> tuple[int | None, float | None]:
    if today is None or yesterday is None:
        return None, None
    return today - yesterday, round((today - yesterday) * 100 / yesterday, 1) if yesterday else None


def price_on(history: list[tuple[datetime, int]], end: datetime) -> int | None:
    """The last price set before ``end`` (history oldest first)."""
    price = None
    for at, p in history:
        if at >= end:
            break
        price = p
    return price


@dataclass(frozen=True)
class PricedProduct:
    product_id: str
    name: str
    unit: str
    market_id: str
    history: list[tuple[datetime, int]]   # (changed_at, price), oldest first, incl. the last before the window


def city_prices(products: Iterable[PricedProduct], day_ends: list[tuple[date, datetime]]) -> list[dict[str, object]]:
    """Per commodity: for each day of ``day_ends`` (oldest first, the last is today) the summary of the
    price every product of the commodity had at the end of that day; today's and yesterday's figures and the
    change of the median."""
    grouped: dict[str, list[PricedProduct]] = {}
    for p in products:
        c = commodity_of(p.name, p.unit)
        if c is not None:
            grouped.setdefault(c.slug, []).append(p)
    out: list[dict[str, object]] = []
    for c in COMMODITIES:
        members = grouped.get(c.slug)
        if not members:
            continue
        days: list[tuple[str, dict[str, int]]] = []
        for day, end in day_ends:
            s = summary(x for x in (price_on(p.history, end) for p in members) if x is not None)
            if s is not None:
                days.append((day.isoformat(), s))
        if not days or days[-1][0] != day_ends[-1][0].isoformat():
            continue
        today = days[-1][1]
        yesterday = days[-2][1] if len(days) > 1 and days[-2][0] == day_ends[-2][0].isoformat() else None
        diff, pct = change(today["median"], yesterday["median"] if yesterday else None)
        out.append({"commodity": c.slug, "name": c.name, "unit": c.unit, "today": today,
                    "yesterday": None if yesterday is None else {k: yesterday[k] for k in ("median", "min", "max")},
                    "change": diff, "change_percent": pct,
                    "markets": len({p.market_id for p in members}),
                    "history": [{"date": d, "median": v["median"], "min": v["min"], "max": v["max"]}
                                for d, v in days]})
    return out


def csv_rows(city: str, day: date, items: list[dict[str, object]]) -> list[list[str]]:
    rows = [CSV_HEADER]
    for i in items:
        t, y = i["today"], i["yesterday"]
        assert isinstance(t, dict)
        rows.append([city, day.isoformat(), str(i["commodity"]), str(i["name"]), str(i["unit"]), str(t["median"]),
                     str(t["min"]), str(t["max"]), str(t["products"]),
                     "" if not isinstance(y, dict) else str(y["median"]),
                     "" if i["change"] is None else str(i["change"]),
                     "" if i["change_percent"] is None else str(i["change_percent"])])
    return rows
