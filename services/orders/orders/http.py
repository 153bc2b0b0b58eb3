"""HTTP routes of orders — declarations only: wire model → command → ``ctx.run(use case)`` or
``ctx.read(query)`` → render. ``ctx: CityContext`` is the city of the path (resolved once, 404 for an unknown
one), the request's correlation id and the service's units of work; ``who`` the signed-in principal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from orders import handlers, policy, queries, wire
from orders.delivery import DeliveryRequest, rules_for, slots_offered
from orders.domain import MAX_LINES, CartItem, Fulfilment, order_not_found
from orders.views import order_body
from shared.auth import Principal, require
from shared.errors import Forbidden, Invalid
from shared.http import CityContext
from shared.idempotency import request_hash
from shared.phone import normalise_phone

router = APIRouter(tags=["orders"])

STAFF = policy.STAFF


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
    address: str | None = Field(None, max_length=500, description="delivery: the street (older clients)")
    # delivery (docs/orders.md#delivery): the courier calls this phone; kelurahan from the city's zones
    phone: str | None = Field(None, max_length=32)
    kelurahan: str | None = Field(None, max_length=100)
    rw: str | None = Field(None, max_length=3)
    street: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=200)
    slot_date: date | None = None
    slot_window: str | None = Field(None, max_length=11, description="one of the city's slots, e.g. 08:00-10:00")

    def delivery_request(self) -> DeliveryRequest:
        return DeliveryRequest(phone=self.phone, kelurahan=self.kelurahan, rw=self.rw,
                               street=self.street or self.address, note=self.note, slot_date=self.slot_date,
                               slot_window=self.slot_window)


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    market_id: str = Field(min_length=1, max_length=100)
    items: list[ItemIn] = Field(max_length=MAX_LINES)
    fulfilment: FulfilmentIn


class PickupIn(BaseModel):
    code: str = Field(min_length=1, max_length=20)


class RejectIn(BaseModel):
    reason: str = Field("unavailable", max_length=200)


# ------------------------------------------------------------------------------------------- buyer

@router.post("/cities/{city}/orders", status_code=201, response_model=wire.OrderOut)
async def checkout(ctx: CityContext, body: CheckoutIn, who: Annotated[Principal, Depends(require("buyer"))],
                   idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None) -> JSONResponse:
    """Check out one market's cart. Prices come from catalog's events; the client's are never used."""
    command = handlers.PlaceOrder(
        buyer_id=who.sub, market_id=body.market_id,
        items=tuple(CartItem(i.product_id, i.quantity, i.note) for i in body.items),
        fulfilment=Fulfilment(body.fulfilment.type, body.fulfilment.rw_hub_id, body.fulfilment.address),
        delivery_fee=ctx.city.delivery_fee, idempotency_key=idempotency_key,
        body_hash=request_hash(body.model_dump(mode="json")), delivery_rules=rules_for(ctx.slug),
        delivery_request=body.fulfilment.delivery_request(), timezone=ctx.city.timezone)
    # A burst of checkouts shares commits (group commit); a delivery takes a slot lock, so it commits alone (two
    # groups holding each other's slot locks would wait for the deadlock detector).
    run = ctx.run if body.fulfilment.type == "delivery" else ctx.run_grouped
    answer = await run(handlers.place_order, command)
    return JSONResponse(answer.body, status_code=answer.status,
                        headers={"Location": f"/cities/{ctx.slug}/orders/{answer.body['order_id']}"})


