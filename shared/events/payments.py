"""Events the payments service emits. Keyed by the payment's order id so an order's story stays ordered."""

from __future__ import annotations

from datetime import datetime

from shared.envelope import EventPayload, event
from shared.events.common import Rupiah

PAYMENT = "payments.payment.v1"


@event("PaymentRequested", 1, PAYMENT, key="order_id")
class PaymentRequested(EventPayload):
    payment_id: str
    order_id: str
    amount: Rupiah
    qris: str
    expires_at: datetime
    merchant_name: str | None = None


@event("PaymentSucceeded", 1, PAYMENT, key="order_id")
class PaymentSucceeded(EventPayload):
    payment_id: str
    order_id: str
    amount: Rupiah
    acquirer_reference: str
    paid_at: datetime


@event("PaymentExpired", 1, PAYMENT, key="order_id")
class PaymentExpired(EventPayload):
    payment_id: str
    order_id: str


@event("PaymentRefunded", 1, PAYMENT, key="order_id")
class PaymentRefunded(EventPayload):
    """Money went back to the payer. ``reason``: ``requested`` / ``order_cancelled`` (a refund of the order's
    payment) or ``late_payment`` / ``duplicate_payment`` (an extra payment returned; the order's own payment,
    if any, stands)."""

    payment_id: str
    order_id: str
    amount: Rupiah
    reason: str
    refund_id: str | None = None
    refunded_total: Rupiah | None = None
    payment_status: str | None = None


@event("PaymentAmountMismatch", 1, PAYMENT, key="order_id")
class PaymentAmountMismatch(EventPayload):
    payment_id: str
    order_id: str
    expected: Rupiah
    notified: Rupiah


@event("PaymentFailed", 1, PAYMENT, key="order_id")
class PaymentFailed(EventPayload):
    """No QRIS could be issued for the order (e.g. amount 0 or above the Rp 10.000.000 QRIS cap)."""

    payment_id: str
    order_id: str
    reason: str
