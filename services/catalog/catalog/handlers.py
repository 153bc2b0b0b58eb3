"""The catalog's use cases: load, apply the domain rules, save, and emit events through the outbox.

Every function runs inside the caller's transaction (an HTTP request's or a consumer's ``ctx.conn``), so
the state change and its events commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from catalog import domain, store
from catalog.search import search_text
from shared.cities import all_cities
from shared.envelope import EventPayload
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
from shared.events.learning import CertificateIssued
from shared.events.orders import OrderLineRejected, OrderPlaced
from shared.ids import new_id
from shared.logging import get_logger
from shared.outbox import emit as outbox_emit
from shared.problems import Problem

log = get_logger(__name__)

Emit = Callable[[EventPayload], Awaitable[Any]]
Row = dict[str, Any]


def emitter(conn: asyncpg.Connection, city: str, correlation_id: str | None = None) -> Emit:
    """An ``emit(payload)`` writing to the outbox in ``conn``'s transaction (for HTTP requests and workers)."""

    async def _emit(payload: EventPayload) -> Any:
        return await outbox_emit(conn, payload, city=city, correlation_id=correlation_id)

    return _emit


# ---- event payloads from rows -------------------------------------------------------------------------

def market_opened(m: Row) -> MarketOpened:
    return MarketOpened(market_id=m["id"], name=m["name"], kelurahan=m.get("kelurahan"), active=m["active"],
                        address=m.get("address") or None)


def rw_hub_registered(h: Row) -> RwHubRegistered:
    return RwHubRegistered(rw_hub_id=h["id"], name=h["name"], kelurahan=h["kelurahan"], rw=h["rw"],
                           address=h.get("address") or "", active=h["active"], bandwidth_mbps=h.get("bandwidth_mbps"))


def product_listed(p: Row, vendor_name: str | None) -> ProductListed:
    return ProductListed(product_id=p["id"], vendor_id=p["vendor_id"], market_id=p["market_id"], name=p["name"],
                         category=p["category"], unit=p["unit"], price=p["price"], min_per_order=p["min_per_order"],
                         max_per_order=p["max_per_order"], stock=p["stock"], available=p["available"],
                         photo_url=p.get("photo_url"), vendor_name=vendor_name)


def product_updated(p: Row, vendor_name: str | None) -> ProductUpdated:
    return ProductUpdated(product_id=p["id"], vendor_id=p["vendor_id"], market_id=p["market_id"], name=p["name"],
                          category=p["category"], unit=p["unit"], price=p["price"], min_per_order=p["min_per_order"],
                          max_per_order=p["max_per_order"], active=p["active"], stock=p["stock"],
                          available=p["available"], photo_url=p.get("photo_url"), vendor_name=vendor_name)


def stock_adjusted(p: Row) -> StockAdjusted:
    return StockAdjusted(product_id=p["id"], stock=p["stock"],
                         available=domain.is_available(p["stock"], p["available"]))


# ---- markets, stalls, RW hubs (city admin) ------------------------------------------------------------

async def create_market(conn: asyncpg.Connection, emit: Emit, city: str, data: Row) -> Row:
    market = await store.insert_market(conn, {**data, "city": city})
    if market is None:
        raise Problem(409, "Pasar dengan slug ini sudah ada. / A market with this slug exists.", code="market-exists")
    await emit(market_opened(market))
    return market


async def update_market(conn: asyncpg.Connection, emit: Emit, city: str, market_id: str, changes: Row) -> Row:
    market = await store.get_market(conn, city, market_id, lock=True)
    if market is None:
        raise not_found("Pasar", market_id)
    if changes:
        market = await store.update_market(conn, city, market_id, changes) or market
        await emit(market_opened(market))
    return market


