"""The Order aggregate: a guarded state machine. Plain Python: no IO, no framework.

Every method either changes the order (bumping ``version`` once and returning the events to emit) or, for
an event that is valid but does not apply in the current state (a duplicate, an out-of-order delivery),
changes nothing and returns no events. Commands a person gives (cancel, accept, prepare, pickup) that are
not allowed in the current state raise :class:`OrderConflict` (a ``shared.errors.Conflict``); a cart that
cannot become an order raises :class:`CheckoutRejected` (a ``shared.errors.Invalid``). The domain never
knows an HTTP status: ``shared/problems.py`` maps the kinds (conflict 409, invalid 422, not-found 404).

    placed ─StockReserved→ stock_reserved ─PaymentRequested→ awaiting_payment ─PaymentSucceeded→ paid
      │                        │                               │
      └StockRejected→ rejected └──────PaymentExpired───────────┴→ payment_expired
    placed|stock_reserved|awaiting_payment ─buyer cancel→ cancelled
    paid ─vendor accepts/prepares→ preparing ─all lines prepared→ ready (pickup code) ─code→ completed
    paid|preparing (nothing prepared) ─buyer cancel / every line rejected→ refund_requested ─PaymentRefunded→ refunded
    ready (delivery) ─courier claims, leaves→ out_for_delivery ─buyer's code at the door→ completed
                     out_for_delivery ─delivery failed→ ready (back at the market, courier cleared)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.envelope import EventPayload
from shared.errors import Conflict, DomainError, Invalid, NotFound, not_found
from shared.events.common import OrderLine as WireLine
from shared.events.orders import (
    OrderCancelled,
    OrderCompleted,
    OrderCourierAssigned,
    OrderDeliveryFailed,
    OrderLineRejected,
    OrderOutForDelivery,
    OrderPaid,
    OrderPaymentExpired,
    OrderPaymentRequested,
    OrderPlaced,
    OrderReady,
    RefundRequested,
)
from shared.measure import grams_label, line_amount, quantity_label

MAX_PICKUP_ATTEMPTS = 5
MAX_LINES = 50
MAX_QUANTITY = 1000
MAX_GRAMS = 100_000  # 100 kg of one weighed product in one order


class Status(StrEnum):
    PLACED = "placed"
    STOCK_RESERVED = "stock_reserved"
    REJECTED = "rejected"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    PREPARING = "preparing"
    READY = "ready"
    OUT_FOR_DELIVERY = "out_for_delivery"
    COMPLETED = "completed"
    PAYMENT_EXPIRED = "payment_expired"
    CANCELLED = "cancelled"
    REFUND_REQUESTED = "refund_requested"
    REFUNDED = "refunded"


STATUS_LABELS: dict[Status, str] = {
    Status.PLACED: "Menunggu Konfirmasi",
    Status.STOCK_RESERVED: "Menyiapkan Pembayaran",
    Status.REJECTED: "Dibatalkan",
    Status.AWAITING_PAYMENT: "Menunggu Pembayaran",
    Status.PAID: "Dibayar",
    Status.PREPARING: "Dikemas",
    Status.READY: "Siap Diambil",
    Status.OUT_FOR_DELIVERY: "Dikirim",
    Status.COMPLETED: "Selesai",
    Status.PAYMENT_EXPIRED: "Waktu Pembayaran Habis",
    Status.CANCELLED: "Dibatalkan",
    Status.REFUND_REQUESTED: "Pengembalian Dana Diproses",
    Status.REFUNDED: "Dana Dikembalikan",
}

# States in which nothing more happens to the order (except recording a refund that payments made).
TERMINAL = frozenset({Status.REJECTED, Status.COMPLETED, Status.PAYMENT_EXPIRED, Status.CANCELLED,
                      Status.REFUNDED})
# PaymentRefunded reasons for money that was not the order's own payment (payments returns it by itself)
EXTRA_PAYMENT_REFUNDS = frozenset({"late_payment", "duplicate_payment"})
UNPAID_OPEN = frozenset({Status.PLACED, Status.STOCK_RESERVED, Status.AWAITING_PAYMENT})
VENDOR_WORK = frozenset({Status.PAID, Status.PREPARING})


class LineStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PREPARED = "prepared"


LINE_LABELS: dict[LineStatus, str] = {
    LineStatus.PENDING: "Menunggu Pedagang",
    LineStatus.ACCEPTED: "Diterima Pedagang",
    LineStatus.REJECTED: "Ditolak Pedagang",
    LineStatus.PREPARED: "Sudah Dikemas",
}


def status_label(status: Status | str, fulfilment: str = "pickup_stall") -> str:
    status = Status(status)
    if status is Status.READY and fulfilment == "delivery":
        return "Siap Dikirim"
    return STATUS_LABELS[status]


class OrderConflict(Conflict):
    """A command not allowed in the order's current state; nothing changes."""


