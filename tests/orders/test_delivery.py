"""Delivery rules and the courier's steps, pure: zones and fees, slots, and the order's delivery states."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orders.delivery import DeliveryConfigError, DeliveryRequest, parse_rules, plan_delivery, slots_offered
from orders.domain import CheckoutRejected, Fulfilment, Order, OrderConflict, Status
from tests.orders.test_domain import CITY, MARKET, code, plan, saved

WIB = ZoneInfo("Asia/Jakarta")
RULES = parse_rules("cimahi", {"slots": ["08:00-10:00", "15:00-17:00"], "slot_capacity": 2, "days_ahead": 1,
                               "zones": {"Cibabat": 8_000, "Cigugur Tengah": 9_000}})
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=WIB)  # 09:00 WIB: today's 08:00 slot has begun


def ask(**over: object) -> DeliveryRequest:
    base: dict[str, object] = {"phone": "+62 812 3456 7890", "kelurahan": "cigugur tengah", "rw": "7",
                               "street": "Jl. Kolonel Masturi 12", "slot_date": date(2026, 12, 2),
                               "slot_window": "15:00-17:00"}
    return DeliveryRequest(**{**base, **over})  # type: ignore[arg-type]


def test_a_delivery_in_a_zone_and_an_open_slot_costs_the_zones_fee() -> None:
    got = plan_delivery(RULES, WIB, ask(), NOW)
    assert (got.fee, got.phone, got.kelurahan, got.slot_window) == (9_000, "081234567890", "Cigugur Tengah",
                                                                    "15:00-17:00")
    assert got.address == "Jl. Kolonel Masturi 12, RW 7, Kel. Cigugur Tengah"


@pytest.mark.parametrize(("over", "why"), [
    ({"street": " "}, "address-required"), ({"phone": "123"}, "phone-required"),
    ({"kelurahan": "Menteng"}, "outside-delivery-zone"), ({"rw": "lima"}, "invalid-rw"),
    ({"slot_window": "12:00-13:00"}, "slot-required"), ({"slot_window": "08:00-10:00"}, "slot-unavailable"),
    ({"slot_date": date(2026, 12, 4)}, "slot-unavailable"), ({"slot_date": None}, "slot-required")])
def test_a_bad_delivery_is_refused_naming_why(over: dict[str, object], why: str) -> None:
    with pytest.raises(CheckoutRejected) as refused:
        plan_delivery(RULES, WIB, ask(**over), NOW)
    assert refused.value.code == why


def test_only_slots_not_yet_begun_are_offered() -> None:
    assert slots_offered(RULES, WIB, NOW) == [(date(2026, 12, 2), "15:00-17:00"), (date(2026, 12, 3), "08:00-10:00"),
                                              (date(2026, 12, 3), "15:00-17:00")]
    assert plan_delivery(parse_rules("x", {"slots": ["08:00-10:00"], "zones": {"A": 1}}), WIB,
                         ask(kelurahan="a", slot_date=date(2026, 12, 3), slot_window="08:00-10:00"),
                         NOW.astimezone(UTC)).fee == 1
    with pytest.raises(CheckoutRejected) as none:
        plan_delivery(parse_rules("x", {}), WIB, ask(), NOW)
    assert none.value.code == "no-delivery"


@pytest.mark.parametrize("raw", [{"slots": ["8-10"]}, {"slots": ["10:00-08:00"]}, {"zones": {"A": -1}},
                                 {"slot_capacity": 0}, {"zones": ["A"]}])
def test_a_bad_city_delivery_table_stops_the_start(raw: dict[str, object]) -> None:
    with pytest.raises(DeliveryConfigError):
        parse_rules("cimahi", raw)


def ready_delivery() -> Order:
    [line] = plan([("p-beras", 1)])
    order, _ = Order.place(order_id="o-d", city=CITY, buyer_id="b-1", market_id=MARKET,
                           fulfilment=Fulfilment("delivery", address="Jl. X 1", delivery={"phone": "0812"}),
                           lines=[line], delivery_fee=8_000)
    order.status = Status.PAID
    saved(order)
    order.mark_prepared("v-1", code)
    assert order.status is Status.READY and order.label == "Siap Dikirim"
    return saved(order)


def test_the_courier_claims_leaves_and_delivers_with_the_buyers_code() -> None:
    order = ready_delivery()
    assert [type(e).__name__ for e in order.claim_delivery("k-1", "Asep", "0813")] == ["OrderCourierAssigned"]
    assert order.claim_delivery("k-1", "Asep", "0813") == []  # the same courier again
    with pytest.raises(OrderConflict):
        order.claim_delivery("k-2", "Ujang", "0814")
    with pytest.raises(OrderConflict):
        order.dispatch("k-2")
    [out] = order.dispatch("k-1")
    assert type(out).__name__ == "OrderOutForDelivery" and order.label == "Dikirim"
    wrong, _ = order.deliver("k-1", "000000")
    assert not wrong.ok and wrong.attempts_left == 4
    ok, [done] = order.deliver("k-1", "123456")
    assert ok.ok and order.status is Status.COMPLETED and type(done).__name__ == "OrderCompleted"
    assert done.total == order.total  # type: ignore[attr-defined]


def test_a_failed_delivery_goes_back_to_the_market_and_can_go_out_again() -> None:
    order = ready_delivery()
    order.claim_delivery("k-1", "Asep", "0813")
    order.dispatch("k-1")
    [failed] = order.delivery_failed("k-1", "rumah kosong")
    assert (order.status, order.courier_id, order.delivery_attempts) == (Status.READY, None, 1)
    assert type(failed).__name__ == "OrderDeliveryFailed"
    order.claim_delivery("k-2", "Ujang", "0814")
    order.dispatch("k-2")
    assert order.status is Status.OUT_FOR_DELIVERY
    with pytest.raises(OrderConflict):
        ready_delivery().dispatch("k-1")  # nobody claimed it


def test_a_pickup_order_has_no_courier() -> None:
    [line] = plan([("p-beras", 1)])
    order, _ = Order.place(order_id="o-p", city=CITY, buyer_id="b-1", market_id=MARKET,
                           fulfilment=Fulfilment("pickup_stall"), lines=[line], delivery_fee=0)
    with pytest.raises(OrderConflict):
        order.claim_delivery("k-1", "Asep", None)


def test_now_in_utc_is_the_same_moment() -> None:
    assert slots_offered(RULES, WIB, NOW.astimezone(UTC)) == slots_offered(RULES, WIB, NOW)
    assert slots_offered(RULES, WIB, NOW - timedelta(hours=2))[0] == (date(2026, 12, 2), "08:00-10:00")
