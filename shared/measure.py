"""Goods sold by weight: quantities in grams, prices per kilogram, one rounding rule for every service.

Traditional markets sell chili by 250 g, not by "1 unit". A product ``sold_by="weight"`` has its price per
kg, its stock, order limits and line quantities in **grams** (integers: exact), and a ``step_grams`` every
quantity is a multiple of (e.g. 250). A line's amount is its grams × the price per kg ÷ 1000, rounded
**half up to the whole rupiah** (QRIS carries whole rupiah): 250 g at Rp 60.000/kg is Rp 15.000, 300 g at
Rp 45.500/kg is Rp 13.650, 125 g at Rp 12.500/kg is Rp 1.563 (1.562,5 rounded up). Products sold by the
piece (``sold_by="piece"``, the default) are unchanged: quantity × price.
"""

from __future__ import annotations

from typing import Literal

SoldBy = Literal["piece", "weight"]
SOLD_BY: tuple[str, ...] = ("piece", "weight")
WEIGHT_PRICE_UNIT = "kg"   # a weighed product's price is per kilogram
MAX_STEP_GRAMS = 10_000


def line_amount(quantity: int, unit_price: int, sold_by: str = "piece") -> int:
    """The rupiah of ``quantity`` (pieces, or grams when sold by weight) at ``unit_price`` (per piece / per kg)."""
    if sold_by == "weight":
        return (quantity * unit_price + 500) // 1000
    return quantity * unit_price


def grams_label(grams: int) -> str:
    """``250 g``, ``1 kg``, ``1,5 kg``, ``2,25 kg`` (Indonesian decimal comma)."""
    if grams < 1000:
        return f"{grams} g"
    kg = f"{grams / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{kg.replace('.', ',')} kg"


def quantity_label(quantity: int, unit: str, sold_by: str = "piece") -> str:
    """What a person reads: ``250 g`` for a weighed line, ``2 ikat`` otherwise."""
    return grams_label(quantity) if sold_by == "weight" else f"{quantity} {unit}".strip()


def weight_steps(step_grams: int, minimum: int, maximum: int, count: int = 12) -> list[int]:
    """The quantities a buyer can pick: multiples of the step from the minimum, at most ``count`` of them."""
    first = max(step_grams, -(-minimum // step_grams) * step_grams)
    return list(range(first, maximum + 1, step_grams))[:count]
