"""The catalog's rules: units, categories, vendor lifecycle, stock reservation planning. Pure, no IO.

Rules that say no raise ``shared.errors`` (a code and an Indonesian / English detail); ``shared.problems`` turns
them into problem+json with the status of their kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import Conflict, Invalid, NotFound
from shared.measure import MAX_STEP_GRAMS, WEIGHT_PRICE_UNIT

UNITS: tuple[str, ...] = (
    "kg", "ons", "gram", "liter", "ml", "ikat", "bungkus", "pcs", "buah", "sisir", "papan", "karung", "porsi",
    "butir", "ekor", "potong", "pack", "lusin", "botol", "kaleng", "renteng", "toples", "kotak", "lembar",
)
CATEGORIES: tuple[str, ...] = (
    "sayur", "buah", "bumbu", "daging", "ikan", "sembako", "kue", "kerajinan", "makanan", "minuman", "lainnya",
)
STALL_KINDS: tuple[str, ...] = ("blok", "los", "kios")
MIN_PRICE = 1
MAX_PRICE = 10_000_000  # QRIS caps one transaction at Rp 10.000.000
MAX_STOCK = 1_000_000
MAX_PER_ORDER = 10_000
RESERVATION_GRACE_MINUTES = 5  # beyond the city's payment expiry, so payments' own expiry always comes first

VENDOR_STATUSES = ("draft", "pending", "active", "suspended")


class TransitionError(ValueError):
    """An action that the vendor's current status does not allow."""


# action → {current status: next status}. Re-applying an action on its target status is a no-op.
VENDOR_TRANSITIONS: dict[str, dict[str, str]] = {
    "verify": {"draft": "pending", "pending": "pending"},
    "activate": {"pending": "active", "suspended": "active", "active": "active"},
    "suspend": {"pending": "suspended", "active": "suspended", "suspended": "suspended"},
}


def vendor_transition(status: str, action: str) -> str:
    """The status after ``action``, or TransitionError (e.g. activating a draft that was never verified)."""
    nxt = VENDOR_TRANSITIONS.get(action, {}).get(status)
    if nxt is None:
        raise TransitionError(f"cannot {action} a vendor in status {status}")
    return nxt


def vendor_status_after(status: str, action: str) -> str:
    """``vendor_transition`` as the domain error the caller sees (409 ``vendor-status``)."""
    try:
        return vendor_transition(status, action)
    except TransitionError:
        raise Conflict("vendor-status", f"Status pedagang '{status}' tidak dapat di-{action}. / "
                                        f"A {status} vendor cannot be {action}d.") from None


# ---- errors with the catalog's words ------------------------------------------------------------------

_ENGLISH = {"Pasar": "Market", "Produk": "Product", "Pedagang": "Vendor", "Hub RW": "RW hub", "Lapak": "Stall"}


def not_found(what: str, ident: str) -> NotFound:
    """``not_found("Pasar", market_id)``: code ``not-found`` with the id asked for (cut to 80 characters)."""
    return NotFound("not-found", f"{what} tidak ditemukan. / {_ENGLISH.get(what, what)} not found.", id=ident[:80])


def reservation_not_found() -> NotFound:
    return NotFound("not-found", "Reservasi tidak ditemukan. / Reservation not found.")


def unknown_stall() -> Invalid:
    return Invalid("unknown-stall", "Lapak tidak ditemukan di pasar ini. / No such stall in this market.")


def market_exists() -> Conflict:
    return Conflict("market-exists", "Pasar dengan slug ini sudah ada. / A market with this slug exists.")


def stall_exists() -> Conflict:
    return Conflict("stall-exists", "Lapak ini sudah terdaftar. / This stall exists already.")


def rw_hub_exists() -> Conflict:
    return Conflict("rw-hub-exists", "Hub RW ini sudah terdaftar. / This RW hub exists already.")


def check_order_limits(min_per_order: int, max_per_order: int | None) -> None:
    if max_per_order is not None and max_per_order < min_per_order:
        raise Invalid("invalid-order-limits", "Maksimal per pesanan harus ≥ minimal. / "
                                              "max_per_order must be ≥ min_per_order.")


def check_sold_by(product: dict[str, Any]) -> dict[str, Any]:
    """A product's selling basis made consistent (``shared.measure``): sold by weight means unit ``kg`` (the price
    is per kg), a step in grams, and order limits that are multiples of it (the minimum defaults to one step).
    Returns the fields to store; Invalid when they cannot be made so."""
    if product.get("sold_by", "piece") != "weight":
        if product.get("step_grams") is not None:
            raise Invalid("step-without-weight", "Kelipatan gram hanya untuk barang yang dijual per berat. / "
                                                 "step_grams is for products sold by weight.")
        return {"sold_by": "piece", "step_grams": None}
    step = product.get("step_grams") or 250
    if not 1 <= step <= MAX_STEP_GRAMS:
        raise Invalid("invalid-step", f"Kelipatan 1–{MAX_STEP_GRAMS} gram. / step_grams must be 1–{MAX_STEP_GRAMS}.")
    if product.get("unit") not in (None, WEIGHT_PRICE_UNIT):
        raise Invalid("weight-unit-kg", "Barang per berat dihargai per kg: satuan harus 'kg'. / "
                                        "A product sold by weight is priced per kg: unit must be 'kg'.")
    minimum = product.get("min_per_order") or 1
    minimum = step if minimum < step else minimum
    maximum = product.get("max_per_order")
    for name, value in (("min_per_order", minimum), ("max_per_order", maximum)):
        if value is not None and value % step:
            raise Invalid("not-a-step", f"{name} harus kelipatan {step} gram. / {name} must be a multiple of "
                                        f"{step} g.")
    check_order_limits(minimum, maximum)
    return {"sold_by": "weight", "step_grams": step, "unit": WEIGHT_PRICE_UNIT, "min_per_order": minimum}