class CheckoutRejected(Invalid):
    """The cart cannot become an order; nothing is created."""


def order_not_found() -> NotFound:
    """The order does not exist, is another city's, or is not the caller's to see (never reveal which)."""
    return not_found("Pesanan", "Order", "order-not-found")


# ------------------------------------------------------------------------------------------- checkout


@dataclass(frozen=True)
class ProductView:
    """What orders knows about a product, from catalog's events."""

    product_id: str
    city: str
    vendor_id: str
    market_id: str
    name: str
    unit: str
    price: int
    min_per_order: int = 1
    max_per_order: int | None = None
    sellable: bool = True  # active, available, not delisted, vendor not suspended
    sold_by: str = "piece"  # "weight": price per kg, quantities in grams (shared.measure)
    step_grams: int | None = None
    stock: int | None = None  # as catalog last announced it (catalog's reservation stays the authority)


@dataclass(frozen=True)
class HubView:
    rw_hub_id: str
    city: str
    active: bool = True


@dataclass(frozen=True)
class CartItem:
    product_id: str
    quantity: int
    note: str | None = None


@dataclass(frozen=True)
class Fulfilment:
    type: str  # pickup_stall | pickup_rw_hub | delivery
    rw_hub_id: str | None = None
    address: str | None = None
    delivery: dict[str, Any] | None = None  # a checked delivery (orders.delivery.DeliveryPlan.as_dict())


@dataclass
class Line:
    line_id: str
    product_id: str
    vendor_id: str
    name: str
    unit: str
    quantity: int
    unit_price: int
    note: str | None = None
    status: LineStatus = LineStatus.PENDING
    sold_by: str = "piece"  # "weight": quantity in grams, unit_price per kg

    @property
    def amount(self) -> int:
        return line_amount(self.quantity, self.unit_price, self.sold_by)

    @property
    def quantity_label(self) -> str:
        return quantity_label(self.quantity, self.unit, self.sold_by)

    def wire(self) -> WireLine:
        return WireLine(product_id=self.product_id, vendor_id=self.vendor_id, quantity=self.quantity,
                        unit_price=self.unit_price, name=self.name or None, unit=self.unit or None,
                        sold_by=self.sold_by, amount=self.amount)


def _check_weight(product: ProductView, grams: int) -> None:
    """A weighed quantity: grams, a multiple of the product's step, within its limits (also in grams)."""
    step = product.step_grams or 1
    lower = max(product.min_per_order, step)
    upper = min(product.max_per_order or MAX_GRAMS, MAX_GRAMS)
    if grams % step:
        raise CheckoutRejected("quantity-not-a-step", f"'{product.name}' dijual per {grams_label(step)}: "
                                                      f"{grams_label(grams)} bukan kelipatannya. / The quantity "
                                                      f"must be a multiple of {step} g.", step_grams=step)
    if grams < lower or grams > upper:
        raise CheckoutRejected("quantity-out-of-range",
                               f"Berat '{product.name}' harus {grams_label(lower)}–{grams_label(upper)}. / "
                               f"Weight must be between {lower} and {upper} g.")
    if product.stock is not None and grams > product.stock:
        # said at once, as the buyer weighs it out; catalog's reservation still decides under concurrency
        raise CheckoutRejected("insufficient-stock", f"Stok '{product.name}' tinggal {grams_label(product.stock)}. / "
                                                     f"Only {product.stock} g left.", stock_grams=product.stock)


