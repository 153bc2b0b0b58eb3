"""The payment intent's transitions: paid once, late / cancelled / second payments refunded, mismatches never paid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from payments.domain import (
    Intent,
    Notification,
    Outcome,
    Status,
    bill_number_for,
    decide,
    issue_problem,
    plan_refund,
    reference_label_for,
    repeated_answer,
)
from payments.merchant import merchants_of_record
from payments.qris import decode_qris, encode_dynamic_qris
from shared.cities import all_cities

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def intent(status: Status = Status.PENDING, **kw: object) -> Intent:
    base = dict(payment_id=uuid.uuid4(), order_id="o-1", amount=25_000, status=status,
                expires_at=T0 + timedelta(minutes=15))
    base.update(kw)
    return Intent(**base)  # type: ignore[arg-type]


def paid(amount: int = 25_000, ref: str = "ACQ-1", at: datetime = T0 + timedelta(minutes=1)) -> Notification:
    return Notification(amount, ref, at, "paid")


def test_pending_intent_paid_with_the_exact_amount_succeeds() -> None:
    d = decide(intent(), paid(), reference_seen=False)
    assert d.outcome == Outcome.PAID and d.intent.status == Status.SUCCEEDED and not d.refund


def test_wrong_amount_never_pays() -> None:
    for status in Status:
        d = decide(intent(status), paid(amount=24_999), reference_seen=False)
        assert d.outcome == Outcome.AMOUNT_MISMATCH and d.intent.status == status and not d.refund


@pytest.mark.parametrize(("status", "outcome"), [
    (Status.EXPIRED, Outcome.LATE_PAYMENT), (Status.CANCELLED, Outcome.ORDER_CANCELLED),
    (Status.SUCCEEDED, Outcome.DUPLICATE_PAYMENT), (Status.REFUNDED, Outcome.DUPLICATE_PAYMENT),
    (Status.PARTIALLY_REFUNDED, Outcome.DUPLICATE_PAYMENT), (Status.FAILED, Outcome.NOT_PAYABLE),
])
def test_payment_for_an_unpayable_intent_is_refunded(status: Status, outcome: Outcome) -> None:
    d = decide(intent(status, acquirer_reference="ACQ-0"), paid(), reference_seen=False)
    assert d.outcome == outcome and d.refund and d.intent.status == status


def test_payment_after_expiry_of_a_still_pending_intent_expires_it_and_is_refunded() -> None:
    d = decide(intent(), paid(at=T0 + timedelta(minutes=16)), reference_seen=False)
    assert d.outcome == Outcome.LATE_PAYMENT and d.expired_now and d.intent.status == Status.EXPIRED


def test_same_payment_notified_again_changes_nothing() -> None:
    done = decide(intent(), paid(), reference_seen=False).intent
    assert decide(done, paid(), reference_seen=False).outcome == Outcome.REPEAT
    assert decide(intent(), paid(), reference_seen=True).outcome == Outcome.REPEAT


def test_failed_attempt_leaves_the_intent_pending() -> None:
    d = decide(intent(), Notification(25_000, "ACQ-9", T0, "failed"), reference_seen=False)
    assert d.outcome == Outcome.FAILED_ATTEMPT and d.intent.status == Status.PENDING


def test_refunds_are_capped_and_move_through_partial_to_refunded() -> None:
    i = intent(Status.SUCCEEDED)
    assert plan_refund(intent(Status.PENDING), None) is None
    first = plan_refund(i, 10_000)
    assert first and first.amount == 10_000 and first.intent.status == Status.PARTIALLY_REFUNDED
    second = plan_refund(first.intent, 99_999)
    assert second and second.amount == 15_000 and second.intent.status == Status.REFUNDED
    assert plan_refund(second.intent, 1) is None


def test_issue_problems() -> None:
    assert issue_problem(0) == "amount_not_positive"
    assert issue_problem(10_000_001) == "amount_above_qris_limit"
    assert issue_problem(10_000_000) is None


def test_every_city_merchant_issues_a_decodable_qris_tied_to_the_intent() -> None:
    for merchant in merchants_of_record(all_cities()).values():
        pid = uuid.uuid4()
        order_id = str(uuid.uuid4())
        payload = encode_dynamic_qris(merchant, 15_000, bill_number_for(pid),
                                      reference_label_for(order_id))
        decoded = decode_qris(payload)
        assert decoded.is_dynamic and decoded.amount == 15_000
        assert decoded.bill_number == bill_number_for(pid) and len(decoded.bill_number) <= 25
        assert decoded.reference_label == order_id.replace("-", "").upper()[:25]


@pytest.mark.parametrize(("status", "answer"), [
    (Status.PENDING, "PaymentRequested"), (Status.FAILED, "PaymentFailed"), (Status.SUCCEEDED, None),
    (Status.EXPIRED, None), (Status.CANCELLED, None), (Status.REFUNDED, None), (Status.PARTIALLY_REFUNDED, None)])
def test_a_repeated_payment_request_re_sends_only_an_answer_that_still_stands(status: Status,
                                                                              answer: str | None) -> None:
    assert repeated_answer(status) == answer