def vendor_market(vendor: dict[str, Any], market_id: str | None, actor_market_id: str | None) -> str | None:
    """The market a vendor action lands in: the vendor's own, else the one asked for, else the admin's.

    Asking for another market than the vendor's (it belongs to one already) is 409 ``vendor-other-market``.
    """
    if market_id is not None and vendor["market_id"] is not None and market_id != vendor["market_id"]:
        raise Conflict("vendor-other-market", "Pedagang sudah terdaftar di pasar lain. / "
                                              "The vendor belongs to another market.")
    return vendor["market_id"] or market_id or actor_market_id


def market_required() -> Invalid:
    return Invalid("market-required", "Pilih pasar untuk pedagang ini. / Choose a market for this vendor.")


# ---- stock reservations ------------------------------------------------------------------------------

REJECT_NOT_FOUND = "not_found"
REJECT_INACTIVE = "inactive"
REJECT_VENDOR_INACTIVE = "vendor_inactive"
REJECT_WRONG_MARKET = "wrong_market"
REJECT_WRONG_VENDOR = "wrong_vendor"
REJECT_SOLD_OUT = "sold_out"
REJECT_INSUFFICIENT = "insufficient_stock"
REJECT_BELOW_MIN = "below_min_per_order"
REJECT_ABOVE_MAX = "above_max_per_order"


@dataclass(frozen=True)
class ProductStock:
    """What reservation needs to know about one product (read under a row lock)."""

    product_id: str
    city: str
    market_id: str
    vendor_id: str
    active: bool
    available: bool
    stock: int | None  # None: not counted, the `available` switch decides
    min_per_order: int = 1
    max_per_order: int | None = None
    vendor_active: bool = True


@dataclass(frozen=True)
class LineRequest:
    product_id: str
    vendor_id: str
    quantity: int


@dataclass(frozen=True)
class Take:
    product_id: str
    quantity: int
    tracked: bool  # stock decremented (and to be given back on release)


@dataclass
class ReservationPlan:
    takes: list[Take] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (product_id, reason)

    @property
    def ok(self) -> bool:
        return not self.rejected and bool(self.takes)


def merge_lines(lines: Iterable[LineRequest]) -> list[LineRequest]:
    """One request per product (quantities summed), in product-id order — the lock order."""
    merged: dict[str, LineRequest] = {}
    for line in lines:
        prev = merged.get(line.product_id)
        merged[line.product_id] = (line if prev is None else
                                   LineRequest(line.product_id, prev.vendor_id, prev.quantity + line.quantity))
    return [merged[k] for k in sorted(merged)]


def plan_reservation(lines: Iterable[LineRequest], products: dict[str, ProductStock], *, city: str,
                     market_id: str) -> ReservationPlan:
    """All-or-nothing: every line reservable → takes for all; otherwise the failing lines with reasons."""
    plan = ReservationPlan()
    for line in merge_lines(lines):
        p = products.get(line.product_id)
        reason: str | None = None
        if p is None or p.city != city:
            reason = REJECT_NOT_FOUND
        elif not p.active:
            reason = REJECT_INACTIVE
        elif not p.vendor_active:
            reason = REJECT_VENDOR_INACTIVE
        elif p.market_id != market_id:
            reason = REJECT_WRONG_MARKET
        elif p.vendor_id != line.vendor_id:
            reason = REJECT_WRONG_VENDOR
        elif line.quantity < p.min_per_order:
            reason = REJECT_BELOW_MIN
        elif p.max_per_order is not None and line.quantity > p.max_per_order:
            reason = REJECT_ABOVE_MAX
        elif not p.available or p.stock == 0:
            reason = REJECT_SOLD_OUT
        elif p.stock is not None and p.stock < line.quantity:
            reason = REJECT_INSUFFICIENT
        if reason:
            plan.rejected.append((line.product_id, reason))
        else:
            plan.takes.append(Take(line.product_id, line.quantity, tracked=p is not None and p.stock is not None))
    if plan.rejected:
        plan.takes.clear()
    return plan


def reservation_deadline(now: datetime, payment_expiry_minutes: int) -> datetime:
    """When a held reservation is released if the order was neither paid nor cancelled."""
    return now + timedelta(minutes=payment_expiry_minutes + RESERVATION_GRACE_MINUTES)


# ---- reservation lifecycle: order event → (from statuses, to status) ----------------------------------