async def create_stall(conn: asyncpg.Connection, city: str, market_id: str, data: Row) -> Row:
    if await store.get_market(conn, city, market_id) is None:
        raise not_found("Pasar", market_id)
    stall = await store.insert_stall(conn, {**data, "id": data.get("id") or new_id(), "city": city,
                                            "market_id": market_id})
    if stall is None:
        raise Problem(409, "Lapak ini sudah terdaftar. / This stall exists already.", code="stall-exists")
    return stall


async def create_rw_hub(conn: asyncpg.Connection, emit: Emit, city: str, data: Row) -> Row:
    hub = await store.insert_rw_hub(conn, {**data, "id": data.get("id") or new_id(), "city": city})
    if hub is None:
        raise Problem(409, "Hub RW ini sudah terdaftar. / This RW hub exists already.", code="rw-hub-exists")
    await emit(rw_hub_registered(hub))
    return hub


async def update_rw_hub(conn: asyncpg.Connection, emit: Emit, city: str, hub_id: str, changes: Row) -> Row:
    hub = await store.get_rw_hub(conn, city, hub_id)
    if hub is None:
        raise not_found("Hub RW", hub_id)
    if changes:
        try:
            hub = await store.update_rw_hub(conn, city, hub_id, changes) or hub
        except asyncpg.UniqueViolationError:
            raise Problem(409, "Hub RW ini sudah terdaftar. / This RW hub exists already.",
                          code="rw-hub-exists") from None
        await emit(rw_hub_registered(hub))
    return hub


# ---- vendors ------------------------------------------------------------------------------------------

async def onboard_vendor(conn: asyncpg.Connection, city: str, market_id: str, data: Row) -> Row:
    """A market admin registers a vendor of their market; it starts ``pending`` (verify, then activate)."""
    if await store.get_market(conn, city, market_id) is None:
        raise not_found("Pasar", market_id)
    await _check_stall(conn, city, market_id, data.get("stall_id"))
    vendor = await store.insert_vendor(conn, {**data, "id": new_id(), "city": city, "market_id": market_id,
                                              "status": "pending"})
    assert vendor is not None
    return vendor


async def _check_stall(conn: asyncpg.Connection, city: str, market_id: str, stall_id: str | None) -> None:
    if stall_id is None:
        return
    stall = await store.get_stall(conn, city, stall_id)
    if stall is None or stall["market_id"] != market_id:
        raise Problem(422, "Lapak tidak ditemukan di pasar ini. / No such stall in this market.",
                      code="unknown-stall")


async def change_vendor_status(conn: asyncpg.Connection, emit: Emit, city: str, vendor_id: str, action: str, *,
                               actor_market_id: str | None, reason: str | None = None,
                               market_id: str | None = None, stall_id: str | None = None) -> Row:
    """verify / activate / suspend, by a market admin of the vendor's market (or a city admin: any market).

    Verifying a draft (which has no market yet) assigns it to the admin's market (or ``market_id``).
    """
    vendor = await store.get_vendor(conn, city, vendor_id, lock=True)
    if vendor is None:
        raise not_found("Pedagang", vendor_id)
    target_market = vendor["market_id"] or market_id or actor_market_id
    if actor_market_id is not None and target_market != actor_market_id:
        raise Problem(403, "Pedagang ini bukan dari pasar Anda. / This vendor is not in your market.",
                      code="other-market")
    if market_id is not None and vendor["market_id"] is not None and market_id != vendor["market_id"]:
        raise Problem(409, "Pedagang sudah terdaftar di pasar lain. / The vendor belongs to another market.",
                      code="vendor-other-market")
    try:
        status = domain.vendor_transition(vendor["status"], action)
    except domain.TransitionError:
        raise Problem(409, f"Status pedagang '{vendor['status']}' tidak dapat di-{action}. / "
                           f"A {vendor['status']} vendor cannot be {action}d.", code="vendor-status") from None
    changes: Row = {}
    if vendor["market_id"] is None:
        if target_market is None:
            raise Problem(422, "Pilih pasar untuk pedagang ini. / Choose a market for this vendor.",
                          code="market-required")
        if await store.get_market(conn, city, target_market) is None:
            raise not_found("Pasar", target_market)
        changes["market_id"] = target_market
    if stall_id is not None:
        assert target_market is not None  # a market-less draft was refused just above
        await _check_stall(conn, city, target_market, stall_id)
        changes["stall_id"] = stall_id
    if status == vendor["status"] and not changes:
        return vendor  # already there: nothing changes, nothing is emitted
    changes["status"] = status
    if action == "verify":
        changes["verified_at"] = datetime.now(UTC)
    if action == "suspend":
        changes["suspended_reason"] = reason or "ditangguhkan oleh pengelola pasar"
    if action == "activate":
        changes["suspended_reason"] = None
        if vendor["verified_at"] is None:
            changes["verified_at"] = datetime.now(UTC)
    updated = await store.update_vendor(conn, city, vendor_id, changes)
    assert updated is not None
    if status != vendor["status"]:
        if status == "active":
            await emit(VendorActivated(vendor_id=vendor_id, market_id=updated["market_id"], name=updated["name"],
                                       participant_id=updated["participant_id"]))
        elif status == "suspended":
            await emit(VendorSuspended(vendor_id=vendor_id, reason=changes["suspended_reason"]))
    return updated