def plan_lines(city: str, market_id: str, items: list[CartItem], products: dict[str, ProductView],
               fulfilment: Fulfilment, hub: HubView | None, market_known: bool) -> list[Line]:
    """Validate a cart against orders' projections; the lines with catalog's prices, or CheckoutRejected."""
    if not items:
        raise CheckoutRejected("empty-cart", "Keranjang kosong. / The cart is empty.")
    if len(items) > MAX_LINES:
        raise CheckoutRejected("too-many-lines",
                               f"Maksimal {MAX_LINES} barang per pesanan. / At most {MAX_LINES} lines.")
    if not market_known:
        raise CheckoutRejected("unknown-market", "Pasar tidak dikenal di kota ini. / Unknown market in this city.")
    if fulfilment.type == "pickup_rw_hub":
        if not fulfilment.rw_hub_id:
            raise CheckoutRejected("rw-hub-required", "Pilih RW tempat pengambilan. / rw_hub_id is required.")
        if hub is None or hub.city != city or not hub.active:
            raise CheckoutRejected("unknown-rw-hub",
                                   "RW hub tidak ditemukan di kota ini. / Unknown RW hub in this city.")
    if fulfilment.type == "delivery" and not (fulfilment.address or "").strip():
        raise CheckoutRejected("address-required",
                               "Alamat pengiriman wajib diisi. / A delivery address is required.")
    seen: set[str] = set()
    lines: list[Line] = []
    for n, item in enumerate(items, start=1):
        if item.product_id in seen:
            raise CheckoutRejected("duplicate-product", "Produk yang sama muncul dua kali; gabungkan jumlahnya. / "
                                                        f"Product {item.product_id} appears twice.")
        seen.add(item.product_id)
        product = products.get(item.product_id)
        if product is None or product.city != city:
            raise CheckoutRejected("unknown-product",
                                   f"Produk {item.product_id} tidak ditemukan. / Unknown product.")
        if product.market_id != market_id:
            raise CheckoutRejected("product-other-market", f"Produk '{product.name}' dari pasar lain. / "
                                                           "The product belongs to another market.")
        if not product.sellable:
            raise CheckoutRejected("product-unavailable", f"Produk '{product.name}' sedang tidak dijual. / "
                                                          "The product is not available.")
        if product.sold_by == "weight":
            _check_weight(product, item.quantity)
        else:
            upper = min(product.max_per_order or MAX_QUANTITY, MAX_QUANTITY)
            if item.quantity < max(product.min_per_order, 1) or item.quantity > upper:
                raise CheckoutRejected("quantity-out-of-range",
                                       f"Jumlah '{product.name}' harus {max(product.min_per_order, 1)}–{upper}. "
                                       f"/ Quantity must be between {product.min_per_order} and {upper}.")
        lines.append(Line(line_id=f"L{n}", product_id=product.product_id, vendor_id=product.vendor_id,
                          name=product.name, unit=product.unit, quantity=item.quantity,
                          unit_price=product.price, note=(item.note or None), sold_by=product.sold_by))
    return lines


# ------------------------------------------------------------------------------------------- aggregate


@dataclass
class PickupResult:
    ok: bool
    locked: bool = False
    attempts_left: int = 0

    def refusal(self) -> DomainError | None:
        """Why a pickup attempt did not complete the order, as the error to answer (None when it did).

        Not raised inside the unit of work: a wrong code is counted, and the count must be committed.
        """
        if self.locked:
            return Conflict("pickup-locked", "Terlalu banyak kode salah; pengambilan dikunci. Hubungi pengelola "
                                             "pasar. / Too many wrong codes: pickup is locked.")
        if not self.ok:
            return Invalid("wrong-pickup-code", f"Kode pengambilan salah. Sisa {self.attempts_left} percobaan. / "
                                                "Wrong pickup code.", attempts_left=self.attempts_left,
                           max_attempts=MAX_PICKUP_ATTEMPTS)
        return None


