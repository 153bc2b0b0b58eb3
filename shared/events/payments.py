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
    payment_id: str
    order_id: str
    amount: Rupiah
    reason: str


@event("PaymentAmountMismatch", 1, PAYMENT, key="order_id")
class PaymentAmountMismatch(EventPayload):
    payment_id: str
    order_id: str
    expected: Rupiah
    notified: Rupiah