async def edit_vendor_profile(conn: asyncpg.Connection, city: str, vendor_id: str, changes: Row) -> Row:
    vendor = await store.get_vendor(conn, city, vendor_id, lock=True)
    if vendor is None:
        raise not_found("Pedagang", vendor_id)
    if "stall_id" in changes and changes["stall_id"] is not None:
        await _check_stall(conn, city, vendor["market_id"], changes["stall_id"])
    return (await store.update_vendor(conn, city, vendor_id, changes)) if changes else vendor  # type: ignore[return-value]


# ---- products (vendor) --------------------------------------------------------------------------------

def product_search_text(name: str, category: str, vendor_name: str | None, description: str = "") -> str:
    return search_text(name, category, vendor_name, description[:200])


async def create_product(conn: asyncpg.Connection, emit: Emit, city: str, vendor: Row, data: Row) -> Row:
    if vendor["status"] == "suspended":
        raise Problem(403, "Toko Anda sedang ditangguhkan. / Your shop is suspended.", code="vendor-suspended")
    if vendor["market_id"] is None:
        raise Problem(409, "Toko Anda belum terdaftar di pasar. / Your shop has no market yet.",
                      code="vendor-without-market")
    row = {**data, "id": new_id(), "city": city, "vendor_id": vendor["id"], "market_id": vendor["market_id"],
           "search_text": product_search_text(data["name"], data["category"], vendor["name"],
                                              data.get("description") or ""),
           "name_text": search_text(data["name"])}
    product = await store.insert_product(conn, row)
    assert product is not None
    await store.add_price_history(conn, city, product["id"], product["price"])
    await emit(product_listed(product, vendor["name"]))
    await emit(stock_adjusted(product))
    return product


async def load_own_product(conn: asyncpg.Connection, city: str, vendor_id: str | None, product_id: str) -> Row:
    """The product, locked, if it belongs to ``vendor_id``; 404 for another city's, 403 for another vendor's."""
    product = await store.lock_product(conn, city, product_id)
    if product is None:
        raise not_found("Produk", product_id)
    if product["vendor_id"] != vendor_id:
        raise Problem(403, "Produk ini milik pedagang lain. / This product belongs to another vendor.",
                      code="other-vendor")
    return product


