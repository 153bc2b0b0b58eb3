"""The Order aggregate: every transition, its guards, duplicates and out-of-order events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orders.domain import (
    MAX_PICKUP_ATTEMPTS,
    CartItem,
    CheckoutRejected,
    Fulfilment,
    HubView,
    LineStatus,
    Order,
    OrderConflict,
    PickupResult,
    ProductView,
    Status,
    plan_lines,
    status_label,
)
from shared.errors import Kind
from shared.events.orders import (
    OrderCancelled,
    OrderCompleted,
    OrderLineRejected,
    OrderPaid,
    OrderPaymentExpired,
    OrderPaymentRequested,
    OrderPlaced,
    OrderReady,
    RefundRequested,
)

CITY, MARKET = "cimahi", "m-1"
EXPIRES = datetime.now(UTC) + timedelta(minutes=15)
PRODUCTS = {
    "p-beras": ProductView("p-beras", CITY, "v-1", MARKET, "Beras", "kg", 15_000, 1, 10),
    "p-telur": ProductView("p-telur", CITY, "v-2", MARKET, "Telur", "kg", 28_000, 1, None),
    "p-cabai": ProductView("p-cabai", CITY, "v-2", MARKET, "Cabai", "ons", 5_000, 2, 5),
    "p-other-market": ProductView("p-other-market", CITY, "v-3", "m-2", "Ikan", "kg", 40_000),
    "p-tegal": ProductView("p-tegal", "tegal", "v-9", MARKET, "Teh", "pak", 8_000),
    "p-sold-out": ProductView("p-sold-out", CITY, "v-1", MARKET, "Bawang", "kg", 30_000, sellable=False),
    "p-rawit": ProductView("p-rawit", CITY, "v-2", MARKET, "Cabai Rawit", "kg", 60_000, 250, 5_000,
                           sold_by="weight", step_grams=250, stock=4_000),
}
HUBS = {"h-1": HubView("h-1", CITY), "h-tegal": HubView("h-tegal", "tegal")}


def code() -> str:
    return "123456"


def plan(items: list[tuple[str, int]], fulfilment: Fulfilment | None = None, market: str = MARKET,
         market_known: bool = True) -> list:
    f = fulfilment or Fulfilment("pickup_stall")
    return plan_lines(CITY, market, [CartItem(p, q) for p, q in items], PRODUCTS, f,
                      HUBS.get(f.rw_hub_id or ""), market_known)


def new_order(fulfilment: Fulfilment | None = None, delivery_fee: int = 10_000) -> Order:
    f = fulfilment or Fulfilment("pickup_rw_hub", rw_hub_id="h-1")
    order, events = Order.place(order_id="o-1", city=CITY, buyer_id="b-1", market_id=MARKET, fulfilment=f,
                                lines=plan([("p-beras", 2), ("p-telur", 1)], f), delivery_fee=delivery_fee)
    assert [type(e) for e in events] == [OrderPlaced]
    order.loaded_version = order.version  # as if saved
    return order


def saved(order: Order) -> Order:
    order.loaded_version = order.version
    order.history.clear()
    return order


def paid_order() -> Order:
    order = new_order()
    order.stock_reserved()
    saved(order).payment_requested("pay-1", "000201...", EXPIRES)
    saved(order).payment_succeeded("pay-1", order.total)
    return saved(order)


# ------------------------------------------------------------------------------------------ checkout

def test_checkout_takes_prices_from_the_projection_and_totals_lines() -> None:
    order = new_order()
    placed = order.placed_event()
    assert [(li.product_id, li.unit_price, li.vendor_id) for li in placed.lines] == [
        ("p-beras", 15_000, "v-1"), ("p-telur", 28_000, "v-2")]
    assert placed.subtotal == 58_000 and placed.total == 58_000 and placed.delivery_fee == 0
    assert placed.fulfilment == "pickup_rw_hub" and placed.rw_hub_id == "h-1"
    assert order.status is Status.PLACED and order.label == "Menunggu Konfirmasi"


def test_delivery_adds_the_city_flat_fee() -> None:
    order = new_order(Fulfilment("delivery", address="Jl. Gatot Subroto 1"), delivery_fee=10_000)
    assert order.total == 58_000 + 10_000 and order.delivery_address == "Jl. Gatot Subroto 1"


@pytest.mark.parametrize(("items", "fulfilment", "code_"), [
    ([], None, "empty-cart"),
    ([("p-nope", 1)], None, "unknown-product"),
    ([("p-tegal", 1)], None, "unknown-product"),
    ([("p-other-market", 1)], None, "product-other-market"),
    ([("p-sold-out", 1)], None, "product-unavailable"),
    ([("p-beras", 11)], None, "quantity-out-of-range"),
    ([("p-cabai", 1)], None, "quantity-out-of-range"),
    ([("p-beras", 1), ("p-beras", 2)], None, "duplicate-product"),
    ([("p-beras", 1)], Fulfilment("pickup_rw_hub", rw_hub_id="h-tegal"), "unknown-rw-hub"),
    ([("p-beras", 1)], Fulfilment("pickup_rw_hub", rw_hub_id="h-nope"), "unknown-rw-hub"),
    ([("p-beras", 1)], Fulfilment("pickup_rw_hub"), "rw-hub-required"),
    ([("p-beras", 1)], Fulfilment("delivery", address="  "), "address-required"),
])
def test_bad_carts_are_rejected(items: list[tuple[str, int]], fulfilment: Fulfilment | None, code_: str) -> None:
    with pytest.raises(CheckoutRejected) as exc:
        plan(items, fulfilment)
    assert exc.value.code == code_ and exc.value.kind is Kind.INVALID  # answered 422
    assert " / " in exc.value.detail  # Indonesian. / English.


def test_unknown_market_is_rejected() -> None:
    with pytest.raises(CheckoutRejected) as exc:
        plan([("p-beras", 1)], market_known=False)
    assert exc.value.code == "unknown-market"


# ------------------------------------------------------------------------------------------ saga

def test_stock_reserved_requests_payment_with_vendor_amounts() -> None:
    order = new_order()
    events = order.stock_reserved()
    assert order.status is Status.STOCK_RESERVED and order.version == 2
    assert events == [OrderPaymentRequested(order_id="o-1", buyer_id="b-1", amount=58_000,
                                            vendor_amounts={"v-1": 30_000, "v-2": 28_000})]
    saved(order)
    assert order.stock_reserved() == [] and not order.changed  # duplicate


def test_stock_rejected_cancels_without_payment() -> None:
    order = new_order()
    assert order.stock_rejected() == [OrderCancelled(order_id="o-1", reason="out_of_stock", paid=False)]
    assert order.status is Status.REJECTED and order.label == "Dibatalkan"
    saved(order)
    assert order.stock_reserved() == [] and order.stock_rejected() == [] and not order.changed


def test_payment_requested_then_paid() -> None:
    order = new_order()
    assert order.payment_requested("pay-1", "qr", EXPIRES) == [] and not order.changed  # out of order: ignored
    order.stock_reserved()
    saved(order).payment_requested("pay-1", "qr", EXPIRES)
    assert order.status is Status.AWAITING_PAYMENT and order.label == "Menunggu Pembayaran"
    assert (order.payment_id, order.qris) == ("pay-1", "qr")
    saved(order)
    assert order.payment_requested("pay-1", "qr", EXPIRES) == [] and not order.changed
    events = order.payment_succeeded("pay-1", 58_000)
    assert events == [OrderPaid(order_id="o-1", payment_id="pay-1", amount=58_000)]
    assert order.status is Status.PAID and order.label == "Dibayar"
    saved(order)
    assert order.payment_succeeded("pay-1", 58_000) == [] and not order.changed
    assert order.payment_expired("pay-1") == [] and order.status is Status.PAID


def test_payment_expiry() -> None:
    order = new_order()
    order.stock_reserved()
    saved(order).payment_requested("pay-1", "qr", EXPIRES)
    saved(order)
    assert order.payment_expired("pay-other") == [] and not order.changed
    assert order.payment_expired("pay-1") == [OrderPaymentExpired(order_id="o-1")]
    assert order.status is Status.PAYMENT_EXPIRED and order.label == "Waktu Pembayaran Habis"
    saved(order)
    assert order.payment_expired("pay-1") == [] and not order.changed


def test_late_refund_after_expiry_is_recorded_without_changing_the_state() -> None:
    order = new_order()
    order.stock_reserved()
    order.payment_requested("pay-1", "qr", EXPIRES)
    order.payment_expired("pay-1")
    saved(order)
    assert order.payment_refunded(58_000, "late_payment") == []
    assert order.status is Status.PAYMENT_EXPIRED and order.extra_refunded == 58_000 and order.changed


def test_an_extra_payment_refund_never_completes_the_requested_refund() -> None:
    order = paid_order()
    order.cancel()
    order.payment_refunded(58_000, "duplicate_payment")
    assert order.status is Status.REFUND_REQUESTED
    order.payment_refunded(58_000, "order_cancelled")
    assert order.status is Status.REFUNDED and order.refunded_amount == 58_000


def test_payment_failed_cancels_an_unpayable_order() -> None:
    order = new_order()
    assert order.payment_failed() == [] and not order.changed  # not reserved yet: nothing to do
    order.stock_reserved()
    assert order.payment_failed() == [OrderCancelled(order_id="o-1", reason="payment_failed", paid=False)]
    assert order.status is Status.CANCELLED
    assert order.payment_failed() == []


def test_payment_for_a_closed_order_is_sent_back() -> None:
    order = new_order()
    order.stock_reserved()
    order.payment_requested("pay-1", "qr", EXPIRES)
    order.cancel()
    saved(order)
    events = order.payment_succeeded("pay-1", 58_000)
    assert events == [RefundRequested(order_id="o-1", amount=58_000, reason="paid_after_close")]
    assert order.status is Status.REFUND_REQUESTED
    saved(order)
    assert order.payment_succeeded("pay-1", 58_000) == []
    order.payment_refunded(58_000)
    assert order.status is Status.REFUNDED and order.label == "Dana Dikembalikan"


# ------------------------------------------------------------------------------------------ buyer cancel

@pytest.mark.parametrize("steps", [0, 1, 2])
def test_cancel_before_paying(steps: int) -> None:
    order = new_order()
    if steps >= 1:
        order.stock_reserved()
    if steps >= 2:
        order.payment_requested("pay-1", "qr", EXPIRES)
    saved(order)
    assert order.cancel() == [OrderCancelled(order_id="o-1", reason="buyer_cancelled", paid=False)]
    assert order.status is Status.CANCELLED and order.label == "Dibatalkan"
    saved(order)
    # whatever arrives late changes nothing
    assert order.stock_reserved() == [] and order.payment_requested("p", "q", EXPIRES) == []
    assert order.payment_expired("pay-1") == [] and not order.changed
    with pytest.raises(OrderConflict):
        order.cancel()


def test_cancel_after_paying_refunds_everything() -> None:
    order = paid_order()
    events = order.cancel()
    assert events == [OrderCancelled(order_id="o-1", reason="buyer_cancelled", paid=True),
                      RefundRequested(order_id="o-1", amount=58_000, reason="buyer_cancelled")]
    assert order.status is Status.REFUND_REQUESTED
    saved(order)
    order.payment_refunded(58_000)
    assert order.status is Status.REFUNDED and order.label == "Dana Dikembalikan"
    saved(order)
    order.payment_refunded(0)
    assert order.status is Status.REFUNDED


def test_cannot_cancel_once_something_is_packed() -> None:
    order = paid_order()
    order.mark_prepared("v-1", code)
    with pytest.raises(OrderConflict) as exc:
        order.cancel()
    assert exc.value.code == "order-already-prepared"


# ------------------------------------------------------------------------------------------ vendors, pickup

def test_vendors_prepare_then_ready_then_pickup() -> None:
    order = paid_order()
    with pytest.raises(OrderConflict):
        order.mark_prepared("v-9", code)  # not their order
    assert order.accept_line("v-1", "L1") == []
    assert order.status is Status.PREPARING and order.label == "Dikemas"
    assert order.lines[0].status is LineStatus.ACCEPTED
    assert order.mark_prepared("v-1", code) == [] and order.status is Status.PREPARING
    assert order.mark_prepared("v-2", code) == [OrderReady(order_id="o-1", pickup_code="123456")]
    assert order.status is Status.READY and order.label == "Siap Diambil" and order.pickup_code == "123456"
    saved(order)
    with pytest.raises(OrderConflict):
        order.mark_prepared("v-2", code)
    result, events = order.confirm_pickup("654321")
    assert not result.ok and result.attempts_left == MAX_PICKUP_ATTEMPTS - 1 and events == []
    result, events = order.confirm_pickup("123456")
    assert result.ok and events == [OrderCompleted(order_id="o-1", buyer_id="b-1", vendor_ids=["v-1", "v-2"],
                                                   total=58_000)]
    assert order.status is Status.COMPLETED and order.label == "Selesai"
    with pytest.raises(OrderConflict):
        order.confirm_pickup("123456")
    with pytest.raises(OrderConflict):
        order.cancel()


def test_vendor_cannot_act_before_payment() -> None:
    order = new_order()
    order.stock_reserved()
    with pytest.raises(OrderConflict) as exc:
        order.accept_line("v-1", "L1")
    assert exc.value.code == "order-not-paid"


def test_pickup_locks_after_five_wrong_codes() -> None:
    order = paid_order()
    order.mark_prepared("v-1", code)
    order.mark_prepared("v-2", code)
    for n in range(MAX_PICKUP_ATTEMPTS - 1):
        result, _ = order.confirm_pickup("000000")
        assert not result.ok and not result.locked and result.attempts_left == MAX_PICKUP_ATTEMPTS - 1 - n
    result, _ = order.confirm_pickup("000000")
    assert result.locked
    result, events = order.confirm_pickup("123456")  # even the right code once locked
    assert result.locked and events == [] and order.status is Status.READY


def test_pickup_refusals_are_domain_errors() -> None:
    assert PickupResult(ok=True).refusal() is None
    wrong = PickupResult(ok=False, attempts_left=3).refusal()
    assert wrong is not None and (wrong.kind, wrong.code) == (Kind.INVALID, "wrong-pickup-code")
    assert wrong.extra == {"attempts_left": 3, "max_attempts": MAX_PICKUP_ATTEMPTS}
    locked = PickupResult(ok=False, locked=True).refusal()
    assert locked is not None and (locked.kind, locked.code) == (Kind.CONFLICT, "pickup-locked")


def test_rejecting_one_line_refunds_that_line() -> None:
    order = paid_order()
    events = order.reject_line("v-2", "L2", code, "habis")
    assert events == [
        OrderLineRejected(order_id="o-1", line_id="L2", product_id="p-telur", vendor_id="v-2", quantity=1,
                          amount=28_000, reason="habis"),
        RefundRequested(order_id="o-1", amount=28_000, reason="line_rejected", vendor_amounts={"v-2": 28_000})]
    assert order.status is Status.PAID and order.refund_requested == 28_000
    assert order.reject_line("v-2", "L2", code) == []  # repeated click
    assert order.mark_prepared("v-1", code) == [OrderReady(order_id="o-1", pickup_code="123456")]
    _, events = order.confirm_pickup("123456")
    assert events[0].total == 30_000 and events[0].vendor_ids == ["v-1"]


def test_rejecting_the_last_line_after_others_prepared_makes_the_order_ready() -> None:
    order = paid_order()
    order.mark_prepared("v-1", code)
    events = order.reject_line("v-2", "L2", code)
    assert [type(e) for e in events] == [OrderLineRejected, RefundRequested, OrderReady]
    assert order.status is Status.READY


def test_rejecting_every_line_cancels_the_order_with_a_full_refund() -> None:
    order = paid_order()
    order.reject_line("v-1", "L1", code)
    events = order.reject_line("v-2", "L2", code)
    assert events[1:] == [OrderCancelled(order_id="o-1", reason="rejected_by_vendors", paid=True),
                          RefundRequested(order_id="o-1", amount=28_000, reason="rejected_by_vendors")]
    assert order.status is Status.REFUND_REQUESTED and order.refund_requested == 58_000
    order.payment_refunded(30_000)
    assert order.status is Status.REFUND_REQUESTED
    order.payment_refunded(28_000)
    assert order.status is Status.REFUNDED


def test_every_status_has_an_indonesian_label() -> None:
    assert {s: status_label(s) for s in Status} == {
        Status.PLACED: "Menunggu Konfirmasi", Status.STOCK_RESERVED: "Menyiapkan Pembayaran",
        Status.REJECTED: "Dibatalkan", Status.AWAITING_PAYMENT: "Menunggu Pembayaran", Status.PAID: "Dibayar",
        Status.PREPARING: "Dikemas", Status.READY: "Siap Diambil", Status.OUT_FOR_DELIVERY: "Dikirim",
        Status.COMPLETED: "Selesai",
        Status.PAYMENT_EXPIRED: "Waktu Pembayaran Habis", Status.CANCELLED: "Dibatalkan",
        Status.REFUND_REQUESTED: "Pengembalian Dana Diproses", Status.REFUNDED: "Dana Dikembalikan"}
    assert status_label(Status.READY, "delivery") == "Siap Dikirim"


def test_version_bumps_once_per_save_cycle() -> None:
    order = saved(new_order())
    v = order.version
    order.stock_reserved()
    order.payment_requested("pay-1", "qr", EXPIRES)  # two transitions before one save: one optimistic bump
    assert order.version == v + 1 and [h[1] for h in order.history] == [Status.STOCK_RESERVED,
                                                                        Status.AWAITING_PAYMENT]


def test_staff_unlock_a_locked_pickup() -> None:
    order = paid_order()
    with pytest.raises(OrderConflict):
        order.unlock_pickup()
    order.mark_prepared("v-1", code)
    order.mark_prepared("v-2", code)
    for _ in range(MAX_PICKUP_ATTEMPTS):
        order.confirm_pickup("000000")
    assert order.pickup_locked
    order.unlock_pickup()
    result, _ = order.confirm_pickup("123456")
    assert result.ok and order.status is Status.COMPLETED


def test_a_weighed_line_is_grams_at_the_price_per_kg_rounded_half_up() -> None:
    [line] = plan([("p-rawit", 250)])
    assert (line.quantity, line.amount, line.quantity_label, line.sold_by) == (250, 15_000, "250 g", "weight")
    wire = line.wire()
    assert (wire.quantity, wire.unit_price, wire.amount, wire.sold_by) == (250, 60_000, 15_000, "weight")
    order, _ = Order.place(order_id="o-w", city=CITY, buyer_id="b-1", market_id=MARKET,
                           fulfilment=Fulfilment("pickup_stall"), lines=[line], delivery_fee=0)
    assert order.total == 15_000 and order.vendor_amounts() == {"v-2": 15_000}


@pytest.mark.parametrize(("grams", "why"), [(300, "quantity-not-a-step"), (125, "quantity-not-a-step"),
                                             (5_250, "quantity-out-of-range"), (4_250, "insufficient-stock")])
def test_a_weight_off_the_steps_or_limits_is_refused(grams: int, why: str) -> None:
    with pytest.raises(CheckoutRejected) as refused:
        plan([("p-rawit", grams)])
    assert refused.value.code == why
