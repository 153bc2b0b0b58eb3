"""Events the catalog service emits."""

from __future__ import annotations

from datetime import datetime

from shared.envelope import EventPayload, event
from shared.events.common import LineRef, OrderLine, RejectedLine, Rupiah
from shared.measure import SoldBy

VENDOR = "catalog.vendor.v1"
PRODUCT = "catalog.product.v1"
RESERVATION = "catalog.reservation.v1"
MARKET = "catalog.market.v1"
# Compacted state topics (deploy/topics.toml): the last record per key is the aggregate as it is now, so a
# projection can be rebuilt from offset 0 at any age (`pasarkota projections rebuild`). catalog.market.v1 is
# compacted too: its two events are already whole snapshots. The change topics above keep their history.
PRODUCT_STATE = "catalog.product-state.v1"
VENDOR_STATE = "catalog.vendor-state.v1"


@event("MarketOpened", 1, MARKET, key="market_id")
class MarketOpened(EventPayload):
    """A market (or its details) as the other services should know it; re-emitted on changes."""

    market_id: str
    name: str
    kelurahan: str | None = None
    active: bool = True
    address: str | None = None


@event("RwHubRegistered", 1, MARKET, key="rw_hub_id")
class RwHubRegistered(EventPayload):
    """An RW internet hub (pickup point and training venue); re-emitted on changes."""

    rw_hub_id: str
    name: str
    kelurahan: str
    rw: str
    address: str
    active: bool = True
    bandwidth_mbps: int | None = None
    opens_at: str | None = None  # the city's internet point: opening hours (HH:MM, local time) ...
    closes_at: str | None = None
    hall_capacity: int | None = None  # ... and how many people its hall seats (a training venue)


@event("VendorActivated", 1, VENDOR, key="vendor_id")
class VendorActivated(EventPayload):
    vendor_id: str
    market_id: str
    name: str
    participant_id: str | None = None
    phone: str | None = None  # the vendor's phone (08…): identity grants `vendor` to its account; new-order messages
    stall: str | None = None  # e.g. "Los A-01": where a buyer picks up at the stall
    invited: bool = False  # a market admin added the vendor by phone just now: notifications sends the welcome


@event("VendorSuspended", 1, VENDOR, key="vendor_id")
class VendorSuspended(EventPayload):
    vendor_id: str
    reason: str


@event("VendorDraftOpened", 1, VENDOR, key="vendor_id")
class VendorDraftOpened(EventPayload):
    vendor_id: str
    participant_id: str
    owner_name: str


@event("VendorTrainedBadgeGranted", 1, VENDOR, key="vendor_id")
class VendorTrainedBadgeGranted(EventPayload):
    vendor_id: str
    certificate_code: str
    participant_id: str


@event("ProductListed", 1, PRODUCT, key="product_id")
class ProductListed(EventPayload):
    product_id: str
    vendor_id: str
    market_id: str
    name: str
    category: str
    unit: str
    price: Rupiah
    min_per_order: int = 1
    max_per_order: int | None = None
    stock: int | None = None
    available: bool = True
    photo_url: str | None = None
    vendor_name: str | None = None
    sold_by: SoldBy = "piece"  # "weight": price per kg; stock, limits and quantities in grams (shared.measure)
    step_grams: int | None = None


@event("ProductUpdated", 1, PRODUCT, key="product_id")
class ProductUpdated(EventPayload):
    """A full snapshot after an edit (name, unit, limits, activation), so projections never drift."""

    product_id: str
    vendor_id: str
    market_id: str
    name: str
    category: str
    unit: str
    price: Rupiah
    min_per_order: int = 1
    max_per_order: int | None = None
    active: bool = True
    stock: int | None = None
    available: bool = True
    photo_url: str | None = None
    vendor_name: str | None = None
    sold_by: SoldBy = "piece"  # "weight": price per kg; stock, limits and quantities in grams (shared.measure)
    step_grams: int | None = None


@event("PriceChanged", 1, PRODUCT, key="product_id")
class PriceChanged(EventPayload):
    product_id: str
    old_price: Rupiah
    new_price: Rupiah


@event("StockAdjusted", 1, PRODUCT, key="product_id")
class StockAdjusted(EventPayload):
    product_id: str
    stock: int | None
    available: bool


@event("ProductDelisted", 1, PRODUCT, key="product_id")
class ProductDelisted(EventPayload):
    product_id: str


@event("StockReserved", 1, RESERVATION, key="order_id")
class StockReserved(EventPayload):
    order_id: str
    lines: list[OrderLine]
    expires_at: datetime


@event("StockRejected", 1, RESERVATION, key="order_id")
class StockRejected(EventPayload):
    order_id: str
    rejected: list[RejectedLine]


@event("StockCommitted", 1, RESERVATION, key="order_id")
class StockCommitted(EventPayload):
    order_id: str
    lines: list[LineRef]


@event("StockReleased", 1, RESERVATION, key="order_id")
class StockReleased(EventPayload):
    """A held reservation given back (cancelled, payment expired, deadline passed), or a committed one
    restocked after a paid order was cancelled (``restocked`` true)."""

    order_id: str
    reason: str
    lines: list[LineRef] | None = None
    restocked: bool = False


@event("ProductStateChanged", 1, PRODUCT_STATE, key="product_id")
class ProductStateChanged(EventPayload):
    """The whole product as it is after a change (one per product per transaction, written by the kernel's unit
    of work beside the change events of catalog.product.v1). ``active`` false: delisted."""

    product_id: str
    vendor_id: str
    market_id: str
    name: str
    category: str
    unit: str
    price: Rupiah
    min_per_order: int = 1
    max_per_order: int | None = None
    active: bool = True
    stock: int | None = None
    available: bool = True
    photo_url: str | None = None
    vendor_name: str | None = None
    sold_by: SoldBy = "piece"
    step_grams: int | None = None


@event("VendorStateChanged", 1, VENDOR_STATE, key="vendor_id")
class VendorStateChanged(EventPayload):
    """The vendor as it is after a change: status (draft, pending, active, suspended), market, shop name, the
    *Terlatih* badge. No phone or owner name: a compacted topic keeps its last record without end."""

    vendor_id: str
    market_id: str | None = None
    name: str
    status: str
    trained: bool = False
    participant_id: str | None = None