async def edit_product(conn: asyncpg.Connection, emit: Emit, city: str, vendor: Row, product_id: str,
                       changes: Row) -> Row:
    product = await load_own_product(conn, city, vendor["id"], product_id)
    merged = {**product, **changes}
    if merged["max_per_order"] is not None and merged["max_per_order"] < merged["min_per_order"]:
        raise Problem(422, "Maksimal per pesanan harus ≥ minimal. / max_per_order must be ≥ min_per_order.",
                      code="invalid-order-limits")
    if not changes:
        return product
    if {"name", "category", "description"} & changes.keys():
        changes["search_text"] = product_search_text(merged["name"], merged["category"], vendor["name"],
                                                     merged.get("description") or "")
        changes["name_text"] = search_text(merged["name"])
    updated = await store.update_product(conn, city, product_id, changes)
    assert updated is not None
    await emit(product_updated(updated, vendor["name"]))
    if changes.get("active") is False and product["active"]:
        await emit(ProductDelisted(product_id=product_id))
    return updated


async def set_price(conn: asyncpg.Connection, emit: Emit, city: str, vendor_id: str | None, product_id: str,
                    price: int) -> Row:
    product = await load_own_product(conn, city, vendor_id, product_id)
    if product["price"] == price:
        return product
    updated = await store.update_product(conn, city, product_id, {"price": price})
    assert updated is not None
    await store.add_price_history(conn, city, product_id, price)
    await emit(PriceChanged(product_id=product_id, old_price=product["price"], new_price=price))
    return updated


async def set_stock(conn: asyncpg.Connection, emit: Emit, city: str, vendor_id: str | None, product_id: str,
                    changes: Row) -> Row:
    """Set the counted stock (or switch to not counted with ``stock: null``) and/or the available switch."""
    product = await load_own_product(conn, city, vendor_id, product_id)
    changes = {k: v for k, v in changes.items() if product[k] != v}
    if not changes:
        return product
    updated = await store.update_product(conn, city, product_id, changes)
    assert updated is not None
    await emit(stock_adjusted(updated))
    return updated


async def delist_product(conn: asyncpg.Connection, emit: Emit, city: str, vendor_id: str | None,
                         product_id: str) -> Row:
    product = await load_own_product(conn, city, vendor_id, product_id)
    if not product["active"]:
        return product
    updated = await store.update_product(conn, city, product_id, {"active": False})
    assert updated is not None
    await emit(ProductDelisted(product_id=product_id))
    return updated


# ---- stock reservations (order events) ----------------------------------------------------------------

async def reserve_stock(conn: asyncpg.Connection, emit: Emit, city: str, order: OrderPlaced) -> str:
    """All lines or none, in this one transaction, products locked in id order. Returns the outcome.

    The order placed again (a new event id: the orders grace worker's one nudge) reserves nothing more; the
    answer already given is re-sent instead, so a lost answer does not leave the order stuck.
    """
    if not await store.claim_reservation(conn, order.order_id, city, order.market_id, "held"):
        return await repeat_answer(conn, emit, city, order)
    requests = [domain.LineRequest(x.product_id, x.vendor_id, x.quantity) for x in order.lines]
    ids = sorted({x.product_id for x in requests})
    locked = await store.lock_products_for_reservation(conn, ids)
    products = {r["id"]: domain.ProductStock(
        product_id=r["id"], city=r["city"], market_id=r["market_id"], vendor_id=r["vendor_id"], active=r["active"],
        available=r["available"], stock=r["stock"], min_per_order=r["min_per_order"],
        max_per_order=r["max_per_order"], vendor_active=r["vendor_active"]) for r in locked}
    plan = domain.plan_reservation(requests, products, city=city, market_id=order.market_id)
    if not plan.ok:
        rejected = plan.rejected or [(x.product_id, "empty_order") for x in requests]
        await store.set_reservation(conn, order.order_id, "rejected", reason=rejected[0][1] if rejected else "empty")
        answer: StockRejected | StockReserved = StockRejected(
            order_id=order.order_id, rejected=[RejectedLine(product_id=p, reason=r) for p, r in rejected])
        await store.set_answer(conn, order.order_id, answer.model_dump(mode="json"))
        await emit(answer)
        return "rejected"
    tracked = [(t.product_id, t.quantity) for t in plan.takes if t.tracked]
    if tracked:
        changed = await store.take_stock(conn, tracked)
        if len(changed) != len(tracked):  # impossible under the row locks; never oversell if it happens
            raise RuntimeError(f"stock changed under lock for order {order.order_id}")
        for row in changed:
            await emit(stock_adjusted(row))
    await store.insert_reservation_lines(conn, order.order_id, [(t.product_id, t.quantity, t.tracked)
                                                                for t in plan.takes])
    city_cfg = all_cities().get(city)
    expires_at = domain.reservation_deadline(datetime.now(UTC), city_cfg.payment_expiry_minutes if city_cfg else 15)
    await store.set_reservation(conn, order.order_id, "held", expires_at=expires_at)
    answer = StockReserved(order_id=order.order_id, expires_at=expires_at, lines=[
        OrderLine(product_id=x.product_id, vendor_id=x.vendor_id, quantity=x.quantity, unit_price=x.unit_price)
        for x in order.lines])
    await store.set_answer(conn, order.order_id, answer.model_dump(mode="json"))
    await emit(answer)
    return "reserved"


