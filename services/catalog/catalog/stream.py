"""Kafka subscribers of the catalog: declarations only, ``handlers.fn(uow, event)`` registered directly.

The bus (``shared/bus.py``) decodes, drops repeated event ids (inbox) and runs each polled batch in one unit of
work; ``uow`` is scoped to the event (its city, correlation and causation).
"""

from __future__ import annotations

from catalog import handlers
from shared.bus import EventBus
from shared.events.identity import ACCOUNT, AccountDeletionRequested
from shared.events.learning import ENROLMENT, CertificateIssued
from shared.events.orders import (
    ORDER,
    OrderCancelled,
    OrderLineRejected,
    OrderPaid,
    OrderPaymentExpired,
    OrderPlaced,
)


def register(bus: EventBus) -> None:
    reservations = bus.consumer("reservations", [ORDER])
    reservations.on(OrderPlaced)(handlers.on_order_placed)
    reservations.on_batch(OrderPaid)(handlers.on_orders_paid)
    reservations.on(OrderCancelled)(handlers.on_order_cancelled)
    reservations.on(OrderPaymentExpired)(handlers.on_payment_expired)
    reservations.on(OrderLineRejected)(handlers.on_order_line_rejected)

    certificates = bus.consumer("certificates", [ENROLMENT])
    certificates.on(CertificateIssued)(handlers.on_certificate_issued)

    accounts = bus.consumer("accounts", [ACCOUNT])
    accounts.on(AccountDeletionRequested)(handlers.on_account_deletion_requested)
