"""Kafka subscribers of orders: decode → handler. Two consumer groups, so a burst of catalog edits never
delays the saga: ``orders.projections`` (catalog products, markets, RW hubs, vendors) and ``orders.saga``
(stock reservations and payments)."""

from __future__ import annotations

from orders import handlers, store
from shared.bus import EventBus, EventContext
from shared.events import catalog as cat
from shared.events import payments as pay


def register(bus: EventBus) -> None:
    projections = bus.consumer("projections", [cat.PRODUCT, cat.MARKET, cat.VENDOR])

    @projections.on(cat.ProductListed)
    async def product_listed(ctx: EventContext, e: cat.ProductListed) -> None:
        await handlers.on_product_listed(ctx.conn, ctx.city, e)

    @projections.on(cat.ProductUpdated)
    async def product_updated(ctx: EventContext, e: cat.ProductUpdated) -> None:
        await handlers.on_product_updated(ctx.conn, ctx.city, e)

    @projections.on(cat.PriceChanged)
    async def price_changed(ctx: EventContext, e: cat.PriceChanged) -> None:
        await handlers.on_price_changed(ctx.conn, e)

    @projections.on(cat.StockAdjusted)
    async def stock_adjusted(ctx: EventContext, e: cat.StockAdjusted) -> None:
        await handlers.on_stock_adjusted(ctx.conn, e)

    @projections.on(cat.ProductDelisted)
    async def product_delisted(ctx: EventContext, e: cat.ProductDelisted) -> None:
        await store.delist(ctx.conn, e.product_id)

    @projections.on(cat.MarketOpened)
    async def market_opened(ctx: EventContext, e: cat.MarketOpened) -> None:
        await store.upsert_market(ctx.conn, ctx.city, e.market_id, e.name, e.kelurahan, e.active)

    @projections.on(cat.RwHubRegistered)
    async def rw_hub_registered(ctx: EventContext, e: cat.RwHubRegistered) -> None:
        await store.upsert_hub(ctx.conn, ctx.city, e)

    @projections.on(cat.VendorActivated)
    async def vendor_activated(ctx: EventContext, e: cat.VendorActivated) -> None:
        await store.set_vendor(ctx.conn, ctx.city, e.vendor_id, suspended=False, market_id=e.market_id, name=e.name)

    @projections.on(cat.VendorSuspended)
    async def vendor_suspended(ctx: EventContext, e: cat.VendorSuspended) -> None:
        await store.set_vendor(ctx.conn, ctx.city, e.vendor_id, suspended=True)

    saga = bus.consumer("saga", [cat.RESERVATION, pay.PAYMENT])

    @saga.on(cat.StockReserved)
    async def stock_reserved(ctx: EventContext, e: cat.StockReserved) -> None:
        await handlers.on_stock_reserved(ctx.conn, ctx.envelope, e)

    @saga.on(cat.StockRejected)
    async def stock_rejected(ctx: EventContext, e: cat.StockRejected) -> None:
        await handlers.on_stock_rejected(ctx.conn, ctx.envelope, e)

    @saga.on(pay.PaymentRequested)
    async def payment_requested(ctx: EventContext, e: pay.PaymentRequested) -> None:
        await handlers.on_payment_requested(ctx.conn, ctx.envelope, e)

    @saga.on(pay.PaymentSucceeded)
    async def payment_succeeded(ctx: EventContext, e: pay.PaymentSucceeded) -> None:
        await handlers.on_payment_succeeded(ctx.conn, ctx.envelope, e)

    @saga.on(pay.PaymentExpired)
    async def payment_expired(ctx: EventContext, e: pay.PaymentExpired) -> None:
        await handlers.on_payment_expired(ctx.conn, ctx.envelope, e)

    @saga.on(pay.PaymentRefunded)
    async def payment_refunded(ctx: EventContext, e: pay.PaymentRefunded) -> None:
        await handlers.on_payment_refunded(ctx.conn, ctx.envelope, e)

    @saga.on(pay.PaymentFailed)
    async def payment_failed(ctx: EventContext, e: pay.PaymentFailed) -> None:
        await handlers.on_payment_failed(ctx.conn, ctx.envelope, e)
