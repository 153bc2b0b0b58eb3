"""Catalog HTTP: validate, authorise, call a handler or a query; nothing else.

Public (no token): markets, products (search), RW hubs, the daily price list. Vendor token: own products and
profile. Market admin (token with ``market_id``): vendors of that market. City admin: markets, stalls, RW hubs,
and every market's vendors. Another city's resources answer 404; another city's token 403.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from structlog.contextvars import get_contextvars

from catalog import domain, handlers, store
from catalog.search import parse_query, query_phrases
from shared.auth import Principal, require
from shared.cities import get_city
from shared.problems import Problem

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
    price: Price
    stock: Stock | None = Field(None, description="counted stock; omit/null for fresh goods sold by availability")
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
            raise Problem(422, "Isi stok atau status tersedia. / Give stock and/or available.", code="empty-change")
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


class RwHubPatch(Strict):
    name: Name | None = None
    address: ShortText | None = None
    bandwidth_mbps: int | None = Field(None, ge=1, le=100_000)
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}


class VendorIn(Strict):
    name: Name
    owner_name: Name
    phone: Phone | None = None
    whatsapp: Phone | None = None
    categories: list[Category] = Field(default_factory=list, max_length=len(domain.CATEGORIES))
    stall_id: str | None = Field(None, max_length=80)


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


# ---- helpers ------------------------------------------------------------------------------------------

def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.kernel.db()


@asynccontextmanager
async def _tx(request: Request) -> AsyncIterator[tuple[asyncpg.Connection, handlers.Emit]]:
    city = request.path_params["city"]
    async with _pool(request).acquire() as conn, conn.transaction():
        yield conn, handlers.emitter(conn, city, get_contextvars().get("correlation_id"))


def _product_out(p: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in p.items() if k not in ("rank", "total", "vendor_status")}
    out["available_now"] = domain.is_available(p["stock"], p["available"], p["active"])
    return out


def _vendor_public(v: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "city", "market_id", "stall_id", "name", "owner_name", "whatsapp", "categories", "status",
            "trained", "certificate_code")
    return {k: v[k] for k in keep}


async def _own_vendor(conn: asyncpg.Connection, city: str, principal: Principal) -> dict[str, Any]:
    vendor = await store.get_vendor(conn, city, principal.vendor_id or "") if principal.vendor_id else None
    if vendor is None:
        raise Problem(403, "Token Anda tidak terhubung ke toko di kota ini. / Your token has no shop in this city.",
                      code="no-vendor")
    return vendor


def _admin_market(principal: Principal) -> str | None:
    """The market a market admin acts for; None for a city admin (all markets of their city)."""
    if principal.has("city_admin", "operator"):
        return None
    if not principal.market_id:
        raise Problem(403, "Token pengelola pasar tanpa market_id. / Market admin token has no market_id.",
                      code="no-market")
    return principal.market_id


VendorP = Annotated[Principal, Depends(require("vendor"))]
MarketAdminP = Annotated[Principal, Depends(require("market_admin", "city_admin"))]
CityAdminP = Annotated[Principal, Depends(require("city_admin"))]


# ---- public -------------------------------------------------------------------------------------------

@router.get("/cities/{city}/product-options", tags=["public"])
async def product_options(city: str) -> dict[str, Any]:
    get_city(city)
    return {"units": list(domain.UNITS), "categories": list(domain.CATEGORIES), "max_price": domain.MAX_PRICE}


@router.get("/cities/{city}/markets", tags=["public"])
async def list_markets(city: str, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        return {"items": await store.list_markets(conn, city)}


@router.get("/cities/{city}/markets/{market_id}", tags=["public"])
async def get_market(city: str, market_id: Id, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        market = await store.get_market(conn, city, market_id)
        if market is None:
            raise handlers.not_found("Pasar", market_id)
        vendors = await store.list_vendors(conn, city, market_id=market_id, status="active")
        market["vendors"] = [_vendor_public(v) for v in vendors]
        market["categories"] = sorted({c for v in vendors for c in v["categories"]})
        return market


@router.get("/cities/{city}/markets/{market_id}/stalls", tags=["public"])
async def list_stalls(city: str, market_id: Id, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        if await store.get_market(conn, city, market_id) is None:
            raise handlers.not_found("Pasar", market_id)
        return {"items": await store.list_stalls(conn, city, market_id)}


@router.get("/cities/{city}/markets/{market_id}/prices", tags=["public"])
async def daily_price_list(city: str, market_id: Id, request: Request,
                           day: Annotated[date | None, Query(alias="date")] = None) -> dict[str, Any]:
    """Today's (or ``date``'s) price per product of the market, with the change from the day before."""
    c = get_city(city)
    day = day or domain.local_today(c.tz)
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
        raise Problem(422, "Tanggal di luar jangkauan. / Date out of range.", code="date-out-of-range")
    start, end = domain.local_day_bounds(day, c.tz)
    async with _pool(request).acquire() as conn:
        market = await store.get_market(conn, city, market_id)
        if market is None:
            raise handlers.not_found("Pasar", market_id)
        rows = await store.daily_prices(conn, city, market_id, start, end)
    items = []
    for r in rows:
        if r["price"] is None:
            continue  # not listed yet on that day
        diff, pct, trend = domain.price_change(r["price"], r["previous_price"])
        items.append({**r, "change": diff, "change_percent": pct, "trend": trend})
    return {"market_id": market_id, "market_name": market["name"], "date": day.isoformat(),
            "timezone": c.timezone, "items": items}


@router.get("/cities/{city}/products", tags=["public"])
async def search_products(
    city: str, request: Request,
    q: Annotated[str | None, Query(max_length=200)] = None,  # folded to letters and digits: NUL-safe
    market: QueryId = None,
    category: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z]+$")] = None,
    vendor: QueryId = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    get_city(city)
    terms = parse_query(q)
    async with _pool(request).acquire() as conn:
        rows, total = await store.search_products(
            conn, city, terms, phrases=query_phrases(terms), market_id=market, category=category, vendor_id=vendor,
            limit=page_size, offset=(page - 1) * page_size)
    return {"items": [_product_out(r) for r in rows], "page": page, "page_size": page_size, "total": total,
            "query": q or "", "terms": [t.word for t in terms]}


@router.get("/cities/{city}/products/{product_id}", tags=["public"])
async def get_product(city: str, product_id: Id, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        product = await store.get_product(conn, city, product_id)
        if product is None or (not product["active"] or product["vendor_status"] != "active"):
            raise handlers.not_found("Produk", product_id)
        out = _product_out(product)
        out["price_history"] = await store.price_history(conn, city, product_id, limit=14)
        return out


@router.get("/cities/{city}/vendors/{vendor_id}", tags=["public"])
async def get_vendor(city: str, vendor_id: Id, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        vendor = await store.get_vendor(conn, city, vendor_id)
        if vendor is None or vendor["status"] != "active":
            raise handlers.not_found("Pedagang", vendor_id)
        return _vendor_public(vendor)


@router.get("/cities/{city}/rw-hubs", tags=["public"])
async def list_rw_hubs(city: str, request: Request, kelurahan: Annotated[
        str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        return {"items": await store.list_rw_hubs(conn, city, kelurahan=kelurahan)}


@router.get("/cities/{city}/rw-hubs/{hub_id}", tags=["public"])
async def get_rw_hub(city: str, hub_id: Id, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        hub = await store.get_rw_hub(conn, city, hub_id)
    if hub is None:
        raise handlers.not_found("Hub RW", hub_id)
    return hub


# ---- vendor -------------------------------------------------------------------------------------------

@router.get("/cities/{city}/me/vendor", tags=["vendor"])
async def my_vendor(city: str, principal: VendorP, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        return await _own_vendor(conn, city, principal)


@router.patch("/cities/{city}/me/vendor", tags=["vendor"])
async def edit_my_vendor(city: str, body: VendorPatch, principal: VendorP, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, _):
        vendor = await _own_vendor(conn, city, principal)
        return await handlers.edit_vendor_profile(conn, city, vendor["id"], body.changes())


@router.get("/cities/{city}/me/products", tags=["vendor"])
async def my_products(city: str, principal: VendorP, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        vendor = await _own_vendor(conn, city, principal)
        return {"items": [_product_out(p) for p in await store.vendor_products(conn, city, vendor["id"])]}


@router.post("/cities/{city}/products", status_code=201, tags=["vendor"])
async def create_product(city: str, body: ProductIn, principal: VendorP, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, emit):
        vendor = await _own_vendor(conn, city, principal)
        return _product_out(await handlers.create_product(conn, emit, city, vendor, body.model_dump()))


@router.patch("/cities/{city}/products/{product_id}", tags=["vendor"])
async def edit_product(city: str, product_id: Id, body: ProductPatch, principal: VendorP,
                       request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, emit):
        vendor = await _own_vendor(conn, city, principal)
        return _product_out(await handlers.edit_product(conn, emit, city, vendor, product_id, body.changes()))


@router.put("/cities/{city}/products/{product_id}/price", tags=["vendor"])
async def set_price(city: str, product_id: Id, body: PriceIn, principal: VendorP,
                    request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, emit):
        vendor = await _own_vendor(conn, city, principal)
        return _product_out(await handlers.set_price(conn, emit, city, vendor["id"], product_id, body.price))


@router.put("/cities/{city}/products/{product_id}/stock", tags=["vendor"])
async def set_stock(city: str, product_id: Id, body: StockIn, principal: VendorP,
                    request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, emit):
        vendor = await _own_vendor(conn, city, principal)
        return _product_out(await handlers.set_stock(conn, emit, city, vendor["id"], product_id, body.changes()))


@router.delete("/cities/{city}/products/{product_id}", status_code=204, tags=["vendor"])
async def delist_product(city: str, product_id: Id, principal: VendorP, request: Request) -> Response:
    get_city(city)
    async with _tx(request) as (conn, emit):
        vendor = await _own_vendor(conn, city, principal)
        await handlers.delist_product(conn, emit, city, vendor["id"], product_id)
    return Response(status_code=204)


# ---- market admin (and city admin) --------------------------------------------------------------------

@router.get("/cities/{city}/admin/vendors", tags=["market admin"])
async def admin_vendors(city: str, principal: MarketAdminP, request: Request,
                        status: Annotated[Literal[domain.VENDOR_STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
                        market: QueryId = None) -> dict[str, Any]:
    get_city(city)
    own = _admin_market(principal)
    if own is not None and market is not None and market != own:
        raise Problem(403, "Bukan pasar Anda. / Not your market.", code="other-market")
    async with _pool(request).acquire() as conn:
        return {"items": await store.list_vendors(conn, city, market_id=own or market, status=status)}


@router.get("/cities/{city}/admin/vendor-drafts", tags=["market admin"])
async def vendor_drafts(city: str, principal: MarketAdminP, request: Request) -> dict[str, Any]:
    """Drafts opened for trained business owners; they have no market until an admin verifies them."""
    get_city(city)
    _admin_market(principal)
    async with _pool(request).acquire() as conn:
        return {"items": await store.list_vendors(conn, city, drafts_only=True)}


@router.post("/cities/{city}/markets/{market_id}/vendors", status_code=201, tags=["market admin"])
async def onboard_vendor(city: str, market_id: Id, body: VendorIn, principal: MarketAdminP,
                         request: Request) -> dict[str, Any]:
    get_city(city)
    own = _admin_market(principal)
    if own is not None and own != market_id:
        raise Problem(403, "Bukan pasar Anda. / Not your market.", code="other-market")
    async with _tx(request) as (conn, _):
        return await handlers.onboard_vendor(conn, city, market_id, body.model_dump())


@router.post("/cities/{city}/vendors/{vendor_id}/{action}", tags=["market admin"])
async def vendor_action(city: str, vendor_id: Id, action: Literal["verify", "activate", "suspend"],
                        principal: MarketAdminP, request: Request,
                        body: VendorActionIn | None = None) -> dict[str, Any]:
    get_city(city)
    own = _admin_market(principal)
    body = body or VendorActionIn()
    if own is not None and body.market_id is not None and body.market_id != own:
        raise Problem(403, "Bukan pasar Anda. / Not your market.", code="other-market")
    async with _tx(request) as (conn, emit):
        return await handlers.change_vendor_status(conn, emit, city, vendor_id, action, actor_market_id=own,
                                                   reason=body.reason, market_id=body.market_id,
                                                   stall_id=body.stall_id)


@router.get("/cities/{city}/reservations/{order_id}", tags=["market admin"])
async def get_reservation(city: str, order_id: Id, principal: CityAdminP, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        reservation = await store.get_reservation(conn, city, order_id)
    if reservation is None:
        raise Problem(404, "Reservasi tidak ditemukan. / Reservation not found.", code="not-found")
    return reservation


# ---- city admin ---------------------------------------------------------------------------------------

@router.post("/cities/{city}/markets", status_code=201, tags=["city admin"])
async def create_market(city: str, body: MarketIn, principal: CityAdminP, request: Request) -> dict[str, Any]:
    get_city(city)
    from shared.ids import demo_id

    data = {**body.model_dump(), "id": demo_id("market", city, body.slug)}
    async with _tx(request) as (conn, emit):
        return await handlers.create_market(conn, emit, city, data)


@router.patch("/cities/{city}/markets/{market_id}", tags=["city admin"])
async def edit_market(city: str, market_id: Id, body: MarketPatch, principal: CityAdminP,
                      request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, emit):
        return await handlers.update_market(conn, emit, city, market_id, body.changes())


@router.post("/cities/{city}/markets/{market_id}/stalls", status_code=201, tags=["city admin"])
async def create_stall(city: str, market_id: Id, body: StallIn, principal: CityAdminP,
                       request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, _):
        return await handlers.create_stall(conn, city, market_id, body.model_dump())


@router.post("/cities/{city}/rw-hubs", status_code=201, tags=["city admin"])
async def create_rw_hub(city: str, body: RwHubIn, principal: CityAdminP, request: Request) -> dict[str, Any]:
    get_city(city)
    data = body.model_dump()
    data["rw"] = data["rw"].zfill(2)[-3:]
    data["name"] = data["name"] or f"Hub RW {data['rw']} {data['kelurahan']}"
    async with _tx(request) as (conn, emit):
        return await handlers.create_rw_hub(conn, emit, city, data)


@router.patch("/cities/{city}/rw-hubs/{hub_id}", tags=["city admin"])
async def edit_rw_hub(city: str, hub_id: Id, body: RwHubPatch, principal: CityAdminP,
                      request: Request) -> dict[str, Any]:
    get_city(city)
    async with _tx(request) as (conn, emit):
        return await handlers.update_rw_hub(conn, emit, city, hub_id, body.changes())
