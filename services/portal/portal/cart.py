"""The cart lives in a signed cookie (HS256 with the portal's secret): no server state, tamper-evident.

Orders are per market, so the cart holds one market's items; adding from another market asks first and, when
the buyer agrees, starts a new cart. Names and prices in the cart are only for display: orders prices the
checkout from catalog's events. A weighed line's quantity is grams (``shared.measure``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt

from shared.measure import line_amount, quantity_label

CART_COOKIE = "pk_cart"
MAX_LINES = 30
_AUDIENCE = "pasarkota-portal-cart"


@dataclass
class CartLine:
    product_id: str
    quantity: int
    name: str = ""
    unit: str = ""
    price: int = 0
    vendor_name: str = ""
    sold_by: str = "piece"
    step_grams: int = 0

    @property
    def amount(self) -> int:
        return line_amount(self.quantity, self.price, self.sold_by)

    @property
    def label(self) -> str:
        return quantity_label(self.quantity, self.unit, self.sold_by)


@dataclass
class Cart:
    city: str
    market_id: str | None = None
    market_name: str = ""
    lines: list[CartLine] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def count(self) -> int:
        """Items in the cart (a weighed line is one item, whatever its grams)."""
        return sum(1 if line.sold_by == "weight" else line.quantity for line in self.lines)

    def other_market(self, product: dict[str, Any]) -> bool:
        """The product is from another market than the cart's: adding it would replace the cart."""
        market_id = str(product.get("market_id") or "")
        return bool(self.lines and self.market_id and market_id and market_id != self.market_id)

    def add(self, product: dict[str, Any], quantity: int) -> bool:
        """Add; returns True when the cart was emptied first because the product is from another market (the
        caller asks the buyer before, see :meth:`other_market`)."""
        reset = False
        market_id = str(product.get("market_id") or "")
        if self.other_market(product):
            self.lines.clear()
            reset = True
        self.market_id = market_id or self.market_id
        self.market_name = str(product.get("market_name") or self.market_name)
        pid = str(product.get("id") or product.get("product_id"))
        for line in self.lines:
            if line.product_id == pid:
                line.quantity += quantity
                break
        else:
            if len(self.lines) >= MAX_LINES:
                return reset
            self.lines.append(CartLine(pid, quantity, str(product.get("name", "")), str(product.get("unit", "")),
                                       int(product.get("price") or 0), str(product.get("vendor_name") or ""),
                                       str(product.get("sold_by") or "piece"), int(product.get("step_grams") or 0)))
        return reset

    def set_quantity(self, product_id: str, quantity: int) -> None:
        self.lines = [line for line in self.lines if line.product_id != product_id or quantity > 0]
        for line in self.lines:
            if line.product_id == product_id:
                line.quantity = quantity
        if not self.lines:
            self.market_id, self.market_name = None, ""

    def dump(self, secret: str) -> str:
        claims = {"aud": _AUDIENCE, "city": self.city, "m": self.market_id, "mn": self.market_name,
                  "l": [[li.product_id, li.quantity, li.name, li.unit, li.price, li.vendor_name, li.sold_by,
                         li.step_grams] for li in self.lines]}
        return jwt.encode(claims, secret, algorithm="HS256")


def load_cart(raw: str | None, secret: str, city: str) -> Cart:
    """The cart of ``city`` from the cookie; an empty cart for a missing, forged or other-city cookie."""
    if not raw:
        return Cart(city)
    try:
        claims = jwt.decode(raw, secret, algorithms=["HS256"], audience=_AUDIENCE)
    except jwt.PyJWTError:
        return Cart(city)
    if claims.get("city") != city:
        return Cart(city)
    lines = []
    for item in claims.get("l") or []:
        try:
            pid, qty, name, unit, price, vendor, *basis = item
            sold_by, step = [*basis, "piece", 0][:2]
            lines.append(CartLine(str(pid), int(qty), str(name), str(unit), int(price), str(vendor),
                                  "weight" if sold_by == "weight" else "piece", int(step or 0)))
        except (TypeError, ValueError):
            continue
    return Cart(city, claims.get("m"), str(claims.get("mn") or ""), lines)
