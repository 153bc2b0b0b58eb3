"""Events the orders service (the owner of the buying process) emits."""

from __future__ import annotations

from shared.envelope import EventPayload, event
from shared.events.common import Fulfilment, OrderLine, Rupiah

ORDER = "orders.order.v1"


@event("OrderPlaced", 1, ORDER, key="order_id")
class OrderPlaced(EventPayload):
    order_id: str
    buyer_id: str
    market_id: str
    lines: list[OrderLine]
    subtotal: Rupiah
    delivery_fee: Rupiah = 0
    total: Rupiah
    fulfilment: Fulfilment
    rw_hub_id: str | None = None


@event("OrderPaymentRequested", 1, ORDER, key="order_id")
class OrderPaymentRequested(EventPayload):
    """Stock is reserved: orders asks payments for a QRIS intent of ``amount``."""

    order_id: str
    buyer_id: str
    amount: Rupiah
    vendor_amounts: dict[str, Rupiah]


@event("OrderPaid", 1, ORDER, key="order_id")
class OrderPaid(EventPayload):
    order_id: str
    payment_id: str
    amount: Rupiah


@event("OrderReady", 1, ORDER, key="order_id")
class OrderReady(EventPayload):
    order_id: str


@event("OrderCompleted", 1, ORDER, key="order_id")
class OrderCompleted(EventPayload):
    order_id: str
    buyer_id: str
    vendor_ids: list[str]
    total: Rupiah


@event("OrderCancelled", 1, ORDER, key="order_id")
class OrderCancelled(EventPayload):
    order_id: str
    reason: str
    paid: bool = False


@event("OrderPaymentExpired", 1, ORDER, key="order_id")
class OrderPaymentExpired(EventPayload):
    order_id: str


@event("RefundRequested", 1, ORDER, key="order_id")
class RefundRequested(EventPayload):
    """``vendor_amounts``: whose money the refund is (vendor id → rupiah; ``_other`` for the delivery fee), so
    payments' ledger takes it from them; absent, payments applies its rule (``docs/payments.md``)."""

    order_id: str
    amount: Rupiah
    reason: str
    vendor_amounts: dict[str, Rupiah] | None = None


@event("OrderLineRejected", 1, ORDER, key="order_id")
class OrderLineRejected(EventPayload):
    """A vendor cannot supply one line of a paid order: its amount is refunded (RefundRequested follows) and
    catalog may put the line's quantity back on sale."""

    order_id: str
    line_id: str
    product_id: str
    vendor_id: str
    quantity: int
    amount: Rupiah
    reason: str