@dataclass
class Order:
    order_id: str
    city: str
    buyer_id: str
    market_id: str
    fulfilment: str
    lines: list[Line]
    delivery_fee: int = 0
    rw_hub_id: str | None = None
    delivery_address: str | None = None
    status: Status = Status.PLACED
    version: int = 1
    payment_id: str | None = None
    qris: str | None = None
    payment_expires_at: datetime | None = None
    paid_amount: int = 0
    refund_requested: int = 0
    refunded_amount: int = 0
    extra_refunded: int = 0
    pickup_code: str | None = None
    pickup_attempts: int = 0
    cancel_reason: str | None = None
    delivery: dict[str, Any] | None = None  # phone, kelurahan, rw, street, note, slot_date, slot_window
    courier_id: str | None = None
    courier_name: str | None = None
    courier_phone: str | None = None
    delivery_attempts: int = 0
    delivery_failure: str | None = None
    created_at: datetime | None = None  # set by the store (the database's clock), None before the first save
    # transitions made since loading: (from, to, cause); the store writes them to order_history
    history: list[tuple[Status | None, Status, str]] = field(default_factory=list)
    # changes made since loading (not stored): a batch applying several events to one order tells a step that
    # changed something from a no-op by it, since ``version`` moves once per save
    changes: int = 0
    loaded_version: int = 0
    # line statuses as loaded, so the store rewrites only the lines that changed
    loaded_line_status: dict[str, LineStatus] = field(default_factory=dict)

    # ---- derived
    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + self.delivery_fee

    @property
    def live_lines(self) -> list[Line]:
        return [line for line in self.lines if line.status is not LineStatus.REJECTED]

    @property
    def vendor_ids(self) -> list[str]:
        return sorted({line.vendor_id for line in self.lines})

    @property
    def pickup_locked(self) -> bool:
        return self.pickup_attempts >= MAX_PICKUP_ATTEMPTS

    @property
    def label(self) -> str:
        return status_label(self.status, self.fulfilment)

    def vendor_amounts(self, lines: list[Line] | None = None) -> dict[str, int]:
        amounts: dict[str, int] = {}
        for line in self.lines if lines is None else lines:
            amounts[line.vendor_id] = amounts.get(line.vendor_id, 0) + line.amount
        return amounts

    def _to(self, status: Status, cause: str) -> None:
        self.history.append((self.status, status, cause))
        self.status = status
        self._touch()

    def _touch(self) -> None:
        self.changes += 1
        if self.version == self.loaded_version:
            self.version += 1

    @property
    def changed(self) -> bool:
        return self.version != self.loaded_version

    # ---- creation
    @classmethod
    def place(cls, *, order_id: str, city: str, buyer_id: str, market_id: str, fulfilment: Fulfilment,
              lines: list[Line], delivery_fee: int) -> tuple[Order, list[EventPayload]]:
        order = cls(order_id=order_id, city=city, buyer_id=buyer_id, market_id=market_id,
                    fulfilment=fulfilment.type, lines=lines,
                    delivery_fee=delivery_fee if fulfilment.type == "delivery" else 0,
                    rw_hub_id=fulfilment.rw_hub_id if fulfilment.type == "pickup_rw_hub" else None,
                    delivery_address=fulfilment.address if fulfilment.type == "delivery" else None,
                    delivery=fulfilment.delivery if fulfilment.type == "delivery" else None,
                    version=1, loaded_version=0)
        order.history.append((None, Status.PLACED, "checkout"))
        return order, [order.placed_event()]

    def placed_event(self) -> OrderPlaced:
        return OrderPlaced(order_id=self.order_id, buyer_id=self.buyer_id, market_id=self.market_id,
                           lines=[line.wire() for line in self.lines], subtotal=self.subtotal,
                           delivery_fee=self.delivery_fee, total=self.total,
                           fulfilment=self.fulfilment,
                           rw_hub_id=self.rw_hub_id)

    def payment_request_event(self) -> OrderPaymentRequested:
        return OrderPaymentRequested(order_id=self.order_id, buyer_id=self.buyer_id, amount=self.total,
                                     vendor_amounts=self.vendor_amounts())

    # ---- reactions to catalog
    def stock_reserved(self) -> list[EventPayload]:
        if self.status is not Status.PLACED:
            return []  # duplicate, or the buyer cancelled first (catalog releases on OrderCancelled)
        self._to(Status.STOCK_RESERVED, "StockReserved")
        return [self.payment_request_event()]

    def stock_rejected(self) -> list[EventPayload]:
        if self.status is not Status.PLACED:
            return []
        self.cancel_reason = "out_of_stock"
        self._to(Status.REJECTED, "StockRejected")
        return [OrderCancelled(order_id=self.order_id, reason="out_of_stock", paid=False)]

    # ---- reactions to payments
    def payment_requested(self, payment_id: str, qris: str, expires_at: datetime) -> list[EventPayload]:
        if self.status is not Status.STOCK_RESERVED:
            return []
        self.payment_id, self.qris, self.payment_expires_at = payment_id, qris, expires_at
        self._to(Status.AWAITING_PAYMENT, "PaymentRequested")
        return []

    def payment_succeeded(self, payment_id: str, amount: int) -> list[EventPayload]:
        if self.status in (Status.STOCK_RESERVED, Status.AWAITING_PAYMENT):
            self.payment_id = self.payment_id or payment_id
            self.paid_amount = amount
            self._to(Status.PAID, "PaymentSucceeded")
            return [OrderPaid(order_id=self.order_id, payment_id=payment_id, amount=amount)]
        if self.status in (Status.CANCELLED, Status.PAYMENT_EXPIRED, Status.REJECTED) and self.paid_amount == 0:
            # Paid for an order that is no longer open (payments had not yet heard of the cancellation):
            # the money is never kept silently, it goes back.
            self.paid_amount = amount
            self.refund_requested += amount
            self._to(Status.REFUND_REQUESTED, "PaymentSucceeded after close")
            return [RefundRequested(order_id=self.order_id, amount=amount, reason="paid_after_close")]
        return []  # duplicate (already paid) — payments refunds any second payment itself

    def payment_expired(self, payment_id: str) -> list[EventPayload]:
        if self.status not in (Status.STOCK_RESERVED, Status.AWAITING_PAYMENT):
            return []
        if self.payment_id and payment_id != self.payment_id:
            return []  # an intent that is not this order's current one
        self._to(Status.PAYMENT_EXPIRED, "PaymentExpired")
        return [OrderPaymentExpired(order_id=self.order_id)]

    def payment_failed(self) -> list[EventPayload]:
        """No QRIS could be issued (amount out of QRIS range): the order cannot be paid, so it is cancelled."""
        if self.status not in (Status.STOCK_RESERVED, Status.AWAITING_PAYMENT):
            return []
        self.cancel_reason = "payment_failed"
        self._to(Status.CANCELLED, "PaymentFailed")
        return [OrderCancelled(order_id=self.order_id, reason="payment_failed", paid=False)]

    def payment_refunded(self, amount: int, reason: str = "requested") -> list[EventPayload]:
        """Record a refund. Moves refund_requested → refunded once everything requested came back. A refund
        payments made on its own for an extra payment (late or second) is recorded apart and changes no state."""
        self._touch()
        if reason in EXTRA_PAYMENT_REFUNDS:
            self.extra_refunded += amount
            return []
        self.refunded_amount += amount
        if self.status is Status.REFUND_REQUESTED and self.refunded_amount >= self.refund_requested:
            self._to(Status.REFUNDED, "PaymentRefunded")
        return []

    # ---- buyer
    def cancel(self, reason: str = "buyer_cancelled") -> list[EventPayload]:
        if self.status in UNPAID_OPEN:
            self.cancel_reason = reason
            self._to(Status.CANCELLED, "cancel")
            return [OrderCancelled(order_id=self.order_id, reason=reason, paid=False)]
        if self.status in VENDOR_WORK:
            if any(line.status is LineStatus.PREPARED for line in self.lines):
                raise OrderConflict("order-already-prepared",
                                    "Pesanan sudah mulai dikemas dan tidak bisa dibatalkan. / "
                                    "The order is already being packed.")
            return self._cancel_paid(reason)
        raise OrderConflict("order-not-cancellable", f"Pesanan berstatus '{self.label}' tidak bisa dibatalkan. / "
                                                     f"An order in state {self.status} cannot be cancelled.")

    def _cancel_paid(self, reason: str) -> list[EventPayload]:
        remaining = max(self.paid_amount - self.refund_requested, 0)
        self.refund_requested += remaining
        self.cancel_reason = reason
        self._to(Status.REFUND_REQUESTED, "cancel")
        events: list[EventPayload] = [OrderCancelled(order_id=self.order_id, reason=reason, paid=True)]
        if remaining:
            events.append(RefundRequested(order_id=self.order_id, amount=remaining, reason=reason))
        return events

    # ---- vendors
    def _vendor_lines(self, vendor_id: str) -> list[Line]:
        lines = [line for line in self.lines if line.vendor_id == vendor_id]
        if not lines:
            raise OrderConflict("not-your-order", "Pesanan ini tidak berisi produk Anda. / No lines of yours.")
        return lines

    def _require_vendor_work(self) -> None:
        if self.status not in VENDOR_WORK:
            raise OrderConflict("order-not-paid", f"Pesanan berstatus '{self.label}'; belum/tidak bisa dikemas. / "
                                                  f"The order is {self.status}; vendors cannot act on it now.")

    def _line(self, vendor_id: str, line_id: str) -> Line:
        for line in self._vendor_lines(vendor_id):
            if line.line_id == line_id:
                return line
        raise OrderConflict("unknown-line", "Baris pesanan tidak ditemukan. / Unknown order line.")

    def accept_line(self, vendor_id: str, line_id: str) -> list[EventPayload]:
        self._require_vendor_work()
        line = self._line(vendor_id, line_id)
        if line.status is LineStatus.REJECTED:
            raise OrderConflict("line-rejected", "Baris ini sudah ditolak. / The line was already rejected.")
        if line.status is LineStatus.PENDING:
            line.status = LineStatus.ACCEPTED
            self._touch()
        if self.status is Status.PAID:
            self._to(Status.PREPARING, "line accepted")
        return []

    def reject_line(self, vendor_id: str, line_id: str, new_pickup_code: Callable[[], str],
                    reason: str = "unavailable") -> list[EventPayload]:
        """A vendor cannot supply a line: that line's amount is refunded. When no line is left, the whole
        order is cancelled and everything still held (delivery fee included) is refunded."""
        self._require_vendor_work()
        line = self._line(vendor_id, line_id)
        if line.status is LineStatus.REJECTED:
            return []  # repeated click
        if line.status is LineStatus.PREPARED:
            raise OrderConflict("line-prepared", "Baris ini sudah dikemas. / The line is already packed.")
        line.status = LineStatus.REJECTED
        self._touch()
        events: list[EventPayload] = [OrderLineRejected(
            order_id=self.order_id, line_id=line.line_id, product_id=line.product_id, vendor_id=line.vendor_id,
            quantity=line.quantity, amount=line.amount, reason=reason)]
        if not self.live_lines:
            return events + self._cancel_paid("rejected_by_vendors")
        self.refund_requested += line.amount
        events.append(RefundRequested(order_id=self.order_id, amount=line.amount, reason="line_rejected",
                                      vendor_amounts={line.vendor_id: line.amount}))
        return events + self._ready_if_all_prepared(new_pickup_code)

    def mark_prepared(self, vendor_id: str, new_pickup_code: Callable[[], str]) -> list[EventPayload]:
        self._require_vendor_work()
        mine = [line for line in self._vendor_lines(vendor_id) if line.status is not LineStatus.REJECTED]
        if not mine:
            raise OrderConflict("line-rejected", "Semua baris Anda sudah ditolak. / All your lines were rejected.")
        for line in mine:
            if line.status is not LineStatus.PREPARED:
                line.status = LineStatus.PREPARED
                self._touch()
        ready = self._ready_if_all_prepared(new_pickup_code)
        if not ready and self.status is Status.PAID:
            self._to(Status.PREPARING, "vendor prepared")
        return ready

    def _ready_if_all_prepared(self, new_pickup_code: Callable[[], str]) -> list[EventPayload]:
        live = self.live_lines
        if live and all(line.status is LineStatus.PREPARED for line in live):
            self.pickup_code = new_pickup_code()
            self._to(Status.READY, "all vendors prepared")
            return [OrderReady(order_id=self.order_id, pickup_code=self.pickup_code)]
        return []

    # ---- pickup
    def confirm_pickup(self, code: str) -> tuple[PickupResult, list[EventPayload]]:
        if self.status is not Status.READY:
            raise OrderConflict("order-not-ready", f"Pesanan berstatus '{self.label}', belum siap diambil. / "
                                                   "The order is not ready for pickup.")
        return self._complete_with_code(code, "picked up")

    def _complete_with_code(self, code: str, cause: str) -> tuple[PickupResult, list[EventPayload]]:
        """The buyer's code, at a stall, an RW hub or the door: Selesai, or a counted wrong attempt (locked
        after MAX_PICKUP_ATTEMPTS until staff unlock it)."""
        if self.pickup_locked:
            return PickupResult(ok=False, locked=True), []
        if code.strip() != self.pickup_code:
            self.pickup_attempts += 1
            self._touch()
            return PickupResult(ok=False, locked=self.pickup_locked,
                                attempts_left=MAX_PICKUP_ATTEMPTS - self.pickup_attempts), []
        self._to(Status.COMPLETED, cause)
        live = self.live_lines
        return PickupResult(ok=True), [OrderCompleted(
            order_id=self.order_id, buyer_id=self.buyer_id, vendor_ids=sorted({li.vendor_id for li in live}),
            total=sum(li.amount for li in live) + self.delivery_fee)]

    # ---- delivery by the market's courier
    def _require_delivery(self, *statuses: Status) -> None:
        if self.fulfilment != "delivery":
            raise OrderConflict("not-a-delivery", "Pesanan ini tidak dikirim. / This order is not a delivery.")
        if self.status not in statuses:
            raise OrderConflict("order-not-deliverable", f"Pesanan berstatus '{self.label}'. / "
                                                         f"The order is {self.status}.")

    def _require_courier(self, courier_id: str) -> None:
        if self.courier_id != courier_id:
            raise OrderConflict("not-your-delivery", "Pesanan ini diantar kurir lain. / Another courier has it.")

    def claim_delivery(self, courier_id: str, name: str, phone: str | None) -> list[EventPayload]:
        """A courier of the market takes a ready delivery order (once; the same courier again is a no-op)."""
        self._require_delivery(Status.READY)
        if self.courier_id == courier_id:
            return []
        if self.courier_id is not None:
            self._require_courier(courier_id)
        self.courier_id, self.courier_name, self.courier_phone = courier_id, name, phone
        self._touch()
        return [OrderCourierAssigned(order_id=self.order_id, courier_id=courier_id, courier_name=name)]

    def dispatch(self, courier_id: str) -> list[EventPayload]:
        """The courier collected every stall's bag and left: Dikirim."""
        self._require_delivery(Status.READY)
        self._require_courier(courier_id)
        self._to(Status.OUT_FOR_DELIVERY, "courier left the market")
        return [OrderOutForDelivery(order_id=self.order_id, courier_name=self.courier_name or "",
                                    courier_phone=self.courier_phone)]

    def deliver(self, courier_id: str, code: str) -> tuple[PickupResult, list[EventPayload]]:
        """The buyer's code at the door → Selesai; a wrong code is counted like at a pickup."""
        self._require_delivery(Status.OUT_FOR_DELIVERY)
        self._require_courier(courier_id)
        return self._complete_with_code(code, "delivered")

    def delivery_failed(self, courier_id: str, reason: str) -> list[EventPayload]:
        """Nobody home, wrong address…: the order goes back to the market (Siap Dikirim again, no courier), the
        buyer is told; staff or another trip take it from there."""
        self._require_delivery(Status.OUT_FOR_DELIVERY, Status.READY)
        self._require_courier(courier_id)
        self.delivery_attempts += 1
        self.delivery_failure = reason
        self.courier_id = self.courier_name = self.courier_phone = None
        if self.status is Status.OUT_FOR_DELIVERY:
            self._to(Status.READY, "delivery failed")
        else:
            self._touch()
        return [OrderDeliveryFailed(order_id=self.order_id, reason=reason, attempts=self.delivery_attempts)]

    def unlock_pickup(self) -> list[EventPayload]:
        """Staff checked the buyer in person (e.g. their ID and the order) and give back the attempts."""
        if self.status is not Status.READY:
            raise OrderConflict("order-not-ready",
                                "Pesanan tidak sedang menunggu pengambilan. / The order is not ready for pickup.")
        if self.pickup_attempts:
            self.pickup_attempts = 0
            self._touch()
        return []
