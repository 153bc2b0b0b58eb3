"""Kafka subscribers of the payments service: envelope → handler; nothing else."""

from __future__ import annotations

from payments import handlers
from payments.http import ACQUIRER
from shared.bus import EventBus, EventContext
from shared.cities import all_cities
from shared.events.orders import ORDER, OrderCancelled, OrderPaymentRequested, RefundRequested
from shared.logging import get_logger

log = get_logger(__name__)


def register(bus: EventBus) -> None:
    orders = bus.consumer("orders", [ORDER])

    @orders.on(OrderPaymentRequested)
    async def on_payment_requested(ctx: EventContext, event: OrderPaymentRequested) -> None:
        city = all_cities().get(ctx.city)
        if city is None:
            raise ValueError(f"unknown city {ctx.city!r}: no merchant of record to issue a QRIS for")
        await handlers.create_intent(ctx.conn, ACQUIRER, city, event, ctx.emit, ctx.envelope.correlation_id)

    @orders.on(OrderCancelled)
    async def on_order_cancelled(ctx: EventContext, event: OrderCancelled) -> None:
        result = await handlers.cancel_for_order(ctx.conn, ACQUIRER, ctx.city, event.order_id, ctx.emit,
                                                 dedupe_key=f"event:{ctx.envelope.event_id}")
        log.info("order cancelled", order_id=event.order_id, paid=event.paid, effect=result)

    @orders.on(RefundRequested)
    async def on_refund_requested(ctx: EventContext, event: RefundRequested) -> None:
        row = await handlers.store.intent_by_order(ctx.conn, ctx.city, event.order_id, for_update=True)
        if row is None:
            log.warning("refund requested for an order without a payment intent", order_id=event.order_id)
            return
        result = await handlers.refund_intent(ctx.conn, ACQUIRER, ctx.city, row, event.amount, event.reason or
                                              "requested", "event", f"event:{ctx.envelope.event_id}", ctx.emit)
        if result is None:
            log.warning("refund requested but nothing is refundable", order_id=event.order_id,
                        status=row["status"], amount=event.amount)
