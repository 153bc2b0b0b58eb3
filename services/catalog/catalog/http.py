"""Catalog HTTP: declarations only — wire model → command → ``ctx.run(handlers.fn, command)`` or
``ctx.read(queries.fn, ...)`` → render. ``ctx: CityContext`` resolves the city once and carries the request's
correlation id into every event the request causes.

Public (no token): markets, products (search), RW hubs, the daily price list. Vendor token: own products and
profile. Market admin (token with ``market_id``): vendors of that market. City admin: markets, stalls, RW hubs,
and every market's vendors. Another city's resources answer 404; another city's token 403.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from catalog import domain, handlers, policy, prices, queries, wire
from catalog.handlers import (
    ChangeVendorStatus,
    CreateProduct,
    DelistProduct,
    EditMarket,
    EditProduct,
    EditRwHub,
    EditVendorProfile,
    NewMarket,
    NewRwHub,
    NewStall,
    OnboardVendor,
    SetPrice,
    SetStock,
)
from catalog.search import parse_query
from shared.auth import Principal, require
from shared.errors import Invalid
from shared.http import CityContext, file_answer
from shared.measure import MAX_STEP_GRAMS, SoldBy

router = APIRouter()

ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
Id = Annotated[str, Path(min_length=1, max_length=80, pattern=ID_PATTERN)]
QueryId = Annotated[str | None, Query(max_length=80, pattern=ID_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
ShortText = Annotated[str, Field(max_length=200)]
Category = Literal[domain.CATEGORIES]  # type: ignore[valid-type]
Unit = Literal[domain.UNITS]  # type: ignore[valid-type]
Price = Annotated[int, Field(ge=domain.MIN_PRICE, le=domain.MAX_PRICE, description="integer rupiah")]
Stock = Annotated[int, Field(ge=0, le=domain.MAX_STOCK)]
PerOrder = Annotated[int, Field(ge=1, le=domain.MAX_PER_ORDER)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 \-]{5,19}$")]
HourMinute = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Rw = Annotated[str, Field(pattern=r"^[0-9]{1,3}$")]
HallCapacity = Annotated[int, Field(ge=1, le=10_000, description="people the hub's hall seats")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, v: Any) -> Any:
        # Postgres text cannot hold NUL; other control characters have no business in names either.
        if isinstance(v, str) and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in v):
            raise ValueError("control characters are not allowed")
        return v


def _photo_url(v: str | None) -> str | None:
    if v is not None and not re.match(r"^https?://[^\s]{3,490}$", v):
        raise ValueError("photo_url must be an http(s) URL of at most 500 characters")
    return v


class ProductIn(Strict):
    name: Name
    category: Category
    unit: Unit
    price: Price = Field(description="rupiah per unit; per kg when sold by weight")
    sold_by: SoldBy = Field("piece", description="`weight`: price per kg; stock, limits and quantities in grams")
    step_grams: int | None = Field(None, ge=1, le=MAX_STEP_GRAMS,
                                   description="sold by weight: every quantity is a multiple of it (default 250)")
    stock: Stock | None = Field(None, description="counted stock (grams when sold by weight); omit/null for fresh "
                                                  "goods sold by availability")
    available: bool = True
    min_per_order: PerOrder = 1
    max_per_order: PerOrder | None = None
    photo_url: str | None = None
    description: str = Field("", max_length=1000)

    _photo = field_validator("photo_url")(_photo_url)

    @model_validator(mode="after")
    def _limits(self) -> ProductIn:
        if self.max_per_order is not None and self.max_per_order < self.min_per_order:
            raise ValueError("max_per_order must be >= min_per_order")
        return self


class ProductPatch(Strict):
    name: Name | None = None
    category: Category | None = None
    unit: Unit | None = None
    step_grams: int | None = Field(None, ge=1, le=MAX_STEP_GRAMS)
    min_per_order: PerOrder | None = None
    max_per_order: PerOrder | None = None
    photo_url: str | None = None
    description: str | None = Field(None, max_length=1000)
    active: bool | None = None

    _photo = field_validator("photo_url")(_photo_url)

    def changes(self) -> dict[str, Any]:
        nullable = {"max_per_order", "photo_url"}
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None or k in nullable}


class PriceIn(Strict):
    price: Price


class StockIn(Strict):
    stock: Stock | None = None
    available: bool | None = None

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "stock" in self.model_fields_set:
            out["stock"] = self.stock
        if self.available is not None:
            out["available"] = self.available
        if not out:
            raise Invalid("empty-change", "Isi stok atau status tersedia. / Give stock and/or available.")
        return out


class MarketIn(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")
    name: Name
    address: ShortText = ""
    kelurahan: str | None = Field(None, max_length=80)
    opens_at: HourMinute = "05:00"
    closes_at: HourMinute = "14:00"
    description: str = Field("", max_length=1000)


class MarketPatch(Strict):
    name: Name | None = None
    address: ShortText | None = None
    kelurahan: str | None = Field(None, max_length=80)
    opens_at: HourMinute | None = None
    closes_at: HourMinute | None = None
    description: str | None = Field(None, max_length=1000)
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}


class StallIn(Strict):
    kind: Literal[domain.STALL_KINDS]  # type: ignore[valid-type]
    block: str = Field("", max_length=20)
    number: str = Field(min_length=1, max_length=20)


class RwHubIn(Strict):
    kelurahan: str = Field(min_length=1, max_length=80)
    rw: Rw
    name: Name | None = None
    address: ShortText = ""
    bandwidth_mbps: int | None = Field(None, ge=1, le=100_000)
    opens_at: HourMinute | None = None
    closes_at: HourMinute | None = None
    hall_capacity: HallCapacity | None = None


class RwHubPatch(Strict):
    name: Name | None = None
    address: ShortText | None = None
    bandwidth_mbps: int | None = Field(None, ge=1, le=100_000)
    active: bool | None = None
    kelurahan: str | None = Field(None, min_length=1, max_length=80)
    rw: Rw | None = None
    opens_at: HourMinute | None = None
    closes_at: HourMinute | None = None
    hall_capacity: HallCapacity | None = None

    def changes(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}
        if "rw" in out:
            out["rw"] = out["rw"].zfill(2)[-3:]
        return out


class VendorIn(Strict):
    name: Name
    owner_name: Name
    phone: Phone | None = None
    whatsapp: Phone | None = None
    categories: list[Category] = Field(default_factory=list, max_length=len(domain.CATEGORIES))
    stall_id: str | None = Field(None, max_length=80)
    activate: bool = Field(False, description="checked in person: active at once, so identity grants `vendor` "
                                              "to the phone (required then)")


class VendorPatch(Strict):
    name: Name | None = None
    owner_name: Name | None = None
    phone: Phone | None = None
    whatsapp: Phone | None = None
    categories: list[Category] | None = Field(None, max_length=len(domain.CATEGORIES))
    stall_id: str | None = Field(None, max_length=80)

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}


class VendorActionIn(Strict):
    reason: str | None = Field(None, max_length=300)
    market_id: str | None = Field(None, max_length=80)
    stall_id: str | None = Field(None, max_length=80)


# ---- rendering ----------------------------------------------------------------------------------------

def _product_out(p: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in p.items() if k not in ("rank", "total", "vendor_status")}
    out["available_now"] = domain.is_available(p["stock"], p["available"], p["active"])
    return out


def _vendor_public(v: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "city", "market_id", "stall_id", "name", "owner_name", "whatsapp", "categories", "status",
            "trained", "certificate_code")
    return {k: v[k] for k in keep}


VendorP = Annotated[Principal, Depends(require("vendor"))]
MarketAdminP = Annotated[Principal, Depends(require("market_admin", "city_admin"))]
CityAdminP = Annotated[Principal, Depends(require("city_admin"))]


# ---- public -------------------------------------------------------------------------------------------

@router.get("/cities/{city}/product-options", response_model=wire.ProductOptions, tags=["public"])
async def product_options(ctx: CityContext) -> dict[str, Any]:
    return {"units": list(domain.UNITS), "categories": list(domain.CATEGORIES), "max_price": domain.MAX_PRICE}


@router.get("/cities/{city}/markets", response_model=wire.MarketList, tags=["public"])
async def list_markets(ctx: CityContext) -> dict[str, Any]:
    return {"items": await ctx.read(queries.list_markets, ctx.slug)}


@router.get("/cities/{city}/markets/{market_id}", response_model=wire.MarketDetail, tags=["public"])
async def get_market(ctx: CityContext, market_id: Id) -> dict[str, Any]:
    market, vendors = await ctx.read(queries.market_with_vendors, ctx.slug, market_id)
    return {**market, "vendors": [_vendor_public(v) for v in vendors],
            "categories": sorted({c for v in vendors for c in v["categories"]})}


@router.get("/cities/{city}/markets/{market_id}/stalls", response_model=wire.StallList, tags=["public"])
async def list_stalls(ctx: CityContext, market_id: Id) -> dict[str, Any]:
    return {"items": await ctx.read(queries.market_stalls, ctx.slug, market_id)}


@router.get("/cities/{city}/markets/{market_id}/prices", response_model=wire.DailyPriceList, tags=["public"])
async def daily_price_list(ctx: CityContext, market_id: Id,
                           day: Annotated[date | None, Query(alias="date")] = None) -> dict[str, Any]:
    """Today's (or ``date``'s) price per product of the market, with the change from the day before."""
    day = day or domain.local_today(ctx.city.tz)
    domain.check_price_day(day)
    start, end = domain.local_day_bounds(day, ctx.city.tz)
    market, rows = await ctx.read(queries.daily_prices, ctx.slug, market_id, start, end)
    items = []
    for r in rows:
        if r["price"] is None:
            continue  # not listed yet on that day
        diff, pct, trend = domain.price_change(r["price"], r["previous_price"])
        commodity = prices.commodity_of(r["name"], r["unit"])
        items.append({**r, "change": diff, "change_percent": pct, "trend": trend,
                      "commodity": commodity.slug if commodity else None})
    return {"market_id": market_id, "market_name": market["name"], "date": day.isoformat(),
            "timezone": ctx.city.timezone, "items": items}


@router.get("/cities/{city}/products", response_model=wire.ProductPage, tags=["public"])
async def search_products(
    ctx: CityContext,
    q: Annotated[str | None, Query(max_length=200)] = None,  # folded to letters and digits: NUL-safe
    market: QueryId = None,
    category: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z]+$")] = None,
    vendor: QueryId = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    rows, total = await ctx.read(queries.search, ctx.slug, q, market_id=market, category=category,
                                 vendor_id=vendor, limit=page_size, offset=(page - 1) * page_size)
    return {"items": [_product_out(r) for r in rows], "page": page, "page_size": page_size, "total": total,
            "query": q or "", "terms": [t.word for t in parse_query(q)]}


@router.get("/cities/{city}/products/{product_id}", response_model=wire.ProductDetail, tags=["public"])
async def get_product(ctx: CityContext, product_id: Id) -> dict[str, Any]:
    product = await ctx.read(queries.product_detail, ctx.slug, product_id)
    return {**_product_out(product), "price_history": product["price_history"]}


@router.get("/cities/{city}/vendors/{vendor_id}", response_model=wire.PublicVendor, tags=["public"])
async def get_vendor(ctx: CityContext, vendor_id: Id) -> dict[str, Any]:
    return _vendor_public(await ctx.read(queries.public_vendor, ctx.slug, vendor_id))


@router.get("/cities/{city}/rw-hubs", response_model=wire.RwHubList, tags=["public"])
async def list_rw_hubs(ctx: CityContext, kelurahan: Annotated[
        str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None) -> dict[str, Any]:
    return {"items": await ctx.read(queries.list_rw_hubs, ctx.slug, kelurahan=kelurahan)}


@router.get("/cities/{city}/rw-hubs/{hub_id}", response_model=wire.RwHub, tags=["public"])
async def get_rw_hub(ctx: CityContext, hub_id: Id) -> dict[str, Any]:
    return await ctx.read(queries.rw_hub, ctx.slug, hub_id)


# ---- vendor -------------------------------------------------------------------------------------------

@router.get("/cities/{city}/me/vendor", response_model=wire.Vendor, tags=["vendor"])
async def my_vendor(who: VendorP, ctx: CityContext) -> dict[str, Any]:
    return await ctx.read(queries.own_vendor, ctx.slug, who)


@router.patch("/cities/{city}/me/vendor", response_model=wire.Vendor, tags=["vendor"])
async def edit_my_vendor(who: VendorP, ctx: CityContext, body: VendorPatch) -> dict[str, Any]:
    return await ctx.run(handlers.edit_vendor_profile, EditVendorProfile(who, body.changes()))


@router.get("/cities/{city}/me/products", response_model=wire.ProductList, tags=["vendor"])
async def my_products(who: VendorP, ctx: CityContext) -> dict[str, Any]:
    return {"items": [_product_out(p) for p in await ctx.read(queries.own_products, ctx.slug, who)]}


@router.post("/cities/{city}/products", response_model=wire.Product, status_code=201, tags=["vendor"])
async def create_product(who: VendorP, ctx: CityContext, body: ProductIn) -> dict[str, Any]:
    data = body.model_dump()
    data.update(domain.check_sold_by(data))
    return _product_out(await ctx.run(handlers.create_product, CreateProduct(who, data)))


@router.patch("/cities/{city}/products/{product_id}", response_model=wire.Product, tags=["vendor"])
async def edit_product(who: VendorP, ctx: CityContext, product_id: Id, body: ProductPatch) -> dict[str, Any]:
    return _product_out(await ctx.run(handlers.edit_product, EditProduct(who, product_id, body.changes())))


@router.put("/cities/{city}/products/{product_id}/price", response_model=wire.Product, tags=["vendor"])
async def set_price(who: VendorP, ctx: CityContext, product_id: Id, body: PriceIn) -> dict[str, Any]:
    return _product_out(await ctx.run(handlers.set_price, SetPrice(who, product_id, body.price)))


@router.put("/cities/{city}/products/{product_id}/stock", response_model=wire.Product, tags=["vendor"])
async def set_stock(who: VendorP, ctx: CityContext, product_id: Id, body: StockIn) -> dict[str, Any]:
    return _product_out(await ctx.run(handlers.set_stock, SetStock(who, product_id, body.changes())))


@router.delete("/cities/{city}/products/{product_id}", status_code=204, tags=["vendor"])
async def delist_product(who: VendorP, ctx: CityContext, product_id: Id) -> Response:
    await ctx.run(handlers.delist_product, DelistProduct(who, product_id))
    return Response(status_code=204)


# ---- market admin (and city admin) --------------------------------------------------------------------

@router.get("/cities/{city}/admin/vendors", response_model=wire.VendorList, tags=["market admin"])
async def admin_vendors(who: MarketAdminP, ctx: CityContext,
                        status: Annotated[Literal[domain.VENDOR_STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
                        market: QueryId = None) -> dict[str, Any]:
    scope = policy.vendor_list_scope(who, market)
    return {"items": await ctx.read(queries.list_vendors, ctx.slug, market_id=scope, status=status)}


@router.get("/cities/{city}/admin/vendor-drafts", response_model=wire.VendorList, tags=["market admin"])
async def vendor_drafts(who: MarketAdminP, ctx: CityContext) -> dict[str, Any]:
    """Drafts opened for trained business owners; they have no market until an admin verifies them."""
    policy.admin_market(who)
    return {"items": await ctx.read(queries.list_vendors, ctx.slug, drafts_only=True)}


@router.post("/cities/{city}/markets/{market_id}/vendors",
             response_model=wire.Vendor, status_code=201, tags=["market admin"])
async def onboard_vendor(who: MarketAdminP, ctx: CityContext, market_id: Id, body: VendorIn) -> dict[str, Any]:
    return await ctx.run(handlers.onboard_vendor, OnboardVendor(who, market_id, body.model_dump(exclude={"activate"}),
                                                                activate=body.activate))


@router.post("/cities/{city}/vendors/{vendor_id}/{action}", response_model=wire.Vendor, tags=["market admin"])
async def vendor_action(who: MarketAdminP, ctx: CityContext, vendor_id: Id,
                        action: Literal["verify", "activate", "suspend"],
                        body: VendorActionIn | None = None) -> dict[str, Any]:
    body = body or VendorActionIn()
    return await ctx.run(handlers.change_vendor_status, ChangeVendorStatus(
        who, vendor_id, action, reason=body.reason, market_id=body.market_id, stall_id=body.stall_id))


@router.get("/cities/{city}/reservations/{order_id}", response_model=wire.Reservation, tags=["market admin"])
async def get_reservation(who: CityAdminP, ctx: CityContext, order_id: Id) -> dict[str, Any]:
    return await ctx.read(queries.reservation, ctx.slug, order_id)


# ---- city admin ---------------------------------------------------------------------------------------

@router.post("/cities/{city}/markets", response_model=wire.Market, status_code=201, tags=["city admin"])
async def create_market(who: CityAdminP, ctx: CityContext, body: MarketIn) -> dict[str, Any]:
    return await ctx.run(handlers.create_market, NewMarket(body.slug, body.model_dump(), who))


@router.patch("/cities/{city}/markets/{market_id}", response_model=wire.Market, tags=["city admin"])
async def edit_market(who: CityAdminP, ctx: CityContext, market_id: Id, body: MarketPatch) -> dict[str, Any]:
    return await ctx.run(handlers.update_market, EditMarket(market_id, body.changes(), who))


@router.post("/cities/{city}/markets/{market_id}/stalls",
             response_model=wire.Stall, status_code=201, tags=["city admin"])
async def create_stall(who: CityAdminP, ctx: CityContext, market_id: Id, body: StallIn) -> dict[str, Any]:
    return await ctx.run(handlers.create_stall, NewStall(market_id, body.model_dump(), who))


@router.post("/cities/{city}/rw-hubs", response_model=wire.RwHub, status_code=201, tags=["city admin"])
async def create_rw_hub(who: CityAdminP, ctx: CityContext, body: RwHubIn) -> dict[str, Any]:
    return await ctx.run(handlers.create_rw_hub, NewRwHub(body.model_dump(), who))


@router.patch("/cities/{city}/rw-hubs/{hub_id}", response_model=wire.RwHub, tags=["city admin"])
async def edit_rw_hub(who: CityAdminP, ctx: CityContext, hub_id: Id, body: RwHubPatch) -> dict[str, Any]:
    return await ctx.run(handlers.update_rw_hub, EditRwHub(hub_id, body.changes(), who))


# ---- open price information (issue #14) -------------------------------------------------------------

async def _city_prices(ctx: CityContext, day: date | None) -> tuple[date, list[dict[str, Any]]]:
    day = day or domain.local_today(ctx.city.tz)
    domain.check_price_day(day)
    days = [day - timedelta(days=n) for n in range(prices.HISTORY_DAYS - 1, -1, -1)]
    day_ends = [(d, domain.local_day_bounds(d, ctx.city.tz)[1]) for d in days]
    window_start = domain.local_day_bounds(days[0], ctx.city.tz)[0]
    products = await ctx.read(queries.city_price_points, ctx.slug, window_start, day_ends[-1][1])
    return day, prices.city_prices(products, day_ends)


@router.get("/cities/{city}/open-data/prices.json", response_model=wire.OpenPrices, tags=["public"])
async def open_prices_json(ctx: CityContext, day: Annotated[date | None, Query(alias="date")] = None
                           ) -> dict[str, Any]:
    """Open data: per commodity (normalised name) the median, minimum and maximum price across the city's
    markets and vendors at the end of the day, yesterday's, the change of the median and 30 days of history.
    Fields: ``docs/catalog.md`` (open price information)."""
    day, items = await _city_prices(ctx, day)
    return {"city": ctx.slug, "city_name": ctx.city.name, "date": day.isoformat(), "timezone": ctx.city.timezone,
            "currency": "IDR", "licence": "CC BY 4.0", "items": items}


@router.get("/cities/{city}/open-data/prices.csv", tags=["public"], response_class=Response,
            responses=file_answer("text/csv"))
async def open_prices_csv(ctx: CityContext, day: Annotated[date | None, Query(alias="date")] = None) -> Response:
    """The same as ``prices.json`` without the history, one row per commodity; header ``prices.CSV_HEADER``."""
    day, items = await _city_prices(ctx, day)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(prices.csv_rows(ctx.slug, day, items))
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="harga-{ctx.slug}-{day.isoformat()}.csv"'})


# ---- back office (issue #13) --------------------------------------------------------------------------

class StallPatch(Strict):
    kind: Literal[domain.STALL_KINDS] | None = None  # type: ignore[valid-type]
    block: str | None = Field(None, max_length=20)
    number: str | None = Field(None, min_length=1, max_length=20)

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}


class StallAssignIn(Strict):
    stall_id: str | None = Field(None, max_length=80, pattern=ID_PATTERN, description="null: no stall")


@router.patch("/cities/{city}/markets/{market_id}/stalls/{stall_id}", response_model=wire.Stall, tags=["city admin"])
async def edit_stall(who: CityAdminP, ctx: CityContext, market_id: Id, stall_id: Id,
                     body: StallPatch) -> dict[str, Any]:
    return await ctx.run(handlers.update_stall, handlers.EditStall(who, market_id, stall_id, body.changes()))


@router.put("/cities/{city}/vendors/{vendor_id}/stall", response_model=wire.Vendor, tags=["market admin"])
async def assign_stall(who: MarketAdminP, ctx: CityContext, vendor_id: Id, body: StallAssignIn) -> dict[str, Any]:
    """Give a vendor a stall of its market (or none); a stall another vendor has is 409 ``stall-taken``."""
    return await ctx.run(handlers.assign_stall, handlers.AssignStall(who, vendor_id, body.stall_id))


@router.get("/cities/{city}/admin/markets/{market_id}/audit", response_model=wire.MarketAudit, tags=["market admin"])
async def market_audit(who: MarketAdminP, ctx: CityContext, market_id: Id) -> dict[str, Any]:
    """The audit list of one market: the market, its stalls and its vendors (a market admin: their own only)."""
    policy.may_manage_market(who, market_id)
    return {"items": await ctx.read(queries.market_audit, ctx.slug, market_id)}


@router.get("/cities/{city}/admin/markets", response_model=wire.MarketList, tags=["city admin"])
async def admin_markets(who: CityAdminP, ctx: CityContext) -> dict[str, Any]:
    """Every market of the city, closed ones too (to reopen them)."""
    return {"items": await ctx.read(queries.list_markets, ctx.slug, include_inactive=True)}


@router.get("/cities/{city}/admin/rw-hubs", response_model=wire.RwHubList, tags=["city admin"])
async def admin_rw_hubs(who: CityAdminP, ctx: CityContext) -> dict[str, Any]:
    """Every RW hub of the city, inactive ones too."""
    return {"items": await ctx.read(queries.list_rw_hubs, ctx.slug, include_inactive=True)}
