"""Kafka consumers of the learning service: declarations only — each event type straight to its use case.

- ``hubs``: RW hubs from catalog.market.v1 (venues of in-person sessions);
- ``funnel``: vendor drafts/badges/activations from catalog.vendor.v1 and completed orders from orders.order.v1,
  the only inputs of "became a vendor", "first sale" and "sold again within 30 days".

The bus runs each handler as ``handle(uow, event)`` in the unit of work of its polled batch, scoped to the
event (``uow.city``, ``uow.causation``); see shared/bus.py.
"""

from __future__ import annotations

from learning import handlers
from shared.bus import EventBus
from shared.events.catalog import (
    MARKET,
    VENDOR,
    RwHubRegistered,
    VendorActivated,
    VendorDraftOpened,
    VendorSuspended,
    VendorTrainedBadgeGranted,
)
from shared.events.identity import ACCOUNT, AccountDeletionRequested
from shared.events.orders import ORDER, OrderCompleted


def register(bus: EventBus) -> None:
    hubs = bus.consumer("hubs", [MARKET])
    hubs.on(RwHubRegistered)(handlers.on_rw_hub)

    # RW hubs rebuilt from offset 0 of the compacted catalog.market.v1 (`pasarkota projections rebuild learning`);
    # the funnel is history (when a vendor was drafted, activated), not state: it has no rebuild
    bus.rebuild("catalog", [MARKET], tables=["rw_hubs"]).on(RwHubRegistered)(handlers.on_rw_hub)

    funnel = bus.consumer("funnel", [VENDOR, ORDER])
    funnel.on(VendorDraftOpened)(handlers.on_vendor_event)
    funnel.on(VendorTrainedBadgeGranted)(handlers.on_vendor_event)
    funnel.on(VendorActivated)(handlers.on_vendor_event)
    funnel.on(VendorSuspended)(handlers.on_vendor_event)
    funnel.on(OrderCompleted)(handlers.on_order_completed)

    accounts = bus.consumer("accounts", [ACCOUNT])
    accounts.on(AccountDeletionRequested)(handlers.on_account_deletion_requested)
