"""The use cases of orders, each ``async def verb(uow, command_or_event)``: load, decide, save, emit.

``uow`` is the kernel's unit of work (``shared.uow``), already inside its transaction: ``uow.store`` is this
service's :class:`~orders.store.OrdersStore`, ``uow.emit(payload)`` adds an event to the outbox of the same
transaction (correlated with the request or event that caused it), ``uow.this_city`` is the city of the work.
No SQL, no connection, no HTTP here; errors are the domain's (``shared.errors``).

Three kinds:

* **projections** of catalog's events (``orders.projections``): keep orders' own copy of products, markets,
  RW hubs and vendors — always in the envelope's city, never in the one an id would point to;
* **the saga** (``orders.saga``): catalog's and payments' answers move an order through its states;
* **commands** people give over HTTP: checkout, cancel, the vendor's work, pickup.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from orders import policy, views
from orders.delivery import DeliveryRequest, DeliveryRules, plan_delivery
from orders.domain import CartItem, CheckoutRejected, Fulfilment, Order, PickupResult, order_not_found, plan_lines
from orders.store import OrdersStore
from shared.auth import Principal
from shared.bus import Incoming
from shared.envelope import EventPayload
from shared.events import catalog as cat
from shared.events import payments as pay
from shared.events.identity import AccountDeletionRequested
from shared.ids import new_id
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)

Uow = UnitOfWork[OrdersStore]  # what every use case here receives


def new_pickup_code() -> str:
    """Six random digits from the OS's CSPRNG (a guessable code would let anyone collect the order)."""
    return f"{secrets.randbelow(1_000_000):06d}"


# ---------------------------------------------------------------------------------------- projections

async def on_product_listed(uow: Uow, e: cat.ProductListed) -> None:
    if not await uow.store.upsert_product(uow.this_city, e):
        _ignored(uow, "product", e.product_id)


async def on_product_updated(uow: Uow, e: cat.ProductUpdated) -> None:
    if not await uow.store.upsert_product(uow.this_city, e, active=e.active):
        _ignored(uow, "product", e.product_id)


async def on_price_changed(uow: Uow, e: cat.PriceChanged) -> None:
    if not await uow.store.set_price(uow.this_city, e.product_id, e.new_price):
        _ignored(uow, "product", e.product_id)


async def on_stock_adjusted(uow: Uow, e: cat.StockAdjusted) -> None:
    if not await uow.store.set_stock(uow.this_city, e.product_id, e.stock, e.available):
        _ignored(uow, "product", e.product_id)


async def on_product_delisted(uow: Uow, e: cat.ProductDelisted) -> None:
    if not await uow.store.delist(uow.this_city, e.product_id):
        _ignored(uow, "product", e.product_id)


async def on_market_opened(uow: Uow, e: cat.MarketOpened) -> None:
    if not await uow.store.upsert_market(uow.this_city, e.market_id, e.name, e.kelurahan, e.active):
        _ignored(uow, "market", e.market_id)


async def on_rw_hub_registered(uow: Uow, e: cat.RwHubRegistered) -> None:
    if not await uow.store.upsert_hub(uow.this_city, e):
        _ignored(uow, "rw hub", e.rw_hub_id)


async def on_vendor_activated(uow: Uow, e: cat.VendorActivated) -> None:
    if not await uow.store.set_vendor(uow.this_city, e.vendor_id, suspended=False, market_id=e.market_id,
                                      name=e.name):
        _ignored(uow, "vendor", e.vendor_id)


async def on_vendor_suspended(uow: Uow, e: cat.VendorSuspended) -> None:
    if not await uow.store.set_vendor(uow.this_city, e.vendor_id, suspended=True):
        _ignored(uow, "vendor", e.vendor_id)


def _ignored(uow: Uow, what: str, thing_id: str) -> None:
    log.warning("projection event for a row of another city (or for none); ignored", what=what, id=thing_id,
                city=uow.this_city)


# ---------------------------------------------------------------------------------------- the saga

