"""The catalog's use cases: ``async def verb(uow, command_or_event)`` — load via ``uow.store``, decide via the
domain and the policy, save via ``uow.store``, ``uow.emit(...)`` the events.

The unit of work (opened by the kernel: an HTTP request's ``ctx.run``, the event bus, a periodic job) is the
transaction: the state change and its events commit together or not at all. No SQL, no HTTP statuses here —
refusals are ``shared.errors`` raised by ``domain`` / ``policy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalog import domain, policy
from catalog.search import search_text
from catalog.store import CatalogStore
from shared.auth import Principal
from shared.bus import Incoming
from shared.cities import all_cities
from shared.events.catalog import (
    MarketOpened,
    PriceChanged,
    ProductDelisted,
    ProductListed,
    ProductUpdated,
    RwHubRegistered,
    StockAdjusted,
    StockCommitted,
    StockRejected,
    StockReleased,
    StockReserved,
    VendorActivated,
    VendorDraftOpened,
    VendorSuspended,
    VendorTrainedBadgeGranted,
)
from shared.events.common import LineRef, OrderLine, RejectedLine
from shared.events.identity import AccountDeletionRequested
from shared.events.learning import CertificateIssued
from shared.events.orders import (
    OrderCancelled,
    OrderLineRejected,
    OrderPaymentExpired,
    OrderPlaced,
)
from shared.ids import demo_id, new_id
from shared.logging import get_logger
from shared.phone import normalise_phone
from shared.uow import UnitOfWork

log = get_logger(__name__)

Row = dict[str, Any]
Uow = UnitOfWork[CatalogStore]


# ---- event payloads from rows -------------------------------------------------------------------------

def market_opened(m: Row) -> MarketOpened:
    return MarketOpened(market_id=m["id"], name=m["name"], kelurahan=m.get("kelurahan"), active=m["active"],
                        address=m.get("address") or None)


def rw_hub_registered(h: Row) -> RwHubRegistered:
    return RwHubRegistered(rw_hub_id=h["id"], name=h["name"], kelurahan=h["kelurahan"], rw=h["rw"],
                           address=h.get("address") or "", active=h["active"], bandwidth_mbps=h.get("bandwidth_mbps"),
                           opens_at=h.get("opens_at"), closes_at=h.get("closes_at"),
                           hall_capacity=h.get("hall_capacity"))


def product_listed(p: Row, vendor_name: str | None) -> ProductListed:
    return ProductListed(product_id=p["id"], vendor_id=p["vendor_id"], market_id=p["market_id"], name=p["name"],
                         category=p["category"], unit=p["unit"], price=p["price"], min_per_order=p["min_per_order"],
                         max_per_order=p["max_per_order"], stock=p["stock"], available=p["available"],
                         photo_url=p.get("photo_url"), vendor_name=vendor_name, sold_by=p.get("sold_by") or "piece",
                         step_grams=p.get("step_grams"))


def product_updated(p: Row, vendor_name: str | None) -> ProductUpdated:
    return ProductUpdated(product_id=p["id"], vendor_id=p["vendor_id"], market_id=p["market_id"], name=p["name"],
                          category=p["category"], unit=p["unit"], price=p["price"], min_per_order=p["min_per_order"],
                          max_per_order=p["max_per_order"], active=p["active"], stock=p["stock"],
                          available=p["available"], photo_url=p.get("photo_url"), vendor_name=vendor_name,
                          sold_by=p.get("sold_by") or "piece", step_grams=p.get("step_grams"))


def stock_adjusted(p: Row) -> StockAdjusted:
    return StockAdjusted(product_id=p["id"], stock=p["stock"],
                         available=domain.is_available(p["stock"], p["available"]))


def product_search_text(name: str, category: str, vendor_name: str | None, description: str = "") -> str:
    return search_text(name, category, vendor_name, description[:200])


# ---- commands -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewMarket:
    slug: str
    data: Row
    actor: Principal | None = None  # the staff member (audit list)


@dataclass(frozen=True)
class EditMarket:
    market_id: str
    changes: Row
    actor: Principal | None = None  # the staff member (audit list)


@dataclass(frozen=True)
class NewStall:
    market_id: str
    data: Row
    actor: Principal | None = None  # the staff member (audit list)


@dataclass(frozen=True)
class NewRwHub:
    data: Row
    actor: Principal | None = None  # the staff member (audit list)


@dataclass(frozen=True)
class EditRwHub:
    hub_id: str
    changes: Row
    actor: Principal | None = None  # the staff member (audit list)


@dataclass(frozen=True)
class OnboardVendor:
    actor: Principal
    market_id: str
    data: Row
    activate: bool = False  # checked in person: active at once (identity grants `vendor` to its phone)


@dataclass(frozen=True)
class ChangeVendorStatus:
    actor: Principal
    vendor_id: str
    action: str
    reason: str | None = None
    market_id: str | None = None
    stall_id: str | None = None


@dataclass(frozen=True)
class EditVendorProfile:
    actor: Principal
    changes: Row


@dataclass(frozen=True)
class CreateProduct:
    actor: Principal
    data: Row


@dataclass(frozen=True)
class EditProduct:
    actor: Principal
    product_id: str
    changes: Row


@dataclass(frozen=True)
class SetPrice:
    actor: Principal
    product_id: str
    price: int


@dataclass(frozen=True)
class SetStock:
    actor: Principal
    product_id: str
    changes: Row = field(default_factory=dict)


@dataclass(frozen=True)
class DelistProduct:
    actor: Principal
    product_id: str


# ---- markets, stalls, RW hubs (city admin) ------------------------------------------------------------

async def create_market(uow: Uow, cmd: NewMarket) -> Row:
    city = uow.this_city
    domain.check_hours(cmd.data.get("opens_at") or "05:00", cmd.data.get("closes_at") or "14:00")
    market = await uow.store.insert_market({**cmd.data, "slug": cmd.slug, "id": demo_id("market", city, cmd.slug),
                                            "city": city})
    if market is None:
        raise domain.market_exists()
    uow.emit(market_opened(market))
    _audit(uow, cmd.actor, "market", market["id"], "opened", None, market)
    return market


async def update_market(uow: Uow, cmd: EditMarket) -> Row:
    city = uow.this_city
    market = await uow.store.get_market(city, cmd.market_id, lock=True)
    if market is None:
        raise domain.not_found("Pasar", cmd.market_id)
    domain.check_hours(cmd.changes.get("opens_at", market["opens_at"]), cmd.changes.get("closes_at",
                                                                                         market["closes_at"]))
    if cmd.changes:
        before = market
        market = await uow.store.update_market(city, cmd.market_id, cmd.changes) or market
        uow.emit(market_opened(market))
        action = ("closed" if before["active"] and not market["active"] else
                  "reopened" if market["active"] and not before["active"] else "edited")
        _audit(uow, cmd.actor, "market", market["id"], action, before, market)
    return market


async def create_stall(uow: Uow, cmd: NewStall) -> Row:
    city = uow.this_city
    if await uow.store.get_market(city, cmd.market_id) is None:
        raise domain.not_found("Pasar", cmd.market_id)
    stall = await uow.store.insert_stall({**cmd.data, "id": cmd.data.get("id") or new_id(), "city": city,
                                          "market_id": cmd.market_id})
    if stall is None:
        raise domain.stall_exists()
    _audit(uow, cmd.actor, "stall", stall["id"], "created", None, stall)
    return stall


async def create_rw_hub(uow: Uow, cmd: NewRwHub) -> Row:
    data = dict(cmd.data)
    domain.check_hours(data.get("opens_at"), data.get("closes_at"))
    data["rw"] = data["rw"].zfill(2)[-3:]
    data["name"] = data.get("name") or f"Hub RW {data['rw']} {data['kelurahan']}"
    hub = await uow.store.insert_rw_hub({**data, "id": data.get("id") or new_id(), "city": uow.this_city})
    if hub is None:
        raise domain.rw_hub_exists()
    uow.emit(rw_hub_registered(hub))
    _audit(uow, cmd.actor, "rw_hub", hub["id"], "created", None, hub)
    return hub


async def update_rw_hub(uow: Uow, cmd: EditRwHub) -> Row:
    city = uow.this_city
    hub = await uow.store.get_rw_hub(city, cmd.hub_id)
    if hub is None:
        raise domain.not_found("Hub RW", cmd.hub_id)
    domain.check_hours(cmd.changes.get("opens_at", hub["opens_at"]), cmd.changes.get("closes_at", hub["closes_at"]))
    if cmd.changes:
        updated = await uow.store.update_rw_hub(city, cmd.hub_id, cmd.changes)
        if updated is None:
            raise domain.rw_hub_exists()
        _audit(uow, cmd.actor, "rw_hub", hub["id"], "edited", hub, updated)
        hub = updated
        uow.emit(rw_hub_registered(hub))
    return hub


# ---- vendors ------------------------------------------------------------------------------------------

async def onboard_vendor(uow: Uow, cmd: OnboardVendor) -> Row:
    """A market admin registers a vendor of their market; it starts ``pending`` (verify, then activate)."""
    policy.may_manage_market(cmd.actor, cmd.market_id)
    city = uow.this_city
    if await uow.store.get_market(city, cmd.market_id) is None:
        raise domain.not_found("Pasar", cmd.market_id)
    await _check_stall(uow, cmd.market_id, cmd.data.get("stall_id"))
    stall = await _free_stall(uow, cmd.data.get("stall_id"), None)
    if cmd.activate and not normalise_phone(cmd.data.get("phone") or cmd.data.get("whatsapp")):
        raise domain.phone_required()
    vendor = await uow.store.insert_vendor({**cmd.data, "id": new_id(), "city": city, "market_id": cmd.market_id,
                                            "status": "pending"})
    assert vendor is not None
    if cmd.activate:
        vendor = await uow.store.update_vendor(city, vendor["id"], {"status": "active",
                                                                    "verified_at": datetime.now(UTC)}) or vendor
        uow.emit(VendorActivated(vendor_id=vendor["id"], market_id=cmd.market_id, name=vendor["name"],
                                 phone=normalise_phone(vendor.get("phone") or vendor.get("whatsapp")),
                                 stall=domain.stall_label(stall), invited=True))
    _audit(uow, cmd.actor, "vendor", vendor["id"], "added", None, vendor)
    return vendor


async def _check_stall(uow: Uow, market_id: str | None, stall_id: str | None) -> None:
    if stall_id is None:
        return
    stall = await uow.store.get_stall(uow.this_city, stall_id)
    if stall is None or stall["market_id"] != market_id:
        raise domain.unknown_stall()


async def change_vendor_status(uow: Uow, cmd: ChangeVendorStatus) -> Row:
    """verify / activate / suspend, by a market admin of the vendor's market (or a city admin: any market).

    Verifying a draft (which has no market yet) assigns it to the admin's market (or ``market_id``).
    """
    actor_market_id = policy.may_manage_market(cmd.actor, cmd.market_id)
    city = uow.this_city
    vendor = await uow.store.get_vendor(city, cmd.vendor_id, lock=True)
    if vendor is None:
        raise domain.not_found("Pedagang", cmd.vendor_id)
    policy.may_act_on_vendor(actor_market_id, vendor["market_id"] or cmd.market_id or actor_market_id)
    target_market = domain.vendor_market(vendor, cmd.market_id, actor_market_id)
    status = domain.vendor_status_after(vendor["status"], cmd.action)
    changes: Row = {}
    if vendor["market_id"] is None:
        if target_market is None:
            raise domain.market_required()
        if await uow.store.get_market(city, target_market) is None:
            raise domain.not_found("Pasar", target_market)
        changes["market_id"] = target_market
    if cmd.stall_id is not None:
        await _check_stall(uow, target_market, cmd.stall_id)
        await _free_stall(uow, cmd.stall_id, vendor["id"])
        changes["stall_id"] = cmd.stall_id
    if cmd.action == "suspend" and not (cmd.reason or "").strip() and vendor["status"] != "suspended":
        raise domain.suspend_reason_required()
    if status == vendor["status"] and not changes:
        return vendor  # already there: nothing changes, nothing is emitted
    changes["status"] = status
    if cmd.action == "verify":
        changes["verified_at"] = datetime.now(UTC)
    if cmd.action == "suspend":
        changes["suspended_reason"] = cmd.reason or "ditangguhkan oleh pengelola pasar"
    if cmd.action == "activate":
        changes["suspended_reason"] = None
        if vendor["verified_at"] is None:
            changes["verified_at"] = datetime.now(UTC)
    updated = await uow.store.update_vendor(city, cmd.vendor_id, changes)
    assert updated is not None
    _audit(uow, cmd.actor, "vendor", cmd.vendor_id, {"verify": "verified", "activate": "activated",
                                                     "suspend": "suspended"}[cmd.action], vendor, updated)
    if status != vendor["status"]:
        if status == "active":
            uow.emit(VendorActivated(vendor_id=cmd.vendor_id, market_id=updated["market_id"], name=updated["name"],
                                     participant_id=updated["participant_id"],
                                     phone=normalise_phone(updated.get("phone") or updated.get("whatsapp"))))
        elif status == "suspended":
            uow.emit(VendorSuspended(vendor_id=cmd.vendor_id, reason=changes["suspended_reason"]))
    return updated


async def _own_vendor(uow: Uow, actor: Principal, *, lock: bool = False) -> Row:
    vendor = await uow.store.get_vendor(uow.this_city, actor.vendor_id, lock=lock) if actor.vendor_id else None
    return policy.own_vendor(actor, vendor)


async def edit_vendor_profile(uow: Uow, cmd: EditVendorProfile) -> Row:
    vendor = await _own_vendor(uow, cmd.actor, lock=True)
    if cmd.changes.get("stall_id") is not None:
        await _check_stall(uow, vendor["market_id"], cmd.changes["stall_id"])
    if not cmd.changes:
        return vendor
    updated = await uow.store.update_vendor(uow.this_city, vendor["id"], cmd.changes)
    assert updated is not None
    return updated


# ---- products (vendor) --------------------------------------------------------------------------------

async def create_product(uow: Uow, cmd: CreateProduct) -> Row:
    city = uow.this_city
    vendor = await _own_vendor(uow, cmd.actor)
    policy.may_list_products(vendor)
    data = cmd.data
    row = {**data, "id": new_id(), "city": city, "vendor_id": vendor["id"], "market_id": vendor["market_id"],
           "search_text": product_search_text(data["name"], data["category"], vendor["name"],
                                              data.get("description") or ""),
           "name_text": search_text(data["name"])}
    product = await uow.store.insert_product(row)
    assert product is not None
    await uow.store.add_price_history(city, product["id"], product["price"])
    uow.emit(product_listed(product, vendor["name"]))
    uow.emit(stock_adjusted(product))
    return product


async def _own_product(uow: Uow, vendor_id: str, product_id: str) -> Row:
    """The product, locked, if it belongs to ``vendor_id``; 404 for another city's, 403 for another vendor's."""
    product = await uow.store.lock_product(uow.this_city, product_id)
    if product is None:
        raise domain.not_found("Produk", product_id)
    policy.may_edit_product(vendor_id, product)
    return product


async def edit_product(uow: Uow, cmd: EditProduct) -> Row:
    vendor = await _own_vendor(uow, cmd.actor)
    product = await _own_product(uow, vendor["id"], cmd.product_id)
    changes = dict(cmd.changes)
    merged = {**product, **changes}
    domain.check_order_limits(merged["min_per_order"], merged["max_per_order"])
    if merged.get("sold_by") == "weight" or "step_grams" in changes:
        basis = domain.check_sold_by(merged)
        changes.update({k: v for k, v in basis.items() if v != product.get(k)})
    if not changes:
        return product
    if {"name", "category", "description"} & changes.keys():
        changes["search_text"] = product_search_text(merged["name"], merged["category"], vendor["name"],
                                                     merged.get("description") or "")
        changes["name_text"] = search_text(merged["name"])
    updated = await uow.store.update_product(uow.this_city, cmd.product_id, changes)
    assert updated is not None
    uow.emit(product_updated(updated, vendor["name"]))
    if changes.get("active") is False and product["active"]:
        uow.emit(ProductDelisted(product_id=cmd.product_id))
    return updated


async def set_price(uow: Uow, cmd: SetPrice) -> Row:
    vendor = await _own_vendor(uow, cmd.actor)
    product = await _own_product(uow, vendor["id"], cmd.product_id)
    if product["price"] == cmd.price:
        return product
    updated = await uow.store.update_product(uow.this_city, cmd.product_id, {"price": cmd.price})
    assert updated is not None
    await uow.store.add_price_history(uow.this_city, cmd.product_id, cmd.price)
    uow.emit(PriceChanged(product_id=cmd.product_id, old_price=product["price"], new_price=cmd.price))
    return updated


async def set_stock(uow: Uow, cmd: SetStock) -> Row:
    """Set the counted stock (or switch to not counted with ``stock: null``) and/or the available switch."""
    vendor = await _own_vendor(uow, cmd.actor)
    product = await _own_product(uow, vendor["id"], cmd.product_id)
    changes = {k: v for k, v in cmd.changes.items() if product[k] != v}
    if not changes:
        return product
    updated = await uow.store.update_product(uow.this_city, cmd.product_id, changes)
    assert updated is not None
    uow.emit(stock_adjusted(updated))
    return updated


async def delist_product(uow: Uow, cmd: DelistProduct) -> Row:
    vendor = await _own_vendor(uow, cmd.actor)
    product = await _own_product(uow, vendor["id"], cmd.product_id)
    if not product["active"]:
        return product
    updated = await uow.store.update_product(uow.this_city, cmd.product_id, {"active": False})
    assert updated is not None
    uow.emit(ProductDelisted(product_id=cmd.product_id))
    return updated


# ---- order events (registered in stream.py): handle(uow, event) ----------------------------------------

async def on_order_placed(uow: Uow, event: OrderPlaced) -> None:
    outcome = await reserve_stock(uow, event)
    log.info("order placed handled", order_id=event.order_id, outcome=outcome)


async def on_orders_paid(uow: Uow, items: list[Incoming]) -> None:
    """``OrderPaid`` → the held stock is committed, set-based (a payment burst is thousands a second): the batch's
    reservations locked and their lines read with one query each, decided per order in Kafka order, every commit
    written with one statement. The guards of :func:`apply_order_outcome`: another city's reservation, an unknown
    one, or one no longer held changes nothing."""
    order_ids = [item.event.order_id for item in items]
    reservations = await uow.store.lock_reservations(order_ids)
    committed: list[str] = []
    for item in items:
        scoped = uow.caused_by(item.envelope)
        reservation = reservations.get(item.event.order_id)
        if reservation is None:
            continue
        if reservation["city"] != scoped.this_city:
            log.warning("order event for another city's reservation ignored", order_id=item.event.order_id)
            continue
        if domain.reservation_after(reservation["status"], "OrderPaid") != "committed":
            continue
        reservation["status"] = "committed"  # a repeat later in the batch is a no-op
        committed.append(item.event.order_id)
    lines = await uow.store.reservation_lines_of(committed) if committed else {}
    await uow.store.set_reservations(committed, "committed")
    for item in items:
        if item.event.order_id in committed:
            committed.remove(item.event.order_id)
            refs = [LineRef(product_id=x["product_id"], quantity=x["quantity"] - x["returned"])
                    for x in lines.get(item.event.order_id, []) if x["quantity"] > x["returned"]]
            uow.caused_by(item.envelope).emit(StockCommitted(order_id=item.event.order_id, lines=refs))


async def on_order_cancelled(uow: Uow, event: OrderCancelled) -> None:
    await apply_order_outcome(uow, uow.this_city, event.order_id, "OrderCancelled",
                              reason=f"cancelled:{event.reason}"[:200], paid=event.paid)


async def on_payment_expired(uow: Uow, event: OrderPaymentExpired) -> None:
    await apply_order_outcome(uow, uow.this_city, event.order_id, "OrderPaymentExpired", reason="payment_expired")


async def on_order_line_rejected(uow: Uow, event: OrderLineRejected) -> None:
    outcome = await return_rejected_line(uow, event)
    log.info("rejected order line handled", order_id=event.order_id, line_id=event.line_id, outcome=outcome)


async def on_certificate_issued(uow: Uow, event: CertificateIssued) -> None:
    outcome = await on_certificate(uow, event)
    log.info("certificate handled", participant_id=event.participant_id, outcome=outcome)


# ---- periodic job (registered in app.py): job(uow) -> work done ------------------------------------------

async def release_expired_reservation(uow: Uow) -> int:
    """Release one held reservation past its deadline (1 when one was released: the kernel runs the job again
    at once, each in its own transaction, so product locks stay ordered; 0 when none is due)."""
    due = await uow.store.due_reservations(1)
    if not due:
        return 0
    r = due[0]
    await apply_order_outcome(uow, r["city"], r["order_id"], "expired", reason="reservation_expired")
    log.info("expired reservation released", order_id=r["order_id"], city=r["city"])
    return 1


# ---- stock reservations -------------------------------------------------------------------------------

async def reserve_stock(uow: Uow, order: OrderPlaced) -> str:
    """All lines or none, in this one transaction, products locked in id order. Returns the outcome.

    The order placed again (a new event id: the orders grace worker's one nudge) reserves nothing more; the
    answer already given is re-sent instead, so a lost answer does not leave the order stuck.
    """
    city, store = uow.this_city, uow.store
    if not await store.claim_reservation(order.order_id, city, order.market_id, "held"):
        return await repeat_answer(uow, order)
    requests = [domain.LineRequest(x.product_id, x.vendor_id, x.quantity) for x in order.lines]
    ids = sorted({x.product_id for x in requests})
    locked = await store.lock_products_for_reservation(ids)
    products = {r["id"]: domain.ProductStock(
        product_id=r["id"], city=r["city"], market_id=r["market_id"], vendor_id=r["vendor_id"], active=r["active"],
        available=r["available"], stock=r["stock"], min_per_order=r["min_per_order"],
        max_per_order=r["max_per_order"], vendor_active=r["vendor_active"]) for r in locked}
    plan = domain.plan_reservation(requests, products, city=city, market_id=order.market_id)
    if not plan.ok:
        rejected = plan.rejected or [(x.product_id, "empty_order") for x in requests]
        await store.set_reservation(order.order_id, "rejected", reason=rejected[0][1] if rejected else "empty")
        answer: StockRejected | StockReserved = StockRejected(
            order_id=order.order_id, rejected=[RejectedLine(product_id=p, reason=r) for p, r in rejected])
        await store.set_answer(order.order_id, answer.model_dump(mode="json"))
        uow.emit(answer)
        return "rejected"
    tracked = [(t.product_id, t.quantity) for t in plan.takes if t.tracked]
    if tracked:
        changed = await store.take_stock(tracked)
        if len(changed) != len(tracked):  # impossible under the row locks; never oversell if it happens
            raise RuntimeError(f"stock changed under lock for order {order.order_id}")
        for row in changed:
            uow.emit(stock_adjusted(row))
    await store.insert_reservation_lines(order.order_id, [(t.product_id, t.quantity, t.tracked) for t in plan.takes])
    city_cfg = all_cities().get(city)
    expires_at = domain.reservation_deadline(datetime.now(UTC), city_cfg.payment_expiry_minutes if city_cfg else 15)
    await store.set_reservation(order.order_id, "held", expires_at=expires_at)
    answer = StockReserved(order_id=order.order_id, expires_at=expires_at, lines=[
        OrderLine(product_id=x.product_id, vendor_id=x.vendor_id, quantity=x.quantity, unit_price=x.unit_price)
        for x in order.lines])
    await store.set_answer(order.order_id, answer.model_dump(mode="json"))
    uow.emit(answer)
    return "reserved"


async def repeat_answer(uow: Uow, order: OrderPlaced) -> str:
    """Re-send the recorded StockReserved/StockRejected for an order placed again; never reserve twice."""
    reservation = await uow.store.lock_reservation(order.order_id)
    if reservation is None or reservation["city"] != uow.this_city:
        log.warning("repeated OrderPlaced for another city's reservation ignored", order_id=order.order_id)
        return "duplicate"
    kind = domain.repeated_answer(reservation["status"])
    recorded = reservation["answer"]
    payload: StockReserved | StockRejected | None = None
    if kind == "StockReserved":
        payload = (StockReserved.model_validate(recorded) if recorded else StockReserved(
            # reserved before answers were recorded: the repeated OrderPlaced carries the same lines
            order_id=order.order_id, expires_at=reservation["expires_at"], lines=list(order.lines)))
    elif kind == "StockRejected" and recorded:
        payload = StockRejected.model_validate(recorded)
    if payload is None:
        log.info("order placed again; nothing to re-send", order_id=order.order_id, status=reservation["status"])
        return "duplicate"
    uow.emit(payload)
    log.info("order placed again; answer re-sent", order_id=order.order_id, answer=kind)
    return "answer_resent"


async def apply_order_outcome(uow: Uow, city: str, order_id: str, order_event: str, *, reason: str = "",
                              paid: bool = False) -> str | None:
    """OrderPaid → commit; OrderCancelled → release or restock; OrderPaymentExpired / deadline → release.

    Guarded by the reservation's current status: duplicates and out-of-order events change nothing. ``city``
    is the event's (or, for the deadline job spanning cities, the reservation's); the events go to it.
    """
    store = uow.store
    reservation = await store.lock_reservation(order_id)
    if reservation is None:
        if order_event in ("OrderCancelled", "OrderPaymentExpired"):
            # The order ended before we saw it placed: remember, so a late OrderPlaced reserves nothing.
            await store.claim_reservation(order_id, city, None, "released")
        return None
    if reservation["city"] != city:
        log.warning("order event for another city's reservation ignored", order_id=order_id)
        return None
    nxt = domain.reservation_after(reservation["status"], order_event, paid=paid)
    if nxt is None:
        return None
    lines = await store.reservation_lines(order_id)
    # lines (or parts) a vendor rejected came back already: neither committed nor given back a second time
    refs = [LineRef(product_id=x["product_id"], quantity=x["quantity"] - x["returned"]) for x in lines
            if x["quantity"] > x["returned"]]
    if nxt == "committed":
        await store.set_reservation(order_id, "committed")
        uow.emit(StockCommitted(order_id=order_id, lines=refs), city=city)
        return nxt
    for row in await store.give_back_stock(order_id):
        uow.emit(stock_adjusted(row), city=city)
    await store.set_reservation(order_id, nxt, reason=reason or order_event)
    uow.emit(StockReleased(order_id=order_id, reason=reason or order_event, lines=refs,
                           restocked=nxt == "restocked"), city=city)
    return nxt


async def return_rejected_line(uow: Uow, event: OrderLineRejected) -> str:
    """A vendor rejected one line of a paid order: that line's quantity goes back on the shelf (committed
    reservation: restock; still only held: the line's hold is released), once per order line.

    Guarded by the reservation's status and by the line's record: a repeat, a line of a reservation already
    released/restocked, or a product the reservation does not hold changes nothing. A later ``OrderCancelled``
    then gives back only the other lines.
    """
    city, store = uow.this_city, uow.store
    reservation = await store.lock_reservation(event.order_id)
    if reservation is None or reservation["city"] != city:
        log.warning("rejected line of an order without a reservation here; ignored", order_id=event.order_id)
        return "no_reservation"
    line = next((x for x in await store.reservation_lines(event.order_id) if x["product_id"] == event.product_id),
                None)
    if line is None:
        log.warning("rejected line's product is not in the reservation; ignored", order_id=event.order_id,
                    product_id=event.product_id)
        return "unknown_line"
    step = domain.line_give_back(reservation["status"], event.quantity, line["quantity"], line["returned"])
    if step is None:
        return "no_change"
    effect, quantity = step
    if not await store.claim_line_return(event.order_id, event.line_id, city, event.product_id, quantity,
                                         event.reason[:200]):
        return "duplicate"
    if quantity:
        row = await store.give_back_line(event.order_id, event.product_id, quantity)
        if row is not None:
            uow.emit(stock_adjusted(row))
    log.info("rejected line given back", order_id=event.order_id, product_id=event.product_id, quantity=quantity,
             effect=effect)
    return effect


# ---- training certificates ----------------------------------------------------------------------------

async def on_certificate(uow: Uow, cert: CertificateIssued) -> str:
    """Linked vendor → Terlatih badge; otherwise a business owner (pelaku_usaha) gets a vendor draft."""
    city, store = uow.this_city, uow.store
    vendor: Row | None = None
    if cert.vendor_id:
        vendor = await store.get_vendor(city, cert.vendor_id, lock=True)
    if vendor is None:
        vendor = await store.vendor_by_participant(city, cert.participant_id)
    if vendor is not None:
        if vendor["trained"] and vendor["certificate_code"] == cert.certificate_code:
            return "already_trained"
        changes: Row = {"trained": True, "certificate_code": cert.certificate_code}
        if vendor["participant_id"] is None:
            other = await store.vendor_by_participant(city, cert.participant_id)
            if other is None:
                changes["participant_id"] = cert.participant_id
        await store.update_vendor(city, vendor["id"], changes)
        uow.emit(VendorTrainedBadgeGranted(vendor_id=vendor["id"], certificate_code=cert.certificate_code,
                                           participant_id=cert.participant_id))
        return "badge_granted"
    if cert.participant_group != "pelaku_usaha":
        return "no_vendor"
    name = (cert.participant_name or "Pelaku Usaha").strip()[:100] or "Pelaku Usaha"
    draft = await store.insert_vendor({
        "id": new_id(), "city": city, "market_id": None, "name": f"Usaha {name}"[:120], "owner_name": name,
        "phone": cert.participant_phone, "whatsapp": cert.participant_phone, "status": "draft", "trained": True,
        "certificate_code": cert.certificate_code, "participant_id": cert.participant_id})
    if draft is None:
        return "duplicate"
    uow.emit(VendorDraftOpened(vendor_id=draft["id"], participant_id=cert.participant_id, owner_name=name))
    return "draft_opened"


# ----------------------------------------------------------------------------------- personal data (UU 27/2022)

async def on_account_deletion_requested(uow: Uow, event: AccountDeletionRequested) -> None:
    """A person asked for deletion: their name and numbers leave every vendor row of theirs (all cities); the
    shop, its products and its sales stay (business and money records keep names of shops, amounts, ids)."""
    vendor_ids = await uow.store.vendor_ids_of_owner(event.phone)
    forgotten = await uow.store.forget_vendor_owner(event.phone)
    audited = await uow.store.forget_audited_owner(vendor_ids)
    log.info("personal data removed", account_id=event.account_id, vendors=forgotten, audit_entries=audited)


# ---- compacted state topics (issue #17) -----------------------------------------------------------------

async def publish_state_backfill(uow: Uow) -> int:
    """Once per schema: the state of every product and vendor made before the state topics existed onto them
    (later changes carry their own, see ``CatalogStore.state_snapshots``). Returns how many were published."""
    from catalog.store import product_state, vendor_state

    if not await uow.store.claim_state_backfill():
        return 0
    products, vendors = await uow.store.state_rows()
    for v in vendors:
        uow.emit(vendor_state(v), city=v["city"])
    for p in products:
        uow.emit(product_state(p), city=p["city"])
    log.info("state topics backfilled", products=len(products), vendors=len(vendors))
    return len(products) + len(vendors)

# ---- back office (issue #13): the audit list, stalls ---------------------------------------------------

def _audit(uow: Uow, actor: Principal | None, entity: str, entity_id: str, action: str, before: Row | None,
           after: Row | None) -> None:
    """A staff change onto the catalog's audit list (same transaction); only the fields that changed are kept."""
    if actor is None:
        return  # seeding and tools act without a person; every staff route passes its principal
    uow.audit(actor, entity, entity_id, action, before=domain.audit_view(entity, before),
              after=domain.audit_view(entity, after))


