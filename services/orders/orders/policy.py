"""Who may do what with an order: plain functions of the principal and the order, no IO (unit-tested).

A ``False`` about one order is answered as 404 ``order-not-found`` by the use case (never reveal that an
order exists to someone who may not see it); a principal that cannot act at all gets 403 here.
"""

from __future__ import annotations

from orders.domain import Order
from shared.auth import Principal
from shared.errors import Forbidden

STAFF = ("city_admin", "market_admin", "operator")
CITY_STAFF = ("city_admin", "operator")


def may_see(who: Principal, order: Order) -> bool:
    """The order's buyer, city staff, and the admin of the order's market."""
    if who.has("buyer") and order.buyer_id == who.sub:
        return True
    if who.has(*CITY_STAFF):
        return True
    return who.has("market_admin") and who.market_id is not None and who.market_id == order.market_id


def sees_pickup_code(who: Principal, order: Order) -> bool:
    """Only the buyer ever sees the code; whoever confirms the pickup must hear it from them."""
    return who.has("buyer") and order.buyer_id == who.sub


def may_cancel(who: Principal, order: Order) -> bool:
    return order.buyer_id == who.sub


def vendor_of(who: Principal) -> str:
    """The vendor a vendor's token acts for (403 ``no-vendor`` if it names none)."""
    if not who.vendor_id:
        raise Forbidden("no-vendor", "Token pedagang tanpa vendor_id. / A vendor token needs a vendor_id.")
    return who.vendor_id


def is_vendor_of(vendor_id: str, order: Order) -> bool:
    return vendor_id in order.vendor_ids


def may_confirm_pickup(who: Principal, order: Order) -> bool:
    """City staff; the admin of the order's market; at a stall (or for delivery) a vendor of the order.
    Vendors never confirm an RW-hub pickup: that happens at the hub."""
    if who.has(*CITY_STAFF):
        return True
    if who.has("market_admin") and who.market_id is not None and who.market_id == order.market_id:
        return True
    return who.has("vendor") and who.vendor_id in order.vendor_ids and order.fulfilment != "pickup_rw_hub"


def staff_market_scope(who: Principal) -> str | None:
    """Which market's orders a staff list shows: None for city staff (the whole city), the token's market for a
    market admin (403 ``no-market`` if it names none)."""
    if who.has(*CITY_STAFF):
        return None
    if not who.market_id:
        raise Forbidden("no-market", "Token pengelola pasar tanpa market_id. / A market admin token needs a "
                                     "market_id.")
    return who.market_id


def is_courier_of(who: Principal, order: Order) -> bool:
    """A courier (kurir pasar) of the order's market, for a delivery order."""
    return (who.has("courier") and who.market_id is not None and who.market_id == order.market_id
            and order.fulfilment == "delivery")


def courier_market(who: Principal) -> str:
    """The market a courier works for (403 ``no-market`` if the token names none)."""
    if not who.has("courier") or not who.market_id:
        raise Forbidden("no-market", "Token kurir tanpa market_id. / A courier token needs a market_id.")
    return who.market_id


def may_unlock_pickup(who: Principal, order: Order) -> bool:
    """City staff, or the admin of the order's market (the buyer is checked in person there)."""
    if who.has(*CITY_STAFF):
        return True
    return who.has("market_admin") and who.market_id is not None and who.market_id == order.market_id