# What each answer of catalog and payments does to its order, in the pure domain.
SAGA_TRANSITIONS: dict[type[EventPayload], Callable[[Order, Any], list[EventPayload]]] = {
    cat.StockReserved: lambda o, e: o.stock_reserved(),
    cat.StockRejected: lambda o, e: o.stock_rejected(),
    pay.PaymentRequested: lambda o, e: o.payment_requested(e.payment_id, e.qris, e.expires_at),
    pay.PaymentSucceeded: lambda o, e: o.payment_succeeded(e.payment_id, e.amount),
    pay.PaymentExpired: lambda o, e: o.payment_expired(e.payment_id),
    pay.PaymentRefunded: lambda o, e: o.payment_refunded(e.amount, e.reason),
    pay.PaymentFailed: lambda o, e: o.payment_failed(),
}


async def on_saga_events(uow: Uow, items: list[Incoming]) -> None:
    """The saga, set-based (a payment burst is thousands of these a second): every order of the polled batch is
    loaded and locked with one query, each event is decided in the pure domain in Kafka order (an order met twice
    in a batch sees its own earlier step), and every changed order is written back with one statement per table.
    The same guards as one event at a time: unknown orders or another city's, and no-op transitions, change
    nothing. On the kernel's one-by-one fallback path this receives a list of one."""
    orders = await uow.store.load_many([item.event.order_id for item in items], for_update=True)
    touched: dict[str, Order] = {}
    for item in items:
        scoped = uow.caused_by(item.envelope)
        order_id = item.event.order_id
        order = orders.get(order_id)
        if order is None or order.city != scoped.this_city:
            log.warning("event for an order this city does not have; ignored", order_id=order_id,
                        event_type=item.envelope.event_type)
            continue
        changes = order.changes
        events = SAGA_TRANSITIONS[type(item.event)](order, item.event)
        if order.changes == changes:
            log.info("event does not apply in the current state; no-op", order_id=order_id,
                     status=order.status.value, event_type=item.envelope.event_type)
            continue
        touched[order_id] = order
        for event in events:
            scoped.emit(event)
    await uow.store.save_many(list(touched.values()))


# ---------------------------------------------------------------------------------------- commands

@dataclass(frozen=True)
class PlaceOrder:
    """A buyer's checkout of one market's cart. ``body_hash`` is the request's ``request_hash`` (for the
    ``Idempotency-Key``); ``delivery_fee`` is the city's flat fee."""

    buyer_id: str
    market_id: str
    items: tuple[CartItem, ...]
    fulfilment: Fulfilment
    delivery_fee: int
    idempotency_key: str | None = None
    body_hash: str = ""
    # the city's delivery zones and slots, and what the buyer asked for (None: the flat fee, no slots)
    delivery_rules: DeliveryRules | None = None
    delivery_request: DeliveryRequest | None = None
    timezone: str = "Asia/Jakarta"
    now: datetime | None = None


@dataclass(frozen=True)
class Answer:
    """What a command answered: a status and the body (replayed as-is for a repeated ``Idempotency-Key``)."""

    status: int
    body: dict[str, Any]


async def place_order(uow: Uow, cmd: PlaceOrder) -> Answer:
    """Validate the cart against the projections, create the order and OrderPlaced in one unit of work.

    A repeated ``Idempotency-Key`` answers the first request's response; an invalid cart raises
    ``CheckoutRejected`` and the unit of work rolls back, so nothing is created.
    """
    city = uow.this_city
    scope = f"checkout:{city}:{cmd.buyer_id}"
    replay = await uow.replay(scope, cmd.idempotency_key, cmd.body_hash)
    if replay is not None:
        return Answer(replay[0], dict(replay[1]))
    fulfilment, fee = cmd.fulfilment, cmd.delivery_fee
    if fulfilment.type == "delivery" and cmd.delivery_rules is not None:
        plan = plan_delivery(cmd.delivery_rules, ZoneInfo(cmd.timezone), cmd.delivery_request,
                             cmd.now or datetime.now(UTC))
        taken = await uow.store.slot_taken(city, cmd.market_id, plan.slot_date.isoformat(), plan.slot_window)
        if taken >= cmd.delivery_rules.slot_capacity:
            raise CheckoutRejected("slot-full", "Waktu pengiriman itu sudah penuh; pilih waktu lain. / "
                                                "That delivery slot is full.")
        fulfilment, fee = Fulfilment("delivery", address=plan.address, delivery=plan.as_dict()), plan.fee
    products = await uow.store.products(city, [i.product_id for i in cmd.items])
    hub = await uow.store.hub(fulfilment.rw_hub_id)
    known = await uow.store.market_known(city, cmd.market_id)
    lines = plan_lines(city, cmd.market_id, list(cmd.items), products, fulfilment, hub, known)
    order, events = Order.place(order_id=new_id(), city=city, buyer_id=cmd.buyer_id, market_id=cmd.market_id,
                                fulfilment=fulfilment, lines=lines, delivery_fee=fee)
    await uow.store.insert(order)
    for event in events:
        uow.emit(event)
    answer = Answer(201, views.order_body(order, show_code=True))
    await uow.remember(scope, cmd.idempotency_key, cmd.body_hash, answer.status, answer.body)
    return answer


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    who: Principal