@router.get("/cities/{city}/orders", response_model=wire.OrderList, response_model_exclude_unset=True)
async def list_orders(ctx: CityContext, who: Annotated[Principal, Depends(require("buyer", *STAFF))],
                      mine: Annotated[int, Query(ge=0, le=1)] = 1,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """A buyer's own orders (with their pickup codes); staff with ``mine=0``: the city's, or their market's."""
    if not who.has("buyer") and not mine:
        orders = await ctx.read(queries.staff_orders, ctx.slug, policy.staff_market_scope(who), limit)
        return {"orders": [order_body(o) for o in orders]}
    orders = await ctx.read(queries.buyer_orders, ctx.slug, who.sub, limit)
    return {"orders": [order_body(o, show_code=True) for o in orders]}


@router.get("/cities/{city}/orders/{order_id}", response_model=wire.OrderDetail, response_model_exclude_unset=True)
async def get_order(ctx: CityContext, order_id: str,
                    who: Annotated[Principal, Depends(require("buyer", *STAFF))]) -> dict[str, Any]:
    found = await ctx.read(queries.order_detail, ctx.slug, order_id)
    if found is None or not policy.may_see(who, found[0]):
        raise order_not_found()
    order, history = found
    body = order_body(order, show_code=policy.sees_pickup_code(who, order))
    body["history"] = [{"from": h["from_status"], "to": h["to_status"], "cause": h["cause"],
                        "at": h["at"].isoformat()} for h in history]
    return body


@router.post("/cities/{city}/orders/{order_id}/cancel", response_model=wire.OrderOut, response_model_exclude_unset=True)
async def cancel_order(ctx: CityContext, order_id: str,
                       who: Annotated[Principal, Depends(require("buyer"))]) -> dict[str, Any]:
    """Before paying: Dibatalkan. Paid but nothing packed yet: cancelled with a full refund."""
    order = await ctx.run(handlers.cancel_order, handlers.CancelOrder(order_id, who))
    return order_body(order, show_code=True)


# ------------------------------------------------------------------------------------------- vendor

@router.get("/cities/{city}/vendor/orders", response_model=wire.VendorOrderList, response_model_exclude_unset=True)
async def vendor_orders(ctx: CityContext, who: Annotated[Principal, Depends(require("vendor"))],
                        status: Annotated[str | None, Query(max_length=40)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """The vendor's lines of paid (and later) orders; never other vendors' lines or the pickup code."""
    vendor_id = policy.vendor_of(who)
    orders = await ctx.read(queries.vendor_orders, ctx.slug, vendor_id, status, limit)
    return {"orders": [order_body(o, vendor_id=vendor_id) for o in orders]}


@router.post("/cities/{city}/vendor/orders/{order_id}/lines/{line_id}/accept",
             response_model=wire.VendorOrderOut, response_model_exclude_unset=True)
async def accept_line(ctx: CityContext, order_id: str, line_id: str,
                      who: Annotated[Principal, Depends(require("vendor"))]) -> dict[str, Any]:
    order = await ctx.run(handlers.accept_line, handlers.LineCommand(order_id, line_id, who))
    return order_body(order, vendor_id=who.vendor_id)


@router.post("/cities/{city}/vendor/orders/{order_id}/lines/{line_id}/reject",
             response_model=wire.VendorOrderOut, response_model_exclude_unset=True)
async def reject_line(ctx: CityContext, order_id: str, line_id: str,
                      who: Annotated[Principal, Depends(require("vendor"))],
                      body: Annotated[RejectIn | None, Body()] = None) -> dict[str, Any]:
    """The vendor cannot supply a line: that line is refunded; with no line left the order is cancelled."""
    command = handlers.LineCommand(order_id, line_id, who, reason=body.reason if body else "unavailable")
    order = await ctx.run(handlers.reject_line, command)
    return order_body(order, vendor_id=who.vendor_id)


@router.post("/cities/{city}/vendor/orders/{order_id}/prepared",
             response_model=wire.VendorOrderOut, response_model_exclude_unset=True)
async def mark_prepared(ctx: CityContext, order_id: str,
                        who: Annotated[Principal, Depends(require("vendor"))]) -> dict[str, Any]:
    """All the vendor's lines are packed; when every vendor is done the order is Siap Diambil."""
    order = await ctx.run(handlers.mark_prepared, handlers.OrderCommand(order_id, who))
    return order_body(order, vendor_id=who.vendor_id)


# ------------------------------------------------------------------------------------------- pickup

@router.post("/cities/{city}/orders/{order_id}/pickup", response_model=wire.OrderOut, response_model_exclude_unset=True)
async def confirm_pickup(ctx: CityContext, order_id: str, body: PickupIn,
                         who: Annotated[Principal, Depends(require("vendor", *STAFF))]) -> dict[str, Any]:
    """The stall (a vendor of the order) or the RW hub / market staff confirms the buyer's code → Selesai.

    A wrong code counts an attempt (422 with ``attempts_left``); after 5 the order is locked for pickup (409)
    and only staff can help. The response never contains the code.
    """
    order, result = await ctx.run(handlers.confirm_pickup, handlers.ConfirmPickup(order_id, body.code, who))
    if (refusal := result.refusal()) is not None:
        raise refusal  # after the commit: the wrong attempt stays counted
    return order_body(order)


class UnlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    checked: str = Field("", max_length=300, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$",
                         description="how the buyer was checked in person (e.g. KTP and order shown)")


@router.post("/cities/{city}/orders/{order_id}/pickup/unlock",
             response_model=wire.OrderOut, response_model_exclude_unset=True)
async def unlock_pickup(ctx: CityContext, order_id: str,
                        who: Annotated[Principal, Depends(require(*STAFF))],
                        body: UnlockIn | None = None) -> dict[str, Any]:
    """Market or city staff give a locked pickup its attempts back (after checking the buyer in person; say how
    in ``checked``). Audited; another market's order is 404."""
    checked = body.checked if body is not None else ""
    order = await ctx.run(handlers.unlock_pickup, handlers.UnlockPickup(order_id, who, checked=checked))
    return order_body(order)


# ------------------------------------------------------------------------------------------- delivery

@router.get("/cities/{city}/delivery-options", response_model=wire.DeliveryOptions)
async def delivery_options(ctx: CityContext) -> dict[str, Any]:
    """Where and when the city's markets deliver: kelurahan with their fee, and the slots open now."""
    rules = rules_for(ctx.slug)
    return {"delivers": rules.delivers, "zones": [{"kelurahan": k, "fee": v} for k, v in sorted(rules.zones.items())],
            "slots": [{"date": d.isoformat(), "window": w}
                      for d, w in slots_offered(rules, ctx.city.tz, datetime.now(UTC))],
            "slot_capacity": rules.slot_capacity}


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, description="the courier's name, shown to the buyer")
    phone: str = Field(min_length=8, max_length=32, description="the courier's WhatsApp number")


class FailedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


@router.get("/cities/{city}/courier/orders", response_model=wire.CourierOrderList, response_model_exclude_unset=True)
async def courier_orders(ctx: CityContext, who: Annotated[Principal, Depends(require("courier"))]) -> dict[str, Any]:
    """The market's ready deliveries nobody has taken, and the courier's own (ready or on the way), with the
    stalls to collect from, the address and the buyer's phone."""
    market_id = policy.courier_market(who)
    orders = await ctx.read(queries.courier_orders, ctx.slug, market_id, who.sub)
    return {"orders": [order_body(o, courier=True) for o in orders]}


async def _courier(ctx: CityContext, fn: Any, command: handlers.CourierCommand) -> dict[str, Any]:
    return order_body(await ctx.run(fn, command), courier=True)


@router.post("/cities/{city}/courier/orders/{order_id}/claim",
             response_model=wire.CourierOrderOut, response_model_exclude_unset=True)
async def claim_delivery(ctx: CityContext, order_id: str, body: ClaimIn,
                         who: Annotated[Principal, Depends(require("courier"))]) -> dict[str, Any]:
    phone = normalise_phone(body.phone)
    if phone is None:
        raise Invalid("bad-phone", "Nomor HP tidak valid (contoh 0812…). / Not a phone number.")
    return await _courier(ctx, handlers.claim_delivery, handlers.CourierCommand(order_id, who, body.name.strip(),
                                                                                phone))


@router.post("/cities/{city}/courier/orders/{order_id}/dispatched",
             response_model=wire.CourierOrderOut, response_model_exclude_unset=True)
async def dispatch_delivery(ctx: CityContext, order_id: str,
                            who: Annotated[Principal, Depends(require("courier"))]) -> dict[str, Any]:
    """Collected at every stall, on the way: Dikirim."""
    return await _courier(ctx, handlers.dispatch_delivery, handlers.CourierCommand(order_id, who))


@router.post("/cities/{city}/courier/orders/{order_id}/delivered",
             response_model=wire.CourierOrderOut, response_model_exclude_unset=True)
async def deliver(ctx: CityContext, order_id: str, body: PickupIn,
                  who: Annotated[Principal, Depends(require("courier"))]) -> dict[str, Any]:
    """The buyer's code at the door → Selesai (a wrong code counts an attempt, as at a pickup)."""
    order, result = await ctx.run(handlers.deliver, handlers.CourierCommand(order_id, who, code=body.code))
    if (refusal := result.refusal()) is not None:
        raise refusal
    return order_body(order, courier=True)


@router.post("/cities/{city}/courier/orders/{order_id}/failed",
             response_model=wire.CourierOrderOut, response_model_exclude_unset=True)
async def delivery_failed(ctx: CityContext, order_id: str, body: FailedIn,
                          who: Annotated[Principal, Depends(require("courier"))]) -> dict[str, Any]:
    """Could not deliver: back to the market (Siap Dikirim, no courier), the buyer is told."""
    return await _courier(ctx, handlers.delivery_failed, handlers.CourierCommand(order_id, who,
                                                                                 reason=body.reason.strip()))


# ------------------------------------------------------------------------------------------- back office (issue #13)

@router.get("/cities/{city}/markets/{market_id}/audit", response_model=wire.OrderAudit)
async def market_audit(ctx: CityContext, market_id: str,
                       who: Annotated[Principal, Depends(require(*STAFF))]) -> dict[str, Any]:
    """Back-office changes to the orders of one market (unlocked pickups), newest first; a market admin: their
    own market only (403 ``other-market``)."""
    if policy.staff_market_scope(who) not in (None, market_id):
        raise Forbidden("other-market", "Bukan pasar Anda. / Not your market.")
    return {"items": await ctx.read(queries.market_audit, ctx.slug, market_id[:100])}
