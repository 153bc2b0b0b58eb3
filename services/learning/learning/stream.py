"""Kafka subscribers of the learning service: decode → handler; nothing else.

- ``hubs``: RW hubs from catalog.market.v1 (venues of in-person sessions);
- ``funnel``: vendor drafts/badges/activations from catalog.vendor.v1 and completed orders from orders.order.v1,
  the only inputs of "became a vendor", "first sale" and "sold again within 30 days".
"""

from __future__ import annotations

from learning import handlers
from shared.bus import EventBus, EventContext
from shared.events.catalog import (
    MARKET,
    VENDOR,
    RwHubRegistered,
    VendorActivated,
    VendorDraftOpened,
    VendorSuspended,
    VendorTrainedBadgeGranted,
)
from shared.events.orders import ORDER, OrderCompleted


def register_consumers(bus: EventBus) -> None:
    hubs = bus.consumer("hubs", [MARKET])

    @hubs.on(RwHubRegistered)
    async def rw_hub_registered(ctx: EventContext, event: RwHubRegistered) -> None:
        await handlers.on_rw_hub(ctx.conn, ctx.city, event)

    funnel = bus.consumer("funnel", [VENDOR, ORDER])

    @funnel.on(VendorDraftOpened)
    async def vendor_draft_opened(ctx: EventContext, event: VendorDraftOpened) -> None:
        await handlers.on_vendor_event(ctx.conn, ctx.envelope, event)

    @funnel.on(VendorTrainedBadgeGranted)
    async def vendor_badge_granted(ctx: EventContext, event: VendorTrainedBadgeGranted) -> None:
        await handlers.on_vendor_event(ctx.conn, ctx.envelope, event)

    @funnel.on(VendorActivated)
    async def vendor_activated(ctx: EventContext, event: VendorActivated) -> None:
        await handlers.on_vendor_event(ctx.conn, ctx.envelope, event)

    @funnel.on(VendorSuspended)
    async def vendor_suspended(ctx: EventContext, event: VendorSuspended) -> None:
        await handlers.on_vendor_event(ctx.conn, ctx.envelope, event)

    @funnel.on(OrderCompleted)
    async def order_completed(ctx: EventContext, event: OrderCompleted) -> None:
        await handlers.on_order_completed(ctx.conn, ctx.envelope, event)