@dataclass(frozen=True)
class LineCommand:
    """A vendor's decision on one line: accept it, or reject it (``reason``)."""

    order_id: str
    line_id: str
    who: Principal
    reason: str = "unavailable"


@dataclass(frozen=True)
class OrderCommand:
    """A command on a whole order that needs nothing but the order and who gives it."""

    order_id: str
    who: Principal


@dataclass(frozen=True)
class ConfirmPickup:
    order_id: str
    code: str
    who: Principal


async def cancel_order(uow: Uow, cmd: CancelOrder) -> Order:
    """Before paying: Dibatalkan. Paid but nothing packed yet: cancelled with a full refund."""
    order = await _order_for(uow, cmd.order_id, lambda o: policy.may_cancel(cmd.who, o))
    return await _save(uow, order, order.cancel("buyer_cancelled"))


async def accept_line(uow: Uow, cmd: LineCommand) -> Order:
    vendor_id = policy.vendor_of(cmd.who)
    order = await _order_for(uow, cmd.order_id, lambda o: policy.is_vendor_of(vendor_id, o))
    return await _save(uow, order, order.accept_line(vendor_id, cmd.line_id))


async def reject_line(uow: Uow, cmd: LineCommand) -> Order:
    """The vendor cannot supply a line: that line is refunded; with no line left the order is cancelled."""
    vendor_id = policy.vendor_of(cmd.who)
    order = await _order_for(uow, cmd.order_id, lambda o: policy.is_vendor_of(vendor_id, o))
    return await _save(uow, order, order.reject_line(vendor_id, cmd.line_id, new_pickup_code, cmd.reason))


async def mark_prepared(uow: Uow, cmd: OrderCommand) -> Order:
    """All the vendor's lines are packed; when every vendor is done the order is Siap Diambil."""
    vendor_id = policy.vendor_of(cmd.who)
    order = await _order_for(uow, cmd.order_id, lambda o: policy.is_vendor_of(vendor_id, o))
    return await _save(uow, order, order.mark_prepared(vendor_id, new_pickup_code))


async def confirm_pickup(uow: Uow, cmd: ConfirmPickup) -> tuple[Order, PickupResult]:
    """The buyer's code → Selesai. A wrong code is counted (and committed); the caller answers with
    ``result.refusal()``."""
    order = await _order_for(uow, cmd.order_id, lambda o: policy.may_confirm_pickup(cmd.who, o))
    result, events = order.confirm_pickup(cmd.code)
    return await _save(uow, order, events), result


async def unlock_pickup(uow: Uow, cmd: OrderCommand) -> Order:
    """Market or city staff give a locked pickup its attempts back (after checking the buyer in person); on the
    audit list with the attempts before → after and how the buyer was checked."""
    order = await _order_for(uow, cmd.order_id, lambda o: policy.may_unlock_pickup(cmd.who, o))
    before = {"pickup_attempts": order.pickup_attempts, "pickup_locked": order.pickup_locked}
    events = order.unlock_pickup()
    after = {"pickup_attempts": order.pickup_attempts, "pickup_locked": order.pickup_locked,
             "market_id": order.market_id}
    note = getattr(cmd, "checked", "") or ""
    if note:
        after["checked"] = note
    uow.audit(cmd.who, "order", order.order_id, "pickup_unlocked", before=before, after=after)
    return await _save(uow, order, events)


