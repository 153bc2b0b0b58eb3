"""Kafka subscribers: decode → handler, nothing else. The inbox (in the kernel) drops repeated event ids."""

from __future__ import annotations

import asyncio

from catalog import handlers
from shared.bus import EventBus, EventContext
from shared.events.learning import ENROLMENT, CertificateIssued
from shared.events.orders import (
    ORDER,
    OrderCancelled,
    OrderLineRejected,
    OrderPaid,
    OrderPaymentExpired,
    OrderPlaced,
)
from shared.logging import get_logger
from shared.service import ServiceKernel

log = get_logger(__name__)

RELEASE_INTERVAL_SECONDS = 5.0


def register(bus: EventBus) -> None:
    orders = bus.consumer("reservations", [ORDER])

    @orders.on(OrderPlaced)
    async def on_order_placed(ctx: EventContext, event: OrderPlaced) -> None:
        outcome = await handlers.reserve_stock(ctx.conn, ctx.emit, ctx.city, event)
        log.info("order placed handled", order_id=event.order_id, outcome=outcome)

    @orders.on(OrderPaid)
    async def on_order_paid(ctx: EventContext, event: OrderPaid) -> None:
        await handlers.apply_order_outcome(ctx.conn, ctx.emit, ctx.city, event.order_id, "OrderPaid")

    @orders.on(OrderCancelled)
    async def on_order_cancelled(ctx: EventContext, event: OrderCancelled) -> None:
        await handlers.apply_order_outcome(ctx.conn, ctx.emit, ctx.city, event.order_id, "OrderCancelled",
                                           reason=f"cancelled:{event.reason}"[:200], paid=event.paid)

    @orders.on(OrderPaymentExpired)
    async def on_payment_expired(ctx: EventContext, event: OrderPaymentExpired) -> None:
        await handlers.apply_order_outcome(ctx.conn, ctx.emit, ctx.city, event.order_id, "OrderPaymentExpired",
                                           reason="payment_expired")

    @orders.on(OrderLineRejected)
    async def on_order_line_rejected(ctx: EventContext, event: OrderLineRejected) -> None:
        outcome = await handlers.return_rejected_line(ctx.conn, ctx.emit, ctx.city, event)
        log.info("rejected order line handled", order_id=event.order_id, line_id=event.line_id, outcome=outcome)

    learning = bus.consumer("certificates", [ENROLMENT])

    @learning.on(CertificateIssued)
    async def on_certificate_issued(ctx: EventContext, event: CertificateIssued) -> None:
        outcome = await handlers.on_certificate(ctx.conn, ctx.emit, ctx.city, event)
        log.info("certificate handled", participant_id=event.participant_id, outcome=outcome)


async def release_expired_reservations(kernel: ServiceKernel) -> None:
    """Worker: give back stock held for orders that were neither paid nor cancelled before the deadline."""
    while True:
        released = await handlers.release_due_reservations(kernel.db())
        if released:
            log.info("expired reservations released", count=released)
        await asyncio.sleep(RELEASE_INTERVAL_SECONDS)
