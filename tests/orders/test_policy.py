"""Who may do what with an order (orders/policy.py): plain functions, no IO."""

from __future__ import annotations

import pytest

from orders import policy
from orders.domain import Fulfilment, Line, Order
from shared.auth import Principal
from shared.errors import Forbidden

CITY, MARKET = "cimahi", "m-1"


def order(fulfilment: str = "pickup_stall") -> Order:
    lines = [Line("L1", "p-1", "v-1", "Beras", "kg", 1, 15_000), Line("L2", "p-2", "v-2", "Telur", "kg", 1, 28_000)]
    o, _ = Order.place(order_id="o-1", city=CITY, buyer_id="b-1", market_id=MARKET,
                       fulfilment=Fulfilment(fulfilment, rw_hub_id="h-1" if fulfilment == "pickup_rw_hub" else None),
                       lines=lines, delivery_fee=0)
    return o


def who(*roles: str, sub: str = "someone", vendor_id: str | None = None, market_id: str | None = None) -> Principal:
    return Principal(sub=sub, city=CITY, roles=frozenset(roles), vendor_id=vendor_id, market_id=market_id)


BUYER = who("buyer", sub="b-1")
OTHER_BUYER = who("buyer", sub="b-2")
CITY_ADMIN = who("city_admin")
OPERATOR = who("operator")
MARKET_ADMIN = who("market_admin", market_id=MARKET)
OTHER_MARKET_ADMIN = who("market_admin", market_id="m-2")
MARKETLESS_ADMIN = who("market_admin")
VENDOR = who("vendor", vendor_id="v-1")
STRANGER_VENDOR = who("vendor", vendor_id="v-9")


@pytest.mark.parametrize(("principal", "allowed"), [
    (BUYER, True), (OTHER_BUYER, False), (CITY_ADMIN, True), (OPERATOR, True), (MARKET_ADMIN, True),
    (OTHER_MARKET_ADMIN, False), (MARKETLESS_ADMIN, False), (VENDOR, False),
])
def test_who_may_see_an_order(principal: Principal, allowed: bool) -> None:
    assert policy.may_see(principal, order()) is allowed


def test_only_the_buyer_sees_the_pickup_code_and_may_cancel() -> None:
    o = order()
    assert policy.sees_pickup_code(BUYER, o) and policy.may_cancel(BUYER, o)
    for principal in (OTHER_BUYER, CITY_ADMIN, MARKET_ADMIN, VENDOR):
        assert not policy.sees_pickup_code(principal, o)
    assert not policy.may_cancel(OTHER_BUYER, o)


def test_a_vendor_token_needs_a_vendor_id() -> None:
    assert policy.vendor_of(VENDOR) == "v-1"
    with pytest.raises(Forbidden) as exc:
        policy.vendor_of(who("vendor"))
    assert exc.value.code == "no-vendor"
    assert policy.is_vendor_of("v-1", order()) and policy.is_vendor_of("v-2", order())
    assert not policy.is_vendor_of("v-9", order())


@pytest.mark.parametrize(("principal", "fulfilment", "allowed"), [
    (VENDOR, "pickup_stall", True),
    (VENDOR, "delivery", True),
    (VENDOR, "pickup_rw_hub", False),  # confirmed at the hub, not at the stall
    (STRANGER_VENDOR, "pickup_stall", False),
    (CITY_ADMIN, "pickup_rw_hub", True),
    (OPERATOR, "pickup_stall", True),
    (MARKET_ADMIN, "pickup_rw_hub", True),
    (OTHER_MARKET_ADMIN, "pickup_rw_hub", False),
    (BUYER, "pickup_stall", False),  # the buyer never confirms their own pickup
])
def test_who_may_confirm_a_pickup(principal: Principal, fulfilment: str, allowed: bool) -> None:
    assert policy.may_confirm_pickup(principal, order(fulfilment)) is allowed


def test_staff_lists_are_scoped_to_the_city_or_the_market() -> None:
    assert policy.staff_market_scope(CITY_ADMIN) is None
    assert policy.staff_market_scope(OPERATOR) is None
    assert policy.staff_market_scope(MARKET_ADMIN) == MARKET
    with pytest.raises(Forbidden) as exc:
        policy.staff_market_scope(MARKETLESS_ADMIN)
    assert exc.value.code == "no-market"


def test_only_city_staff_and_the_orders_own_market_admin_unlock_a_pickup() -> None:
    o = order()
    assert policy.may_unlock_pickup(CITY_ADMIN, o) and policy.may_unlock_pickup(OPERATOR, o)
    assert policy.may_unlock_pickup(who("market_admin", market_id=MARKET), o)
    assert not policy.may_unlock_pickup(who("market_admin", market_id="m-2"), o)
    assert not policy.may_unlock_pickup(who("market_admin"), o)
    assert not policy.may_unlock_pickup(BUYER, o)  # the buyer cannot give themselves attempts back
    assert not policy.may_unlock_pickup(who("vendor", vendor_id="v-1"), o)