# ---------------------------------------------------------------------------------------- shared steps

async def _order_for(uow: Uow, order_id: str, allowed: Callable[[Order], bool]) -> Order:
    """The order, locked for this unit of work — or 404 if it is not this city's or not the caller's."""
    order = await uow.store.load(order_id, for_update=True)
    if order is None or order.city != uow.this_city or not allowed(order):
        raise order_not_found()
    return order


async def _save(uow: Uow, order: Order, events: list[EventPayload]) -> Order:
    """Save the changed order (optimistically) and put its events in the outbox of the same transaction."""
    await uow.store.save(order)
    for event in events:
        uow.emit(event)
    return order


async def on_account_deletion_requested(uow: Uow, event: AccountDeletionRequested) -> None:
    """A buyer asked for deletion: delivery addresses leave their orders; amounts, dates, ids and statuses stay
    (money records). The buyer id is identity's opaque account id, which no longer leads to a name or phone."""
    forgotten = await uow.store.forget_buyer_addresses(event.account_id)
    couriered = await uow.store.forget_courier(event.account_id)
    log.info("personal data removed", account_id=event.account_id, orders=forgotten, deliveries=couriered)


# ------------------------------------------------------------------------------------------------ courier

@dataclass(frozen=True)
class CourierCommand:
    """A courier of the order's market acts on a delivery: claim (with the name and phone the buyer sees),
    dispatch, deliver with the buyer's code, or report a failed delivery."""

    order_id: str
    who: Principal
    name: str = ""
    phone: str | None = None
    code: str = ""
    reason: str = ""


async def _delivery_for(uow: Uow, cmd: CourierCommand) -> Order:
    return await _order_for(uow, cmd.order_id, lambda o: policy.is_courier_of(cmd.who, o))


async def claim_delivery(uow: Uow, cmd: CourierCommand) -> Order:
    order = await _delivery_for(uow, cmd)
    return await _save(uow, order, order.claim_delivery(cmd.who.sub, cmd.name, cmd.phone))


async def dispatch_delivery(uow: Uow, cmd: CourierCommand) -> Order:
    order = await _delivery_for(uow, cmd)
    return await _save(uow, order, order.dispatch(cmd.who.sub))


async def deliver(uow: Uow, cmd: CourierCommand) -> tuple[Order, PickupResult]:
    """The buyer's code at the door → Selesai; a wrong code is counted (and committed)."""
    order = await _delivery_for(uow, cmd)
    result, events = order.deliver(cmd.who.sub, cmd.code)
    return await _save(uow, order, events), result


async def delivery_failed(uow: Uow, cmd: CourierCommand) -> Order:
    order = await _delivery_for(uow, cmd)
    return await _save(uow, order, order.delivery_failed(cmd.who.sub, cmd.reason))


# ---------------------------------------------------------- rebuild from catalog's compacted state topics

async def on_product_state(uow: Uow, e: cat.ProductStateChanged) -> None:
    """A product as it is now (``pasarkota projections rebuild orders``): the row the change events built."""
    if not await uow.store.put_product_state(uow.this_city, e):
        _ignored(uow, "product", e.product_id)


async def on_vendor_state(uow: Uow, e: cat.VendorStateChanged) -> None:
    """A vendor as it is now; only vendors that were activated are known to checkout (as the change events do)."""
    if e.status not in ("active", "suspended") or e.market_id is None:
        return
    if not await uow.store.set_vendor(uow.this_city, e.vendor_id, suspended=e.status == "suspended",
                                      market_id=e.market_id, name=e.name):
        _ignored(uow, "vendor", e.vendor_id)


@dataclass(frozen=True)
class UnlockPickup(OrderCommand):
    """Unlock a locked pickup, saying how the buyer was checked in person (kept on the audit list)."""

    checked: str = ""
