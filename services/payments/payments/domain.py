"""The payment intent and what an acquirer notification or a refund does to it. Plain Python, no IO.

States::

    pending ──paid──────────► succeeded ──refund──► partially_refunded ──refund──► refunded
       │ ├─expiry worker────► expired      (a payment arriving now is refunded: late_payment)
       │ └─OrderCancelled───► cancelled    (a payment arriving now is refunded: order_cancelled)
       └─(not issuable)─────► failed       (amount 0 or above the QRIS cap; PaymentFailed)

A second, different payment for a paid intent is refunded (duplicate_payment). The same payment notified
again (same acquirer reference) changes nothing. A notified amount that differs from the intent's is
recorded as a mismatch and never marks anything paid.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from payments.ledger import largest_remainder
from payments.qris import MAX_AMOUNT
from shared.errors import Conflict, NotFound, not_found


class Status(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


PAID_STATES = frozenset({Status.SUCCEEDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED})


def repeated_answer(status: Status) -> str | None:
    """What to re-send when an order asks again for a payment it already has (OrderPaymentRequested under a new
    event id: the orders grace worker's one nudge): the QRIS of a still-pending intent (``PaymentRequested``),
    or the refusal of a failed one (``PaymentFailed``). Any other state already produced a later event the
    order moves on with (paid, expired, cancelled, refunded); nothing is re-sent and no second intent made."""
    if status == Status.PENDING:
        return "PaymentRequested"
    if status == Status.FAILED:
        return "PaymentFailed"
    return None


class Outcome(StrEnum):
    """What processing one notification did (stored on the notification row)."""

    PAID = "paid"
    AMOUNT_MISMATCH = "amount_mismatch"
    LATE_PAYMENT = "late_payment"            # refunded
    ORDER_CANCELLED = "order_cancelled"      # refunded
    DUPLICATE_PAYMENT = "duplicate_payment"  # refunded
    NOT_PAYABLE = "intent_not_payable"       # refunded (the intent had failed to issue)
    REPEAT = "repeat"                        # the same payment (acquirer reference) notified again: no effect
    FAILED_ATTEMPT = "failed_attempt"        # the acquirer reports a failed attempt: intent stays as it is
    UNKNOWN_INTENT = "unknown_intent"


REFUNDING_OUTCOMES = frozenset({Outcome.LATE_PAYMENT, Outcome.ORDER_CANCELLED, Outcome.DUPLICATE_PAYMENT,
                                Outcome.NOT_PAYABLE})


RECEIPT_OUTCOMES = tuple(o.value for o in (Outcome.PAID, Outcome.AMOUNT_MISMATCH, Outcome.LATE_PAYMENT,
                                            Outcome.ORDER_CANCELLED, Outcome.DUPLICATE_PAYMENT, Outcome.NOT_PAYABLE))
"""Outcomes that mean the acquirer's payment (its reference) was received and acted on."""

OTHER_ALLOCATION = "_other"  # the part of an order's amount not attributed to a vendor (e.g. delivery fee)


def allocation(amount: int, vendor_amounts: Mapping[str, int]) -> dict[str, int]:
    """Who an order's amount belongs to: each vendor's part, and the rest (delivery fee) as ``_other``;
    always exactly ``amount`` (vendor parts that add up to more are scaled down by largest remainder)."""
    alloc = {v: int(a) for v, a in vendor_amounts.items() if int(a) > 0}
    rest = amount - sum(alloc.values())
    if rest > 0:
        alloc[OTHER_ALLOCATION] = rest
    elif rest < 0:
        alloc = largest_remainder(amount, alloc)
    return alloc


def payment_not_found() -> NotFound:
    return not_found("Pembayaran", "Payment", "payment-not-found")


def nothing_to_refund(status: Status | str) -> Conflict:
    return Conflict("nothing-to-refund", "Pembayaran ini belum dibayar atau sudah dikembalikan seluruhnya. / "
                                         "Nothing to refund: the payment is not paid or already fully refunded.",
                    status_value=str(status))


def not_pending(status: str) -> Conflict:
    """The simulator's expire-now refused: the intent is not pending (or its payment waits to be applied)."""
    return Conflict("payment-not-pending", f"Pembayaran berstatus '{status}', tidak bisa dibuat kedaluwarsa. / "
                                           f"The payment is {status}; it cannot expire now.", status_value=status)


def bill_number_for(payment_id: uuid.UUID) -> str:
    """QRIS tag 62.01 (≤ 25 chars): 'PK' + 23 hex digits of the random payment id; unique per city in the DB."""
    return "PK" + payment_id.hex[:23].upper()


def reference_label_for(order_id: str) -> str:
    """QRIS tag 62.05 (≤ 25 chars): the order id's letters and digits, so a bank statement names the order."""
    cleaned = "".join(ch for ch in order_id if ch.isascii() and ch.isalnum()).upper()
    return (cleaned or "ORDER")[:25]


def issue_problem(amount: int) -> str | None:
    """Why no dynamic QRIS can be issued for ``amount`` (None when it can)."""
    if amount < 1:
        return "amount_not_positive"
    if amount > MAX_AMOUNT:
        return "amount_above_qris_limit"
    return None


@dataclass(frozen=True)
class Intent:
    payment_id: uuid.UUID
    order_id: str
    amount: int
    status: Status
    expires_at: datetime
    refunded_amount: int = 0
    acquirer_reference: str | None = None

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.status in PAID_STATES else 0


@dataclass(frozen=True)
class Notification:
    amount: int
    acquirer_reference: str
    paid_at: datetime
    status: str  # "paid" | "failed"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    intent: Intent               # the intent after the notification
    expired_now: bool = False    # the intent was pending but paid after its expiry: expire it (PaymentExpired)

    @property
    def refund(self) -> bool:
        return self.outcome in REFUNDING_OUTCOMES


def decide(intent: Intent, note: Notification, *, reference_seen: bool) -> Decision:
    """Apply one acquirer notification to an intent. ``reference_seen``: this acquirer reference was processed
    before (the same payment notified again)."""
    if reference_seen or (intent.acquirer_reference is not None
                          and intent.acquirer_reference == note.acquirer_reference):
        return Decision(Outcome.REPEAT, intent)
    if note.status != "paid":
        return Decision(Outcome.FAILED_ATTEMPT, intent)
    if note.amount != intent.amount:
        return Decision(Outcome.AMOUNT_MISMATCH, intent)
    if intent.status == Status.PENDING:
        if note.paid_at > intent.expires_at:
            return Decision(Outcome.LATE_PAYMENT, replace(intent, status=Status.EXPIRED), expired_now=True)
        return Decision(Outcome.PAID, replace(intent, status=Status.SUCCEEDED,
                                              acquirer_reference=note.acquirer_reference))
    if intent.status == Status.EXPIRED:
        return Decision(Outcome.LATE_PAYMENT, intent)
    if intent.status == Status.CANCELLED:
        return Decision(Outcome.ORDER_CANCELLED, intent)
    if intent.status == Status.FAILED:
        return Decision(Outcome.NOT_PAYABLE, intent)
    return Decision(Outcome.DUPLICATE_PAYMENT, intent)  # already paid (and maybe refunded since)


@dataclass(frozen=True)
class RefundPlan:
    amount: int
    intent: Intent


def plan_refund(intent: Intent, requested: int | None) -> RefundPlan | None:
    """Refund ``requested`` (None = everything left) of a paid intent, capped at what is left.

    None when nothing can be refunded (not paid, or already fully refunded).
    """
    left = intent.refundable
    if left <= 0:
        return None
    amount = left if requested is None else min(requested, left)
    if amount <= 0:
        return None
    refunded = intent.refunded_amount + amount
    status = Status.REFUNDED if refunded >= intent.amount else Status.PARTIALLY_REFUNDED
    return RefundPlan(amount, replace(intent, refunded_amount=refunded, status=status))
