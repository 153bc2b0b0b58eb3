"""The ledger's rules, pure: balanced entries, refunds taken from the vendor they belong to, fees, payouts."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

import pytest

from payments import ledger
from payments.domain import allocation


def balances(entries: Iterable[ledger.Entry]) -> dict[str, int]:
    """Account (vendor payables as ``vendor:<id>``) → sum of its postings."""
    out: dict[str, int] = defaultdict(int)
    for e in entries:
        for p in e.postings:
            out[f"vendor:{p.vendor_id}" if p.vendor_id else p.account] += p.amount
    return dict(out)


def test_largest_remainder_is_exact_and_proportional() -> None:
    assert ledger.largest_remainder(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    shares = ledger.largest_remainder(12_345, {"a": 20_000, "b": 5_000})
    assert sum(shares.values()) == 12_345 and shares["a"] == 9_876
    assert ledger.largest_remainder(5, {}) == {}


def test_an_unbalanced_entry_cannot_be_made() -> None:
    with pytest.raises(ledger.Unbalanced):
        ledger.Entry("x", "k", (ledger.Posting(ledger.CLEARING, 5), ledger.Posting(ledger.REFUNDS_PAYABLE, -4)))
    with pytest.raises(ledger.Unbalanced):
        ledger.payment_received(payment_id=uuid.uuid4(), order_id="o", amount=10, allocation={"a": 9},
                                dedupe_key="k")


def test_the_rejected_line_is_refunded_from_its_own_vendor() -> None:
    """The issue's example: Rp 92.000 line rejected by vendor A, vendor B delivered Rp 37.500, fee Rp 10.000."""
    pid = uuid.uuid4()
    alloc = allocation(139_500, {"A": 92_000, "B": 37_500})
    assert alloc == {"A": 92_000, "B": 37_500, "_other": 10_000}
    paid = ledger.payment_received(payment_id=pid, order_id="o", amount=139_500, allocation=alloc, dedupe_key="p")
    attribution, rule = ledger.attribute_refund(92_000, alloc, {"A": 92_000})
    assert (attribution, rule) == ({"A": 92_000}, "attributed")
    refund = ledger.refund_decided(payment_id=pid, order_id="o", refund_id=uuid.uuid4(), attribution=attribution,
                                   dedupe_key="r")
    got = balances([paid, refund])
    assert got.get("vendor:A", 0) == 0
    assert got["vendor:B"] == -37_500          # owed to B: exactly the delivered line
    assert got["delivery_fees"] == -10_000
    assert sum(got.values()) == 0


def test_everything_left_goes_back_exactly_after_an_earlier_line_refund() -> None:
    alloc = {"A": 92_000, "B": 37_500, "_other": 10_000}
    left = {"A": 0, "B": 37_500, "_other": 10_000}
    assert ledger.attribute_refund(47_500, left, None) == ({"B": 37_500, "_other": 10_000}, "everything_left")
    assert sum(alloc.values()) - 92_000 == 47_500


def test_an_attribution_that_does_not_fit_falls_back_to_the_rule() -> None:
    left = {"A": 10_000, "B": 30_000}
    # more than A still holds: not trusted, apportioned over what is left
    attribution, rule = ledger.attribute_refund(20_000, left, {"A": 20_000})
    assert rule == "apportioned" and attribution == {"A": 5_000, "B": 15_000}
    assert ledger.attribute_refund(6_000, {"A": 20_000, "B": 10_000}, None) == ({"A": 4_000, "B": 2_000},
                                                                                "apportioned")


def test_returned_extra_payments_never_touch_a_vendor() -> None:
    pid, rid = uuid.uuid4(), uuid.uuid4()
    entries = [ledger.extra_payment_returned(payment_id=pid, order_id="o", refund_id=rid, amount=15_000,
                                             reason="duplicate_payment", dedupe_key="n1"),
               ledger.refund_sent(payment_id=pid, order_id="o", refund_id=rid, amount=15_000, dedupe_key="s1")]
    got = balances(entries)
    assert not any(k.startswith("vendor:") for k in got)
    assert got == {"acquirer_clearing": 0, "refunds_payable": 0}


def test_mdr_is_free_for_small_payments_and_borne_by_the_payees() -> None:
    assert ledger.mdr_fee(500_000, basis_points=30, free_up_to=500_000) == 0
    assert ledger.mdr_fee(500_001, basis_points=30, free_up_to=500_000) == 1_500
    assert ledger.mdr_fee(1_000_000, basis_points=0, free_up_to=0) == 0
    fee = ledger.fee_charged(payment_id=uuid.uuid4(), order_id="o", fee=1_500,
                             allocation={"A": 400_000, "B": 200_000}, dedupe_key="f")
    assert fee is not None
    assert balances([fee]) == {"acquirer_clearing": -1_500, "vendor:A": 1_000, "vendor:B": 500}
    assert ledger.fee_charged(payment_id=uuid.uuid4(), order_id="o", fee=0, allocation={"A": 1},
                              dedupe_key="f") is None


def test_payouts_are_never_paid_twice_whatever_the_order_of_runs() -> None:
    assert ledger.payouts_due({"A": 50_000, "B": 0, "C": -3_000}, {}) == {"A": 50_000}
    assert ledger.payouts_due({"A": 50_000}, {"A": 50_000}) == {}
    # day 2 ran first and paid 80.000 (days 1 and 2); the late day-1 run (earned 50.000 by its cut-off) pays 0
    assert ledger.payouts_due({"A": 50_000}, {"A": 80_000}) == {}
    assert ledger.payouts_due({"A": 120_000}, {"A": 80_000}) == {"A": 40_000}


def test_allocation_always_adds_up_to_the_amount() -> None:
    assert allocation(100, {"A": 60, "B": 60}) == {"A": 50, "B": 50}
    assert sum(allocation(101, {"A": 70, "B": 60}).values()) == 101
