"""The grace job: finds orders whose saga stalled and nudges them once.

An order waits in ``placed`` for catalog (StockReserved/StockRejected) and in ``stock_reserved`` for payments
(PaymentRequested). If the answer does not come within ``stuck_after_seconds`` (``OrdersSettings``, default
600), the order is flagged (``stuck_since``, metric ``pasarkota_orders_stuck``) and its last request event is
emitted once more (OrderPlaced or OrderPaymentRequested, same payload, new event id). Downstream handlers are
idempotent per order id, so a repeat is harmless; a second nudge is never sent — after that a person looks
(the flag stays until the order moves). Orders in ``awaiting_payment`` long past their QRIS expiry are only
flagged: payments owns expiry.

Run by ``app.py`` as a ``@kernel.periodic`` job: one unit of work per pass, spanning all cities.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from orders.domain import Status
from orders.store import OrdersStore
from shared.envelope import EventPayload
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)

STUCK = Gauge("pasarkota_orders_stuck", "Orders flagged as stuck in a saga state", ["city", "status"])
NUDGED = Counter("pasarkota_orders_stuck_flagged_total", "Orders flagged stuck (and nudged once)",
                 ["city", "status"])


async def flag_stuck_orders(uow: UnitOfWork[OrdersStore], after_seconds: float) -> list[str]:
    """One pass: flag and nudge the orders stalled longer than ``after_seconds``; returns their ids."""
    flagged: list[str] = []
    for order_id in await uow.store.stuck_order_ids(after_seconds):
        order = await uow.store.load(order_id)
        if order is None:
            continue
        nudge: EventPayload | None = None
        if order.status is Status.PLACED:
            nudge = order.placed_event()
        elif order.status is Status.STOCK_RESERVED:
            nudge = order.payment_request_event()
        await uow.store.flag_stuck(order, "stuck: flagged" + (f", re-sent {type(nudge).__name__}" if nudge else ""))
        if nudge is not None:
            uow.emit(nudge, city=order.city)
        NUDGED.labels(order.city, order.status.value).inc()
        log.warning("order stuck; flagged", order_id=order.order_id, status=order.status.value, city=order.city,
                    resent=type(nudge).__name__ if nudge else None)
        flagged.append(order.order_id)
    counts = await uow.store.stuck_counts()
    STUCK.clear()
    for city, status, n in counts:
        STUCK.labels(city, status).set(n)
    return flagged
