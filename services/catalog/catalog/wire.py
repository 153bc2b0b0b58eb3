"""What catalog's routes answer: one pydantic model per shape, declared as the routes' ``response_model``.

Every key the read side and the use cases return is listed here — a response model drops keys it does not
know, and the portal reads these answers. Money is integer rupiah; timestamps keep the ``isoformat()`` the
routes always sent (``+00:00``, not pydantic's ``Z``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from shared.audit import AuditRow
from shared.measure import SoldBy
from shared.wire import Answer, Timestamp

Rupiah = Annotated[int, Field(description="integer rupiah")]
HourMinute = Annotated[str, Field(description="local time HH:MM")]
StallKind = Literal["blok", "los", "kios"]
VendorStatus = Literal["draft", "pending", "active", "suspended"]


Day = date  # a field named ``date`` cannot be annotated ``date`` itself



# ---- markets, stalls, RW hubs -------------------------------------------------------------------------

MARKET_EXAMPLE: JsonDict = {
    "id": "b6654f7d-32f4-5ad1-a63c-ae0d421ded1c", "city": "cimahi", "slug": "pasar-atas-baru",
    "name": "Pasar Atas Baru", "address": "Jl. Pasar Atas, Cimahi Tengah", "kelurahan": "Cimahi",
    "opens_at": "04:00", "closes_at": "16:00", "description": "", "active": True,
    "created_at": "2026-11-01T00:00:00+00:00"}


class Market(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [MARKET_EXAMPLE]})
    id: str
    city: str
    slug: str
    name: str
    address: str
    kelurahan: str | None
    opens_at: HourMinute
    closes_at: HourMinute
    description: str
    active: bool = Field(description="false: closed by the city admin (hidden from the public list)")
    created_at: Timestamp


class MarketListed(Market):
    model_config = ConfigDict(json_schema_extra={"examples": [{**MARKET_EXAMPLE, "vendor_count": 8}]})
    vendor_count: int = Field(description="active vendors of the market")


class MarketList(Answer):
    items: list[MarketListed]


class Stall(Answer):
    id: str
    city: str
    market_id: str
    kind: StallKind
    block: str
    number: str


class StallListed(Stall):
    vendor_id: str | None = Field(description="the vendor who has the stall, if any")


class StallList(Answer):
    items: list[StallListed]


class RwHub(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b0f0c52-4b7e-5f5e-9d3a-1f6a2f9c1a11", "city": "cimahi", "name": "Hub RW 05 Cimahi",
        "kelurahan": "Cimahi", "rw": "05", "address": "Balai RW 05, Jl. Pasar Atas", "bandwidth_mbps": 50,
        "active": True, "opens_at": "08:00", "closes_at": "20:00", "hall_capacity": 40}]})
    id: str
    city: str
    name: str
    kelurahan: str
    rw: str = Field(description="the RW number, zero-padded (\"05\")")
    address: str
    bandwidth_mbps: int | None
    active: bool
    opens_at: HourMinute | None
    closes_at: HourMinute | None
    hall_capacity: int | None = Field(description="people the hub's hall seats")


class RwHubList(Answer):
    items: list[RwHub]


# ---- vendors ------------------------------------------------------------------------------------------

class PublicVendor(Answer):
    """A vendor as the public sees it (no phone, no account links)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5f1b2c9e-8d3a-5b7c-a1e2-3f4d5c6b7a89", "city": "cimahi",
        "market_id": "b6654f7d-32f4-5ad1-a63c-ae0d421ded1c", "stall_id": None, "name": "Sayur Segar Bu Sri",
        "owner_name": "Sri Mulyani", "whatsapp": "+6281234567890", "categories": ["sayur"], "status": "active",
        "trained": True, "certificate_code": "PK-CMH-2026-0012"}]})
    id: str
    city: str
    market_id: str | None
    stall_id: str | None
    name: str
    owner_name: str
    whatsapp: str | None
    categories: list[str]
    status: VendorStatus
    trained: bool = Field(description="finished a city training programme (a certificate)")
    certificate_code: str | None


class Vendor(PublicVendor):
    """A vendor as its owner and the market's admins see it."""
    phone: str | None
    participant_id: str | None = Field(description="the learning participant who opened this draft, if any")
    suspended_reason: str | None
    verified_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class VendorList(Answer):
    items: list[Vendor]


class MarketDetail(Market):
    vendors: list[PublicVendor] = Field(description="the market's active vendors")
    categories: list[str] = Field(description="every category the active vendors sell, sorted")


# ---- products -----------------------------------------------------------------------------------------

class Product(Answer):
    """A product as the use cases return it (the vendor's own view after a change)."""
    id: str
    city: str
    vendor_id: str
    market_id: str
    name: str
    description: str
    category: str
    unit: str
    price: Rupiah = Field(description="integer rupiah per unit; per kg when sold by weight")
    stock: int | None = Field(description="counted stock (grams when sold by weight); null: sold by availability")
    available: bool
    min_per_order: int
    max_per_order: int | None
    photo_url: str | None
    active: bool = Field(description="false: delisted")
    created_at: Timestamp
    updated_at: Timestamp
    sold_by: SoldBy
    step_grams: int | None = Field(description="sold by weight: every quantity is a multiple of it")
    available_now: bool = Field(description="a buyer can order it now (active, available, in stock)")


