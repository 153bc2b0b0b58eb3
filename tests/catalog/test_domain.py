"""The catalog's pure rules: vendor lifecycle, all-or-nothing reservation planning, days and prices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from catalog import domain
from catalog.domain import LineRequest, ProductStock

JKT = ZoneInfo("Asia/Jakarta")


def product(pid: str = "p1", **kw: object) -> ProductStock:
    base: dict[str, object] = dict(product_id=pid, city="cimahi", market_id="m1", vendor_id="v1", active=True,
                                   available=True, stock=10)
    base.update(kw)
    return ProductStock(**base)  # type: ignore[arg-type]


def plan(lines: list[LineRequest], *products: ProductStock) -> domain.ReservationPlan:
    return domain.plan_reservation(lines, {p.product_id: p for p in products}, city="cimahi", market_id="m1")


def test_reserves_all_lines_when_every_line_fits() -> None:
    result = plan([LineRequest("p1", "v1", 3), LineRequest("p2", "v1", 1)], product("p1"), product("p2", stock=None))
    assert result.ok
    assert [(t.product_id, t.quantity, t.tracked) for t in result.takes] == [("p1", 3, True), ("p2", 1, False)]


def test_one_failing_line_rejects_the_whole_order_with_the_failing_line() -> None:
    result = plan([LineRequest("p1", "v1", 3), LineRequest("p2", "v1", 5)], product("p1"), product("p2", stock=4))
    assert not result.ok
    assert result.takes == []
    assert result.rejected == [("p2", domain.REJECT_INSUFFICIENT)]


def test_duplicate_lines_of_one_product_are_summed() -> None:
    result = plan([LineRequest("p1", "v1", 6), LineRequest("p1", "v1", 6)], product("p1"))
    assert result.rejected == [("p1", domain.REJECT_INSUFFICIENT)]
    assert plan([LineRequest("p1", "v1", 5), LineRequest("p1", "v1", 5)], product("p1")).takes[0].quantity == 10


@pytest.mark.parametrize(("kw", "reason"), [
    ({"active": False}, domain.REJECT_INACTIVE),
    ({"vendor_active": False}, domain.REJECT_VENDOR_INACTIVE),
    ({"market_id": "m2"}, domain.REJECT_WRONG_MARKET),
    ({"vendor_id": "v2"}, domain.REJECT_WRONG_VENDOR),
    ({"city": "tegal"}, domain.REJECT_NOT_FOUND),
    ({"stock": 0}, domain.REJECT_SOLD_OUT),
    ({"stock": None, "available": False}, domain.REJECT_SOLD_OUT),
    ({"min_per_order": 2}, domain.REJECT_BELOW_MIN),
    ({"max_per_order": 0}, domain.REJECT_ABOVE_MAX),
])
def test_rejection_reasons(kw: dict[str, object], reason: str) -> None:
    assert plan([LineRequest("p1", "v1", 1)], product(**kw)).rejected == [("p1", reason)]


def test_unknown_product_and_empty_order_are_not_ok() -> None:
    assert plan([LineRequest("nope", "v1", 1)]).rejected == [("nope", domain.REJECT_NOT_FOUND)]
    assert not plan([]).ok


def test_merge_lines_sorts_by_product_id_for_lock_order() -> None:
    merged = domain.merge_lines([LineRequest("b", "v", 1), LineRequest("a", "v", 2), LineRequest("b", "v", 3)])
    assert [(m.product_id, m.quantity) for m in merged] == [("a", 2), ("b", 4)]


def test_reservation_state_machine_is_guarded() -> None:
    after = domain.reservation_after
    assert after("held", "OrderPaid") == "committed"
    assert after("committed", "OrderPaid") is None
    assert after("held", "OrderCancelled") == "released"
    assert after("committed", "OrderCancelled", paid=True) == "restocked"
    assert after("restocked", "OrderCancelled") is None
    assert after("released", "OrderCancelled") is None
    assert after("held", "OrderPaymentExpired") == "released"
    assert after("committed", "OrderPaymentExpired") is None
    assert after("rejected", "OrderPaid") is None
    assert after("released", "OrderPaid") is None


def test_vendor_lifecycle() -> None:
    t = domain.vendor_transition
    assert t("draft", "verify") == "pending"
    assert t("pending", "activate") == "active"
    assert t("active", "suspend") == "suspended"
    assert t("suspended", "activate") == "active"
    assert t("active", "activate") == "active"
    with pytest.raises(domain.TransitionError):
        t("draft", "activate")
    with pytest.raises(domain.TransitionError):
        t("active", "verify")


def test_reservation_deadline_is_after_the_payment_expiry() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert (domain.reservation_deadline(now, 15) - now).total_seconds() == (15 + domain.RESERVATION_GRACE_MINUTES) * 60


def test_jakarta_day_bounds() -> None:
    start, end = domain.local_day_bounds(date(2026, 3, 2), JKT)
    assert start == datetime(2026, 3, 1, 17, tzinfo=UTC) and end == datetime(2026, 3, 2, 17, tzinfo=UTC)
    assert domain.local_today(JKT, datetime(2026, 3, 1, 18, tzinfo=UTC)) == date(2026, 3, 2)


def test_price_change() -> None:
    assert domain.price_change(45000, 40000) == (5000, 12.5, "naik")
    assert domain.price_change(38000, 40000) == (-2000, -5.0, "turun")
    assert domain.price_change(40000, 40000) == (0, 0.0, "tetap")
    assert domain.price_change(40000, None) == (None, None, "baru")


def test_availability() -> None:
    assert domain.is_available(None, True)
    assert not domain.is_available(0, True)
    assert not domain.is_available(5, False)
    assert not domain.is_available(5, True, active=False)


@pytest.mark.parametrize(("status", "expected"), [
    ("committed", ("restock", 2)), ("held", ("release", 2)), ("released", None), ("restocked", None),
    ("rejected", None)])
def test_a_rejected_line_comes_back_only_from_a_live_reservation(status: str,
                                                                 expected: tuple[str, int] | None) -> None:
    assert domain.line_give_back(status, 2, reserved=5, returned=0) == expected


def test_a_rejected_line_never_gives_back_more_than_is_still_out() -> None:
    assert domain.line_give_back("committed", 4, reserved=5, returned=3) == ("restock", 2)
    assert domain.line_give_back("committed", 4, reserved=5, returned=5) == ("restock", 0)


@pytest.mark.parametrize(("status", "answer"), [
    ("held", "StockReserved"), ("committed", "StockReserved"), ("rejected", "StockRejected"), ("released", None),
    ("restocked", None)])
def test_an_order_placed_again_gets_the_answer_that_still_stands(status: str, answer: str | None) -> None:
    assert domain.repeated_answer(status) == answer


# ---- back office (issue #13) --------------------------------------------------------------------------

@pytest.mark.parametrize(("opens", "closes", "field"), [
    ("14:00", "05:00", "closes_at"), ("08:00", "08:00", "closes_at"), ("08:00", None, "closes_at"),
    (None, "21:00", "opens_at")])
def test_nonsense_hours_are_refused_naming_the_field(opens: str | None, closes: str | None, field: str) -> None:
    from shared.errors import Invalid

    with pytest.raises(Invalid) as refused:
        domain.check_hours(opens, closes)
    assert refused.value.extra["field"] == field


def test_sensible_or_no_hours_pass_and_a_stall_has_a_name() -> None:
    domain.check_hours("05:00", "14:00")
    domain.check_hours(None, None)
    assert domain.stall_label({"kind": "los", "block": "A", "number": "01"}) == "Los A-01"
    assert domain.stall_label({"kind": "kios", "block": "", "number": "7"}) == "Kios 7"
    assert domain.audit_view("market", {"name": "P", "active": True, "id": "x"})["name"] == "P"