async def _free_stall(uow: Uow, stall_id: str | None, vendor_id: str | None) -> Row | None:
    """The stall (already checked to be in the market), or 409 ``stall-taken`` when another vendor has it.

    The stall row is locked first, so two admins giving the same stall at once are served one after the other
    (the second then sees the first one's vendor)."""
    if stall_id is None:
        return None
    stall = await uow.store.lock_stall(uow.this_city, stall_id)
    other = await uow.store.vendor_on_stall(uow.this_city, stall_id)
    if other is not None and other["id"] != vendor_id:
        raise domain.stall_taken()
    return stall


@dataclass(frozen=True)
class EditStall:
    actor: Principal
    market_id: str
    stall_id: str
    changes: Row


async def update_stall(uow: Uow, cmd: EditStall) -> Row:
    """The city admin renames / renumbers a stall of a market (audited)."""
    city = uow.this_city
    stall = await uow.store.lock_stall(city, cmd.stall_id)
    if stall is None or stall["market_id"] != cmd.market_id:
        raise domain.not_found("Lapak", cmd.stall_id)
    if not cmd.changes:
        return stall
    updated = await uow.store.update_stall(city, cmd.stall_id, cmd.changes)
    if updated is None:
        raise domain.stall_exists()
    _audit(uow, cmd.actor, "stall", cmd.stall_id, "edited", stall, updated)
    return updated


@dataclass(frozen=True)
class AssignStall:
    actor: Principal
    vendor_id: str
    stall_id: str | None  # None: the vendor has no stall any more


async def assign_stall(uow: Uow, cmd: AssignStall) -> Row:
    """A market admin (their market's vendors) or the city admin gives a vendor a stall of its market, or none."""
    actor_market_id = policy.admin_market(cmd.actor)
    city = uow.this_city
    vendor = await uow.store.get_vendor(city, cmd.vendor_id, lock=True)
    if vendor is None:
        raise domain.not_found("Pedagang", cmd.vendor_id)
    policy.may_act_on_vendor(actor_market_id, vendor["market_id"])
    if vendor["market_id"] is None:
        raise domain.market_required()
    if cmd.stall_id is not None:
        await _check_stall(uow, vendor["market_id"], cmd.stall_id)
        await _free_stall(uow, cmd.stall_id, vendor["id"])
    if vendor["stall_id"] == cmd.stall_id:
        return vendor
    updated = await uow.store.update_vendor(city, vendor["id"], {"stall_id": cmd.stall_id})
    assert updated is not None
    _audit(uow, cmd.actor, "vendor", vendor["id"], "stall_assigned", vendor, updated)
    return updated
