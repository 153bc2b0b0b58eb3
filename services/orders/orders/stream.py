"""Which event goes to which use case — declarations only. Every handler is ``handle(uow, event)``, the unit of
work scoped to the event (its city, correlation and causation).

Separate consumer groups, so a burst of catalog edits never delays the saga: ``orders.projections`` (catalog's
products, markets, RW hubs and vendors), ``orders.saga`` (stock reservations and payments) and
``orders.accounts`` (deletion requests from identity).
"""

from __future__ import annotations

from orders import handlers
from shared.bus import EventBus
from shared.events import catalog as cat
from shared.events import payments as pay
from shared.events.identity import ACCOUNT, AccountDeletionRequested


def register(bus: EventBus) -> None:
    projections = bus.consumer("projections", [cat.PRODUCT, cat.MARKET, cat.VENDOR])
    projections.on(cat.ProductListed)(handlers.on_product_listed)
    projections.on(cat.ProductUpdated)(handlers.on_product_updated)
    projections.on(cat.PriceChanged)(handlers.on_price_changed)
    projections.on(cat.StockAdjusted)(handlers.on_stock_adjusted)
    projections.on(cat.ProductDelisted)(handlers.on_product_delisted)
    projections.on(cat.MarketOpened)(handlers.on_market_opened)
    projections.on(cat.RwHubRegistered)(handlers.on_rw_hub_registered)
    projections.on(cat.VendorActivated)(handlers.on_vendor_activated)
    projections.on(cat.VendorSuspended)(handlers.on_vendor_suspended)

    # The same tables, rebuilt from offset 0 of catalog's compacted topics (`pasarkota projections rebuild orders`)
    rebuild = bus.rebuild("catalog", [cat.PRODUCT_STATE, cat.MARKET, cat.VENDOR_STATE],
                          tables=["product_view", "market_view", "rw_hub_view", "vendor_view"])
    rebuild.on(cat.ProductStateChanged)(handlers.on_product_state)
    rebuild.on(cat.MarketOpened)(handlers.on_market_opened)
    rebuild.on(cat.RwHubRegistered)(handlers.on_rw_hub_registered)
    rebuild.on(cat.VendorStateChanged)(handlers.on_vendor_state)

    saga = bus.consumer("saga", [cat.RESERVATION, pay.PAYMENT])
    for answer in handlers.SAGA_TRANSITIONS:  # one set-based handler: a polled batch is one run of it
        saga.on_batch(answer)(handlers.on_saga_events)

    accounts = bus.consumer("accounts", [ACCOUNT])
    accounts.on(AccountDeletionRequested)(handlers.on_account_deletion_requested)