PRODUCT_EXAMPLE: JsonDict = {
    "id": "6a1d2f3e-4b5c-4d6e-8f70-8192a3b4c5d6", "city": "cimahi",
    "vendor_id": "5f1b2c9e-8d3a-5b7c-a1e2-3f4d5c6b7a89", "market_id": "b6654f7d-32f4-5ad1-a63c-ae0d421ded1c",
    "name": "Tomat Merah", "description": "", "category": "sayur", "unit": "kg", "price": 12000, "stock": 40000,
    "available": True, "min_per_order": 250, "max_per_order": None, "photo_url": None, "active": True,
    "created_at": "2026-11-01T00:00:00+00:00", "updated_at": "2026-12-02T23:10:00+00:00", "sold_by": "weight",
    "step_grams": 250, "available_now": True, "vendor_name": "Sayur Segar Bu Sri", "vendor_trained": True,
    "market_name": "Pasar Atas Baru"}


class ProductView(Product):
    """A product as buyers find it: with its vendor's and market's names."""
    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_EXAMPLE]})
    vendor_name: str
    vendor_trained: bool
    market_name: str


class ProductList(Answer):
    items: list[ProductView]


class PricePoint(Answer):
    price: Rupiah
    changed_at: Timestamp


class ProductDetail(ProductView):
    price_history: list[PricePoint] = Field(description="the last prices, newest first")


class ProductPage(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [PRODUCT_EXAMPLE], "page": 1, "page_size": 20, "total": 1, "query": "tomat",
        "terms": ["tomat"]}]})
    items: list[ProductView]
    page: int
    page_size: int
    total: int = Field(description="matching products on every page")
    query: str = Field(description="the free text as given")
    terms: list[str] = Field(description="the words the query was parsed into")


class ProductOptions(Answer):
    units: list[str]
    categories: list[str]
    max_price: Rupiah


# ---- prices -------------------------------------------------------------------------------------------

Trend = Literal["naik", "turun", "tetap", "baru", "tidak_ada"]


class DailyPrice(Answer):
    product_id: str
    name: str
    category: str
    unit: str
    sold_by: SoldBy
    vendor_id: str
    vendor_name: str
    price: Rupiah = Field(description="the day's price (the last set before the day ended)")
    previous_price: Rupiah | None = Field(description="the day before's; null: newly listed")
    change: Rupiah | None
    change_percent: float | None
    trend: Trend
    commodity: str | None = Field(description="the open-data commodity slug this product counts for, if any")


class DailyPriceList(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "market_id": "b6654f7d-32f4-5ad1-a63c-ae0d421ded1c", "market_name": "Pasar Atas Baru",
        "date": "2026-12-03", "timezone": "Asia/Jakarta", "items": [{
            "product_id": "6a1d2f3e-4b5c-4d6e-8f70-8192a3b4c5d6", "name": "Tomat Merah", "category": "sayur",
            "unit": "kg", "sold_by": "weight", "vendor_id": "5f1b2c9e-8d3a-5b7c-a1e2-3f4d5c6b7a89",
            "vendor_name": "Sayur Segar Bu Sri", "price": 12000, "previous_price": 11000, "change": 1000,
            "change_percent": 9.1, "trend": "naik", "commodity": "tomat"}]}]})
    market_id: str
    market_name: str
    date: Day
    timezone: str
    items: list[DailyPrice]


class PriceSummary(Answer):
    median: Rupiah
    min: Rupiah
    max: Rupiah
    products: int = Field(description="how many products' prices")


class PriceRange(Answer):
    median: Rupiah
    min: Rupiah
    max: Rupiah


class PriceDay(PriceRange):
    date: Day


class CommodityPrice(Answer):
    commodity: str
    name: str
    unit: str
    today: PriceSummary
    yesterday: PriceRange | None
    change: Rupiah | None = Field(description="today's median minus yesterday's")
    change_percent: float | None
    markets: int = Field(description="markets with a price for it")
    history: list[PriceDay] = Field(description="oldest first, days with a price only")


class OpenPrices(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "city": "cimahi", "city_name": "Cimahi", "date": "2026-12-03", "timezone": "Asia/Jakarta",
        "currency": "IDR", "licence": "CC BY 4.0", "items": [{
            "commodity": "cabai-rawit", "name": "Cabai rawit", "unit": "kg",
            "today": {"median": 60000, "min": 55000, "max": 65000, "products": 3},
            "yesterday": {"median": 58000, "min": 55000, "max": 62000}, "change": 2000, "change_percent": 3.4,
            "markets": 2, "history": [{"date": "2026-12-03", "median": 60000, "min": 55000, "max": 65000}]}]}]})
    city: str
    city_name: str
    date: Day
    timezone: str
    currency: Literal["IDR"]
    licence: str
    items: list[CommodityPrice]


# ---- reservations, audit ------------------------------------------------------------------------------

class ReservationLine(Answer):
    product_id: str
    quantity: int
    tracked: bool = Field(description="false: an availability-switch product, nothing to give back")
    returned: int = Field(description="quantity given back after a rejected line")


class Reservation(Answer):
    order_id: str
    city: str
    market_id: str | None
    status: Literal["held", "committed", "released", "restocked", "rejected"]
    expires_at: Timestamp | None
    reason: str | None
    created_at: Timestamp
    updated_at: Timestamp
    lines: list[ReservationLine]


class MarketAuditEntry(AuditRow):
    model_config = ConfigDict(extra="ignore")
    at: Timestamp
    label: str | None = Field(description="the market's, stall's or vendor's name as shown")


class MarketAudit(Answer):
    items: list[MarketAuditEntry]

