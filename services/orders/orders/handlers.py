"""Reactions and commands: load the order, ask the domain, save (optimistically), emit through the outbox."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from orders import store
from orders.domain import CartItem, CheckoutRejected, Fulfilment, Order, OrderConflict, PickupResult, plan_lines
from shared.envelope import Envelope, EventPayload
from shared.events import catalog as cat
from shared.events import payments as pay
from shared.idempotency import begin, remember, request_hash
from shared.ids import new_id
from shared.logging import get_logger
from shared.outbox import emit
from shared.problems import Problem

log = get_logger(__name__)


def new_pickup_code() -> str:
    """Six random digits from the OS's CSPRNG (a guessable code would let anyone collect the order)."""
    return f"{secrets.randbelow(1_000_000):06d}"


# ---------------------------------------------------------------------------------------- projections

async def on_product_listed(conn: asyncpg.Connection, city: str, e: cat.ProductListed) -> None:
    await store.upsert_product(conn, city, e)


async def on_product_updated(conn: asyncpg.Connection, city: str, e: cat.ProductUpdated) -> None:
    await store.upsert_product(conn, city, e, active=e.active)


async def on_price_changed(conn: asyncpg.Connection, e: cat.PriceChanged) -> None:
    await store.set_price(conn, e.product_id, e.new_price)


async def on_stock_adjusted(conn: asyncpg.Connection, e: cat.StockAdjusted) -> None:
    await store.set_stock(conn, e.product_id, e.stock, e.available)


# ---------------------------------------------------------------------------------------- the saga

async def react(conn: asyncpg.Connection, envelope: Envelope, order_id: str,
                transition: Callable[[Order], list[EventPayload]]) -> Order | None:
    """Apply one incoming event to its order. Unknown orders and no-op transitions change nothing."""
    order = await store.load(conn, order_id, for_update=True)
    if order is None or order.city != envelope.city:
        log.warning("event for an order this city does not have; ignored", order_id=order_id)
        return None
    events = transition(order)
    if not order.changed:
        log.info("event does not apply in the current state; no-op", order_id=order_id, status=order.status.value)
        return order
    await store.save(conn, order)
    for event in events:
        await emit(conn, event, city=order.city, causation=envelope)
    return order


async def on_stock_reserved(conn: asyncpg.Connection, env: Envelope, e: cat.StockReserved) -> None:
    await react(conn, env, e.order_id, lambda o: o.stock_reserved())


async def on_stock_rejected(conn: asyncpg.Connection, env: Envelope, e: cat.StockRejected) -> None:
    await react(conn, env, e.order_id, lambda o: o.stock_rejected())


async def on_payment_requested(conn: asyncpg.Connection, env: Envelope, e: pay.PaymentRequested) -> None:
    await react(conn, env, e.order_id, lambda o: o.payment_requested(e.payment_id, e.qris, e.expires_at))


async def on_payment_succeeded(conn: asyncpg.Connection, env: Envelope, e: pay.PaymentSucceeded) -> None:
    await react(conn, env, e.order_id, lambda o: o.payment_succeeded(e.payment_id, e.amount))


async def on_payment_expired(conn: asyncpg.Connection, env: Envelope, e: pay.PaymentExpired) -> None:
    await react(conn, env, e.order_id, lambda o: o.payment_expired(e.payment_id))


async def on_payment_refunded(conn: asyncpg.Connection, env: Envelope, e: pay.PaymentRefunded) -> None:
    await react(conn, env, e.order_id, lambda o: o.payment_refunded(e.amount, e.reason))


async def on_payment_failed(conn: asyncpg.Connection, env: Envelope, e: pay.PaymentFailed) -> None:
    await react(conn, env, e.order_id, lambda o: o.payment_failed())


# ---------------------------------------------------------------------------------------- commands

@dataclass(frozen=True)
class CheckoutRequest:
    market_id: str
    items: list[CartItem]
    fulfilment: Fulfilment


async def place_order(pool: asyncpg.Pool, city: str, delivery_fee: int, buyer_id: str, request: CheckoutRequest,
                      raw_body: Any, idempotency_key: str | None, correlation_id: str,
                      render: Callable[[Order], dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Validate against the projections, create the order and OrderPlaced in one transaction.

    A repeated ``Idempotency-Key`` answers the first request's response; an invalid cart raises and the
    transaction rolls back, so nothing is created.
    """
    scope = f"checkout:{city}:{buyer_id}"
    body_hash = request_hash(raw_body)
    async with pool.acquire() as conn, conn.transaction():
        replay = await begin(conn, scope, idempotency_key, body_hash)
        if replay is not None:
            return replay[0], dict(replay[1])
        products = await store.products(conn, [i.product_id for i in request.items])
        hub = await store.hub(conn, request.fulfilment.rw_hub_id)
        known = await store.market_known(conn, city, request.market_id)
        try:
            lines = plan_lines(city, request.market_id, request.items, products, request.fulfilment, hub, known)
        except CheckoutRejected as exc:
            raise Problem(exc.status, exc.detail, code=exc.code) from None
        order, events = Order.place(order_id=new_id(), city=city, buyer_id=buyer_id, market_id=request.market_id,
                                    fulfilment=request.fulfilment, lines=lines, delivery_fee=delivery_fee)
        await store.insert(conn, order)
        for event in events:
            await emit(conn, event, city=city, correlation_id=correlation_id)
        response = render(order)
        await remember(conn, scope, idempotency_key, body_hash, 201, response)
        return 201, response


async def command(pool: asyncpg.Pool, city: str, order_id: str, correlation_id: str,
                  authorise: Callable[[Order], None], act: Callable[[Order], Any]) -> tuple[Order, Any]:
    """Run a person's command on an order: lock, authorise, act (domain), save, emit; 409 on a bad state."""
    async with pool.acquire() as conn, conn.transaction():
        order = await store.load(conn, order_id, for_update=True)
        if order is None or order.city != city:
            raise Problem(404, "Pesanan tidak ditemukan. / Order not found.", code="order-not-found")
        authorise(order)
        try:
            result = act(order)
        except OrderConflict as exc:
            raise Problem(409, exc.detail, code=exc.code) from None
        # act returns its events, or (PickupResult, events) for a pickup
        events: list[EventPayload] = result[1] if isinstance(result, tuple) and isinstance(result[0], PickupResult) \
            else result
        await store.save(conn, order)
        for event in events:
            await emit(conn, event, city=city, correlation_id=correlation_id)
        return order, result
