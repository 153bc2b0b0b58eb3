"""Kafka consumers of the payments service: declarations only (event type → use case)."""

from __future__ import annotations

from functools import partial

from payments import handlers
from shared.bus import EventBus
from shared.events.catalog import VENDOR, VendorActivated
from shared.events.orders import ORDER, OrderCancelled, OrderPaymentRequested, RefundRequested


def register(bus: EventBus, issuing: handlers.Issuing) -> None:
    """``issuing`` (acquirer + merchants of record) is built at start by ``app.py``."""
    orders = bus.consumer("orders", [ORDER])
    orders.on_batch(OrderPaymentRequested)(partial(handlers.create_intents, issuing=issuing))
    orders.on(OrderCancelled)(handlers.cancel_for_order)
    orders.on(RefundRequested)(handlers.refund_requested)
    catalog = bus.consumer("vendors", [VENDOR])
    catalog.on(VendorActivated)(handlers.vendor_activated)