def reservation_after(status: str, order_event: str, *, paid: bool = False) -> str | None:
    """The reservation's next status for an order event, or None when the event changes nothing here.

    ``OrderPaid``: held → committed. ``OrderPaymentExpired``: held → released. ``OrderCancelled``:
    held → released, committed → restocked (quantities go back on the shelf).
    """
    if order_event == "OrderPaid":
        return "committed" if status == "held" else None
    if order_event == "OrderPaymentExpired" or order_event == "expired":
        return "released" if status == "held" else None
    if order_event == "OrderCancelled":
        if status == "held":
            return "released"
        if status == "committed":
            return "restocked"
    return None


def line_give_back(status: str, rejected_quantity: int, reserved: int, returned: int) -> tuple[str, int] | None:
    """A vendor rejected one line of the order: (what happens, how many units come back), or None for nothing.

    committed → ``restock`` (sold units go back on the shelf), held → ``release`` (the line's hold ends); never
    more than is still out for that product (``reserved - returned``). Released, restocked or rejected
    reservations have nothing of the line left to give back.
    """
    effect = {"committed": "restock", "held": "release"}.get(status)
    if effect is None:
        return None
    return effect, max(0, min(rejected_quantity, reserved - returned))


def repeated_answer(status: str) -> str | None:
    """The answer to re-send when an order already reserved (or refused) is placed again under a new event id.

    held / committed → ``StockReserved`` (the stock is still taken for it); rejected → ``StockRejected``.
    Released or restocked: the units are back on the shelf, re-sending StockReserved would promise stock the
    order no longer holds, so nothing is re-sent (the order is closed by then, or flagged for a person).
    """
    if status in ("held", "committed"):
        return "StockReserved"
    if status == "rejected":
        return "StockRejected"
    return None


# ---- days and prices ----------------------------------------------------------------------------------

def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def check_price_day(day: date) -> None:
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
        raise Invalid("date-out-of-range", "Tanggal di luar jangkauan. / Date out of range.")


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(tz).date()


def price_change(today: int | None, yesterday: int | None) -> tuple[int | None, float | None, str]:
    """(change in rupiah, change in percent, trend naik/turun/tetap/baru) for the daily price list."""
    if today is None:
        return None, None, "tidak_ada"
    if yesterday is None:
        return None, None, "baru"
    diff = today - yesterday
    pct = round(diff * 100 / yesterday, 1) if yesterday else None
    return diff, pct, "naik" if diff > 0 else "turun" if diff < 0 else "tetap"


def is_available(stock: int | None, available: bool, active: bool = True) -> bool:
    """Whether a buyer can order it now."""
    return active and available and (stock is None or stock > 0)


# ---- back office (issue #13): hours, stalls, what the audit list keeps -----------------------------------

def check_hours(opens_at: str | None, closes_at: str | None) -> None:
    """Opening hours of a market or an RW hub: both or neither, and closing after opening (same day).

    Invalid ``invalid-hours`` names the field to show it next to (``closes_at`` or ``opens_at``)."""
    if opens_at is None and closes_at is None:
        return
    if opens_at is None or closes_at is None:
        missing = "opens_at" if opens_at is None else "closes_at"
        raise Invalid("hours-incomplete", "Isi jam buka dan jam tutup. / Give both opening and closing time.",
                      field=missing)
    if closes_at <= opens_at:  # "HH:MM" strings compare as times
        raise Invalid("invalid-hours", "Jam tutup harus setelah jam buka. / Closing time must be after opening.",
                      field="closes_at")


def stall_label(stall: dict[str, Any] | None) -> str | None:
    """``Los A-01`` / ``Kios 7``: how buyers and vendors name a stall."""
    if not stall:
        return None
    where = f"{stall['block']}-{stall['number']}" if stall.get("block") else str(stall["number"])
    return f"{str(stall['kind']).capitalize()} {where}"


def stall_taken() -> Conflict:
    return Conflict("stall-taken", "Lapak ini sudah dipakai pedagang lain. / Another vendor has this stall.",
                    field="stall_id")


def suspend_reason_required() -> Invalid:
    return Invalid("reason-required", "Tulis alasan pembekuan. / A reason is required to suspend.", field="reason")


def phone_required() -> Invalid:
    return Invalid("phone-required", "Nomor HP wajib untuk pedagang yang langsung aktif (ia masuk dengan nomor "
                                     "ini). / A phone is required to activate the vendor.", field="phone")


AUDIT_FIELDS: dict[str, tuple[str, ...]] = {
    "market": ("name", "address", "kelurahan", "opens_at", "closes_at", "description", "active"),
    "stall": ("market_id", "kind", "block", "number"),
    "rw_hub": ("name", "kelurahan", "rw", "address", "bandwidth_mbps", "opens_at", "closes_at", "hall_capacity",
               "active"),
    "vendor": ("market_id", "stall_id", "name", "owner_name", "phone", "status", "suspended_reason"),
}


def audit_view(entity: str, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fields of a row the audit list keeps (before → after)."""
    if row is None:
        return None
    return {k: row.get(k) for k in AUDIT_FIELDS[entity]}
