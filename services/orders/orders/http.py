"""HTTP routes of orders: validate, authorise, call a handler, render. Nothing else."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from structlog.contextvars import get_contextvars

from orders import handlers, store
from orders.domain import LINE_LABELS, MAX_LINES, MAX_PICKUP_ATTEMPTS, CartItem, Fulfilment, Order, PickupResult
from shared.auth import Principal, require
from shared.cities import get_city
from shared.ids import new_id
from shared.problems import Problem

router = APIRouter(tags=["orders"])

STAFF = ("city_admin", "market_admin", "operator")


class ItemIn(BaseModel):
    # extra fields (a client's idea of the price, say) are ignored: prices come from catalog's events only
    model_config = ConfigDict(extra="ignore")
    product_id: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=100_000)
    note: str | None = Field(None, max_length=300, description="a note to the vendor")


class FulfilmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["pickup_stall", "pickup_rw_hub", "delivery"]
    rw_hub_id: str | None = Field(None, max_length=100)
    address: str | None = Field(None, max_length=500)


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    market_id: str = Field(min_length=1, max_length=100)
    items: list[ItemIn] = Field(max_length=MAX_LINES)
    fulfilment: FulfilmentIn


class PickupIn(BaseModel):
    code: str = Field(min_length=1, max_length=20)


class RejectIn(BaseModel):
    reason: str = Field("unavailable", max_length=200)


# ------------------------------------------------------------------------------------------- rendering

def render(order: Order, *, show_code: bool = False, vendor_id: str | None = None) -> dict[str, Any]:
    """The order as a person sees it. The pickup code only for its buyer; a vendor only their lines."""
    lines = [li for li in order.lines if vendor_id is None or li.vendor_id == vendor_id]
    body: dict[str, Any] = {
        "order_id": order.order_id, "city": order.city, "market_id": order.market_id, "buyer_id": order.buyer_id,
        "status": order.status.value, "status_label": order.label, "version": order.version,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "fulfilment": {"type": order.fulfilment, "rw_hub_id": order.rw_hub_id, "address": order.delivery_address},
        "lines": [{"line_id": li.line_id, "product_id": li.product_id, "vendor_id": li.vendor_id, "name": li.name,
                   "unit": li.unit, "quantity": li.quantity, "unit_price": li.unit_price, "amount": li.amount,
                   "note": li.note, "status": li.status.value, "status_label": LINE_LABELS[li.status]}
                  for li in lines],
    }
    if vendor_id is not None:
        body["vendor_total"] = sum(li.amount for li in lines)
        return body
    body.update({
        "subtotal": order.subtotal, "delivery_fee": order.delivery_fee, "total": order.total,
        "payment": ({"payment_id": order.payment_id, "qris": order.qris,
                     "expires_at": order.payment_expires_at.isoformat() if order.payment_expires_at else None}
                    if order.payment_id else None),
        "paid_amount": order.paid_amount, "refund_requested": order.refund_requested,
        "refunded_amount": order.refunded_amount + order.extra_refunded,
        "extra_payment_refunded": order.extra_refunded, "cancel_reason": order.cancel_reason,
        "pickup_code": order.pickup_code if show_code else None,
    })
    return body


def _pool(request: Request) -> Any:
    return request.app.state.kernel.db()


def _correlation(request: Request) -> str:
    # the kernel's middleware bound it (from x-correlation-id, or a new one it also returns to the client)
    return str(get_contextvars().get("correlation_id") or request.headers.get("x-correlation-id") or new_id())


def _may_see(order: Order, who: Principal) -> bool:
    if who.has("buyer") and order.buyer_id == who.sub:
        return True
    if who.has("city_admin", "operator"):
        return True
    return who.has("market_admin") and who.market_id is not None and who.market_id == order.market_id


# ------------------------------------------------------------------------------------------- buyer

@router.post("/cities/{city}/orders", status_code=201)
async def checkout(city: str, body: CheckoutIn, request: Request,
                   who: Annotated[Principal, Depends(require("buyer"))],
                   idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> JSONResponse:
    """Check out one market's cart. Prices come from catalog's events; the client's are never used."""
    c = get_city(city)
    req = handlers.CheckoutRequest(
        market_id=body.market_id,
        items=[CartItem(i.product_id, i.quantity, i.note) for i in body.items],
        fulfilment=Fulfilment(body.fulfilment.type, body.fulfilment.rw_hub_id, body.fulfilment.address))
    status, response = await handlers.place_order(
        _pool(request), city, c.delivery_fee, who.sub, req, body.model_dump(mode="json"), idempotency_key,
        _correlation(request), lambda o: render(o, show_code=True))
    return JSONResponse(response, status_code=status, headers={"Location": f"/cities/{city}/orders/"
                                                                           f"{response['order_id']}"})


