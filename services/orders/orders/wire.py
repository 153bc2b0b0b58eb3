"""What orders' routes answer: the models of ``views.order_body``'s three views (buyer and staff, vendor,
courier) and of the other routes, declared as the routes' ``response_model``.

Every key ``order_body`` returns is listed — a response model drops the keys it does not know, and the portal
reads these answers. The routes answer with ``response_model_exclude_unset``: a key the view leaves out (the
buyer's phone in a vendor's view of a closed order) stays out rather than turning into ``null``. Money is
integer rupiah; timestamps keep the ``isoformat()`` text the view writes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from shared.audit import AuditRow
from shared.wire import Answer, Timestamp

# The answers keep the timestamps' text exactly as ``order_body`` writes it (``datetime.isoformat()``).
Rupiah = Annotated[int, Field(description="integer rupiah")]
OrderStatus = Literal["placed", "stock_reserved", "rejected", "awaiting_payment", "paid", "preparing", "ready",
                      "out_for_delivery", "completed", "payment_expired", "cancelled", "refund_requested",
                      "refunded"]
LineStatus = Literal["pending", "accepted", "rejected", "prepared"]


Day = date  # a field named ``date`` cannot be annotated ``date`` itself



class FulfilmentOut(Answer):
    type: Literal["pickup_stall", "pickup_rw_hub", "delivery"]
    rw_hub_id: str | None
    address: str | None = Field(description="delivery: the address as one line (a vendor: only while open)")


class LineOut(Answer):
    line_id: str
    product_id: str
    vendor_id: str
    name: str
    unit: str
    quantity: int = Field(description="grams when sold by weight")
    unit_price: Rupiah = Field(description="integer rupiah per unit; per kg when sold by weight")
    amount: Rupiah
    sold_by: Literal["piece", "weight"]
    quantity_label: str = Field(description="the quantity as shown, e.g. \"1,5 kg\"")
    note: str | None = Field(description="the buyer's note to the vendor")
    status: LineStatus
    status_label: str


class DeliveryOut(Answer):
    """A delivery order's address, slot and courier. Keys of older orders' plans may be missing."""
    phone: str | None = Field(None, description="the buyer's phone; absent for a vendor once the order is closed "
                                                "and for a courier before they take it")
    kelurahan: str | None = None
    rw: str | None = None
    street: str | None = None
    note: str | None = None
    slot_date: Day | None = None
    slot_window: str | None = Field(None, description="e.g. 08:00-10:00, local time")
    courier_name: str | None
    courier_wa: str | None = Field(description="wa.me link to the courier")
    attempts: int = Field(description="delivery attempts that failed")
    last_failure: str | None
    buyer_wa: str | None = Field(None, description="wa.me link to the buyer (with the phone only)")


class PaymentRef(Answer):
    payment_id: str
    qris: str | None
    expires_at: Timestamp | None


class OrderBase(Answer):
    order_id: str
    city: str
    market_id: str
    buyer_id: str
    status: OrderStatus
    status_label: str = Field(description="the status as the buyer reads it, e.g. \"Siap Diambil\"")
    version: int
    created_at: Timestamp | None
    fulfilment: FulfilmentOut
    lines: list[LineOut]
    delivery: DeliveryOut | None = Field(description="null unless the fulfilment is a delivery")


ORDER_EXAMPLE: JsonDict = {
    "order_id": "01JEZ8Q6M4T3K9D2R7X5B1C0VN", "city": "cimahi", "market_id": "b6654f7d-32f4-5ad1-a63c-ae0d421ded1c",
    "buyer_id": "buyer-cimahi-0001", "status": "awaiting_payment", "status_label": "Menunggu Pembayaran",
    "version": 3, "created_at": "2026-12-03T00:15:04.120000+00:00",
    "fulfilment": {"type": "pickup_stall", "rw_hub_id": None, "address": None},
    "lines": [{"line_id": "01JEZ8Q6M4T3K9D2R7X5B1C0VP", "product_id": "6a1d2f3e-4b5c-4d6e-8f70-8192a3b4c5d6",
               "vendor_id": "5f1b2c9e-8d3a-5b7c-a1e2-3f4d5c6b7a89", "name": "Tomat Merah", "unit": "kg",
               "quantity": 1500, "unit_price": 12000, "amount": 18000, "sold_by": "weight",
               "quantity_label": "1,5 kg", "note": None, "status": "pending", "status_label": "Menunggu Pedagang"}],
    "delivery": None, "subtotal": 18000, "delivery_fee": 0, "total": 18000,
    "payment": {"payment_id": "3f2b8c1e-6d4a-4e9b-9a7c-2b1d0e8f6a53", "qris": "00020101021226...6304ABCD",
                "expires_at": "2026-12-03T00:30:04+00:00"},
    "paid_amount": 0, "refund_requested": 0, "refunded_amount": 0, "extra_payment_refunded": 0,
    "cancel_reason": None, "pickup_code": "4821", "pickup_locked": False}


class OrderOut(OrderBase):
    """An order as its buyer (with the pickup code) and city or market staff (without) see it."""
    model_config = ConfigDict(json_schema_extra={"examples": [ORDER_EXAMPLE]})
    subtotal: Rupiah
    delivery_fee: Rupiah
    total: Rupiah
    payment: PaymentRef | None = Field(description="the QRIS to pay, once payments issued it")
    paid_amount: Rupiah
    refund_requested: Rupiah
    refunded_amount: Rupiah = Field(description="refunded so far, extra payments returned included")
    extra_payment_refunded: Rupiah = Field(description="a second or late payment returned to the buyer")
    cancel_reason: str | None
    pickup_code: str | None = Field(description="only for the order's buyer")
    pickup_locked: bool = Field(description="too many wrong codes: staff check the buyer and unlock")


class HistoryEntry(Answer):
    model_config = ConfigDict(populate_by_name=True)
    from_: OrderStatus | None = Field(alias="from")
    to: OrderStatus
    cause: str
    at: Timestamp


class OrderDetail(OrderOut):
    history: list[HistoryEntry] = Field(description="status changes, oldest first")


class VendorOrderOut(OrderBase):
    """An order as one of its vendors sees it: their lines only, no pickup code, no buyer money."""
    vendor_total: Rupiah = Field(description="the vendor's lines not rejected")
    vendor_all_rejected: bool


class CourierOrderOut(OrderBase):
    """A delivery as a courier of the market sees it."""
    vendor_ids: list[str] = Field(description="the stalls to collect from")


class OrderList(Answer):
    orders: list[OrderOut]


class VendorOrderList(Answer):
    orders: list[VendorOrderOut]


class CourierOrderList(Answer):
    orders: list[CourierOrderOut]


class Zone(Answer):
    kelurahan: str
    fee: Rupiah


class Slot(Answer):
    date: Day
    window: str = Field(description="HH:MM-HH:MM, local time")


class DeliveryOptions(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "delivers": True, "zones": [{"kelurahan": "Cimahi", "fee": 8000}, {"kelurahan": "Karangmekar", "fee": 10000}],
        "slots": [{"date": "2026-12-03", "window": "10:00-12:00"}], "slot_capacity": 20}]})
    delivers: bool = Field(description="false: the city has no delivery zones or slots")
    zones: list[Zone]
    slots: list[Slot] = Field(description="the slots a buyer can choose now")
    slot_capacity: int = Field(description="deliveries per market and slot")


class OrderAuditEntry(AuditRow):
    model_config = ConfigDict(extra="ignore")
    at: Timestamp


class OrderAudit(Answer):
    items: list[OrderAuditEntry]
