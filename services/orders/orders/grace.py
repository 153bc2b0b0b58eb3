"""The grace worker: finds orders whose saga stalled and nudges them once.

An order waits in ``placed`` for catalog (StockReserved/StockRejected) and in ``stock_reserved`` for payments
(PaymentRequested). If the answer does not come within ``PASARKOTA_ORDERS_STUCK_AFTER_SECONDS`` (default
600), the order is flagged (``stuck_since``, metric ``pasarkota_orders_stuck``) and its last request event is
emitted once more (OrderPlaced or OrderPaymentRequested, same payload, new event id). Downstream handlers are
idempotent per order id, so a repeat is harmless; a second nudge is never sent — after that a person looks
(the flag stays until the order moves). Orders in ``awaiting_payment`` long past their QRIS expiry are only
flagged: payments owns expiry.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import asyncpg
from prometheus_client import Counter, Gauge

from orders import store
from orders.domain import Status
from shared.envelope import EventPayload
from shared.logging import get_logger
from shared.outbox import emit

if TYPE_CHECKING:
    from shared.service import ServiceKernel

log = get_logger(__name__)

STUCK = Gauge("pasarkota_orders_stuck", "Orders flagged as stuck in a saga state", ["city", "status"])
NUDGED = Counter("pasarkota_orders_stuck_flagged_total", "Orders flagged stuck (and nudged once)",
                 ["city", "status"])


def stuck_after_seconds() -> float:
    return float(os.environ.get("PASARKOTA_ORDERS_STUCK_AFTER_SECONDS", "600"))


def scan_interval_seconds() -> float:
    return float(os.environ.get("PASARKOTA_ORDERS_GRACE_SCAN_SECONDS", "30"))


async def flag_stuck_orders(pool: asyncpg.Pool, after_seconds: float) -> list[str]:
    """One pass: flag and nudge the orders stalled longer than ``after_seconds``; returns their ids."""
    flagged: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT order_id FROM orders
                WHERE stuck_since IS NULL
                  AND ((status IN ('placed', 'stock_reserved')
                        AND state_changed_at < now() - make_interval(secs => $1))
                    OR (status = 'awaiting_payment'
                        AND payment_expires_at < now() - make_interval(secs => $1)))
                ORDER BY state_changed_at LIMIT 100 FOR UPDATE SKIP LOCKED""", after_seconds)
        for row in rows:
            order = await store.load(conn, row["order_id"])
            if order is None:
                continue
            nudge: EventPayload | None = None
            if order.status is Status.PLACED:
                nudge = order.placed_event()
            elif order.status is Status.STOCK_RESERVED:
                nudge = order.payment_request_event()
            await conn.execute("UPDATE orders SET stuck_since = now() WHERE order_id = $1", order.order_id)
            await conn.execute("INSERT INTO order_history(order_id, city, from_status, to_status, cause)"
                               " VALUES ($1, $2, $3, $3, $4)", order.order_id, order.city, order.status.value,
                               "stuck: flagged" + (f", re-sent {type(nudge).__name__}" if nudge else ""))
            if nudge is not None:
                await emit(conn, nudge, city=order.city, correlation_id=f"grace-{order.order_id}")
            NUDGED.labels(order.city, order.status.value).inc()
            log.warning("order stuck; flagged", order_id=order.order_id, status=order.status.value,
                        city=order.city, resent=type(nudge).__name__ if nudge else None)
            flagged.append(order.order_id)
        counts = await conn.fetch("SELECT city, status, count(*) AS n FROM orders WHERE stuck_since IS NOT NULL"
                                  " GROUP BY city, status")
    STUCK.clear()
    for r in counts:
        STUCK.labels(r["city"], r["status"]).set(r["n"])
    return flagged


async def grace_worker(kernel: ServiceKernel) -> None:
    """Run forever (as a kernel worker)."""
    while True:
        await asyncio.sleep(scan_interval_seconds())
        await flag_stuck_orders(kernel.db(), stuck_after_seconds())