@router.get("/cities/{city}/orders")
async def list_orders(city: str, request: Request,
                      who: Annotated[Principal, Depends(require("buyer", *STAFF))],
                      mine: Annotated[int, Query(ge=0, le=1)] = 1,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    get_city(city)
    if not who.has("buyer") and not mine:
        if who.has("market_admin") and not who.has("city_admin", "operator") and not who.market_id:
            raise Problem(403, "Token pengelola pasar tanpa market_id. / A market admin token needs a market_id.",
                          code="no-market")
        async with _pool(request).acquire() as conn:
            ids = await conn.fetch("SELECT order_id FROM orders WHERE city = $1 AND ($2::text IS NULL OR"
                                   " market_id = $2) ORDER BY created_at DESC LIMIT $3", city,
                                   who.market_id if not who.has("city_admin", "operator") else None,
                                   limit)
            orders = [o for r in ids if (o := await store.load(conn, r["order_id"])) is not None]
        return {"orders": [render(o) for o in orders]}
    async with _pool(request).acquire() as conn:
        orders = await store.buyer_orders(conn, city, who.sub, limit)
    return {"orders": [render(o, show_code=True) for o in orders]}


@router.get("/cities/{city}/orders/{order_id}")
async def get_order(city: str, order_id: str, request: Request,
                    who: Annotated[Principal, Depends(require("buyer", *STAFF))]) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        order = await store.load(conn, order_id)
        if order is None or order.city != city or not _may_see(order, who):
            raise Problem(404, "Pesanan tidak ditemukan. / Order not found.", code="order-not-found")
        history = await store.history(conn, order_id)
    body = render(order, show_code=who.has("buyer") and order.buyer_id == who.sub)
    body["history"] = [{"from": h["from_status"], "to": h["to_status"], "cause": h["cause"],
                        "at": h["at"].isoformat()} for h in history]
    return body


@router.post("/cities/{city}/orders/{order_id}/cancel")
async def cancel_order(city: str, order_id: str, request: Request,
                       who: Annotated[Principal, Depends(require("buyer"))]) -> dict[str, Any]:
    """Before paying: Dibatalkan. Paid but nothing packed yet: cancelled with a full refund."""
    get_city(city)

    def authorise(order: Order) -> None:
        if order.buyer_id != who.sub:
            raise Problem(404, "Pesanan tidak ditemukan. / Order not found.", code="order-not-found")

    order, _ = await handlers.command(_pool(request), city, order_id, _correlation(request), authorise,
                                      lambda o: o.cancel("buyer_cancelled"))
    return render(order, show_code=True)


# ------------------------------------------------------------------------------------------- vendor

def _vendor(who: Principal) -> str:
    if not who.vendor_id:
        raise Problem(403, "Token pedagang tanpa vendor_id. / A vendor token needs a vendor_id.", code="no-vendor")
    return who.vendor_id


def _vendor_of(order: Order, vendor_id: str) -> None:
    if vendor_id not in order.vendor_ids:
        raise Problem(404, "Pesanan tidak ditemukan. / Order not found.", code="order-not-found")


@router.get("/cities/{city}/vendor/orders")
async def vendor_orders(city: str, request: Request, who: Annotated[Principal, Depends(require("vendor"))],
                        status: Annotated[str | None, Query(max_length=40)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """The vendor's lines of paid (and later) orders; never other vendors' lines or the pickup code."""
    get_city(city)
    vendor_id = _vendor(who)
    async with _pool(request).acquire() as conn:
        orders = await store.vendor_orders(conn, city, vendor_id, status, limit)
    return {"orders": [render(o, vendor_id=vendor_id) for o in orders]}


async def _vendor_command(city: str, order_id: str, request: Request, who: Principal, act: Any) -> dict[str, Any]:
    get_city(city)
    vendor_id = _vendor(who)
    order, _ = await handlers.command(_pool(request), city, order_id, _correlation(request),
                                      lambda o: _vendor_of(o, vendor_id), act)
    return render(order, vendor_id=vendor_id)


@router.post("/cities/{city}/vendor/orders/{order_id}/lines/{line_id}/accept")
async def accept_line(city: str, order_id: str, line_id: str, request: Request,
                      who: Annotated[Principal, Depends(require("vendor"))]) -> dict[str, Any]:
    return await _vendor_command(city, order_id, request, who,
                                 lambda o: o.accept_line(who.vendor_id or "", line_id))


@router.post("/cities/{city}/vendor/orders/{order_id}/lines/{line_id}/reject")
async def reject_line(city: str, order_id: str, line_id: str, request: Request,
                      who: Annotated[Principal, Depends(require("vendor"))],
                      body: Annotated[RejectIn | None, Body()] = None) -> dict[str, Any]:
    """The vendor cannot supply a line: that line is refunded; with no line left the order is cancelled."""
    reason = body.reason if body else "unavailable"
    return await _vendor_command(city, order_id, request, who,
                                 lambda o: o.reject_line(who.vendor_id or "", line_id, handlers.new_pickup_code,
                                                         reason))


@router.post("/cities/{city}/vendor/orders/{order_id}/prepared")
async def mark_prepared(city: str, order_id: str, request: Request,
                        who: Annotated[Principal, Depends(require("vendor"))]) -> dict[str, Any]:
    """All the vendor's lines are packed; when every vendor is done the order is Siap Diambil."""
    return await _vendor_command(city, order_id, request, who,
                                 lambda o: o.mark_prepared(who.vendor_id or "", handlers.new_pickup_code))


# ------------------------------------------------------------------------------------------- pickup

@router.post("/cities/{city}/orders/{order_id}/pickup")
async def confirm_pickup(city: str, order_id: str, body: PickupIn, request: Request,
                         who: Annotated[Principal, Depends(require("vendor", *STAFF))]) -> dict[str, Any]:
    """The stall (a vendor of the order) or the RW hub / market staff confirms the buyer's code → Selesai.

    A wrong code counts an attempt; after 5 the order is locked for pickup (409) and only staff can help.
    The response never contains the code.
    """
    get_city(city)

    def authorise(order: Order) -> None:
        if who.has("city_admin", "operator"):
            return
        if who.has("market_admin") and who.market_id is not None and who.market_id == order.market_id:
            return
        if who.has("vendor") and who.vendor_id in order.vendor_ids and order.fulfilment != "pickup_rw_hub":
            return
        raise Problem(404, "Pesanan tidak ditemukan. / Order not found.", code="order-not-found")

    order, (result, _) = await handlers.command(_pool(request), city, order_id, _correlation(request), authorise,
                                                lambda o: o.confirm_pickup(body.code))
    assert isinstance(result, PickupResult)
    if result.locked:
        raise Problem(409, "Terlalu banyak kode salah; pengambilan dikunci. Hubungi pengelola pasar. / "
                           "Too many wrong codes: pickup is locked.", code="pickup-locked")
    if not result.ok:
        raise Problem(422, f"Kode pengambilan salah. Sisa {result.attempts_left} percobaan. / "
                           "Wrong pickup code.", code="wrong-pickup-code", attempts_left=result.attempts_left,
                      max_attempts=MAX_PICKUP_ATTEMPTS)
    return render(order)


@router.post("/cities/{city}/orders/{order_id}/pickup/unlock")
async def unlock_pickup(city: str, order_id: str, request: Request,
                        who: Annotated[Principal, Depends(require(*STAFF))]) -> dict[str, Any]:
    """Market or city staff give a locked pickup its attempts back (after checking the buyer in person)."""
    get_city(city)

    def authorise(order: Order) -> None:
        if not _may_see(order, who):
            raise Problem(404, "Pesanan tidak ditemukan. / Order not found.", code="order-not-found")

    order, _ = await handlers.command(_pool(request), city, order_id, _correlation(request), authorise,
                                      lambda o: o.unlock_pickup())
    return render(order)