async def repeat_answer(conn: asyncpg.Connection, emit: Emit, city: str, order: OrderPlaced) -> str:
    """Re-send the recorded StockReserved/StockRejected for an order placed again; never reserve twice."""
    reservation = await store.lock_reservation(conn, order.order_id)
    if reservation is None or reservation["city"] != city:
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
    await emit(payload)
    log.info("order placed again; answer re-sent", order_id=order.order_id, answer=kind)
    return "answer_resent"


async def apply_order_outcome(conn: asyncpg.Connection, emit: Emit, city: str, order_id: str, order_event: str, *,
                              reason: str = "", paid: bool = False) -> str | None:
    """OrderPaid → commit; OrderCancelled → release or restock; OrderPaymentExpired / deadline → release.

    Guarded by the reservation's current status: duplicates and out-of-order events change nothing.
    """
    reservation = await store.lock_reservation(conn, order_id)
    if reservation is None:
        if order_event in ("OrderCancelled", "OrderPaymentExpired"):
            # The order ended before we saw it placed: remember, so a late OrderPlaced reserves nothing.
            await store.claim_reservation(conn, order_id, city, None, "released")
        return None
    if reservation["city"] != city:
        log.warning("order event for another city's reservation ignored", order_id=order_id)
        return None
    nxt = domain.reservation_after(reservation["status"], order_event, paid=paid)
    if nxt is None:
        return None
    lines = await store.reservation_lines(conn, order_id)
    # lines (or parts) a vendor rejected came back already: neither committed nor given back a second time
    refs = [LineRef(product_id=x["product_id"], quantity=x["quantity"] - x["returned"]) for x in lines
            if x["quantity"] > x["returned"]]
    if nxt == "committed":
        await store.set_reservation(conn, order_id, "committed")
        await emit(StockCommitted(order_id=order_id, lines=refs))
        return nxt
    for row in await store.give_back_stock(conn, order_id):
        await emit(stock_adjusted(row))
    await store.set_reservation(conn, order_id, nxt, reason=reason or order_event)
    await emit(StockReleased(order_id=order_id, reason=reason or order_event, lines=refs,
                             restocked=nxt == "restocked"))
    return nxt


async def return_rejected_line(conn: asyncpg.Connection, emit: Emit, city: str, event: OrderLineRejected) -> str:
    """A vendor rejected one line of a paid order: that line's quantity goes back on the shelf (committed
    reservation: restock; still only held: the line's hold is released), once per order line.

    Guarded by the reservation's status and by the line's record: a repeat, a line of a reservation already
    released/restocked, or a product the reservation does not hold changes nothing. A later ``OrderCancelled``
    then gives back only the other lines.
    """
    reservation = await store.lock_reservation(conn, event.order_id)
    if reservation is None or reservation["city"] != city:
        log.warning("rejected line of an order without a reservation here; ignored", order_id=event.order_id)
        return "no_reservation"
    line = next((x for x in await store.reservation_lines(conn, event.order_id)
                 if x["product_id"] == event.product_id), None)
    if line is None:
        log.warning("rejected line's product is not in the reservation; ignored", order_id=event.order_id,
                    product_id=event.product_id)
        return "unknown_line"
    step = domain.line_give_back(reservation["status"], event.quantity, line["quantity"], line["returned"])
    if step is None:
        return "no_change"
    effect, quantity = step
    if not await store.claim_line_return(conn, event.order_id, event.line_id, city, event.product_id, quantity,
                                         event.reason[:200]):
        return "duplicate"
    if quantity:
        row = await store.give_back_line(conn, event.order_id, event.product_id, quantity)
        if row is not None:
            await emit(stock_adjusted(row))
    log.info("rejected line given back", order_id=event.order_id, product_id=event.product_id, quantity=quantity,
             effect=effect)
    return effect


async def release_due_reservations(pool: asyncpg.Pool, limit: int = 200) -> int:
    """Release held reservations past their deadline, one transaction each (so product locks stay ordered)."""
    released = 0
    for _ in range(limit):
        async with pool.acquire() as conn, conn.transaction():
            due = await store.due_reservations(conn, 1)
            if not due:
                break
            r = due[0]
            await apply_order_outcome(conn, emitter(conn, r["city"]), r["city"], r["order_id"], "expired",
                                      reason="reservation_expired")
            released += 1
    return released


# ---- training certificates ----------------------------------------------------------------------------

async def on_certificate(conn: asyncpg.Connection, emit: Emit, city: str, cert: CertificateIssued) -> str:
    """Linked vendor → Terlatih badge; otherwise a business owner (pelaku_usaha) gets a vendor draft."""
    vendor: Row | None = None
    if cert.vendor_id:
        vendor = await store.get_vendor(conn, city, cert.vendor_id, lock=True)
    if vendor is None:
        vendor = await store.vendor_by_participant(conn, city, cert.participant_id)
    if vendor is not None:
        if vendor["trained"] and vendor["certificate_code"] == cert.certificate_code:
            return "already_trained"
        changes: Row = {"trained": True, "certificate_code": cert.certificate_code}
        if vendor["participant_id"] is None:
            other = await store.vendor_by_participant(conn, city, cert.participant_id)
            if other is None:
                changes["participant_id"] = cert.participant_id
        await store.update_vendor(conn, city, vendor["id"], changes)
        await emit(VendorTrainedBadgeGranted(vendor_id=vendor["id"], certificate_code=cert.certificate_code,
                                             participant_id=cert.participant_id))
        return "badge_granted"
    if cert.participant_group != "pelaku_usaha":
        return "no_vendor"
    name = (cert.participant_name or "Pelaku Usaha").strip()[:100] or "Pelaku Usaha"
    draft = await store.insert_vendor(conn, {
        "id": new_id(), "city": city, "market_id": None, "name": f"Usaha {name}"[:120], "owner_name": name,
        "phone": cert.participant_phone, "whatsapp": cert.participant_phone, "status": "draft", "trained": True,
        "certificate_code": cert.certificate_code, "participant_id": cert.participant_id})
    if draft is None:
        return "duplicate"
    await emit(VendorDraftOpened(vendor_id=draft["id"], participant_id=cert.participant_id, owner_name=name))
    return "draft_opened"


def not_found(what: str, ident: str) -> Problem:
    english = {"Pasar": "Market", "Produk": "Product", "Pedagang": "Vendor", "Hub RW": "RW hub",
               "Lapak": "Stall"}.get(what, what)
    return Problem(404, f"{what} tidak ditemukan. / {english} not found.", code="not-found", id=ident[:80])
