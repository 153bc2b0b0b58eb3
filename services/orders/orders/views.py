"""The order as people see it on the wire (``GET``/``POST`` bodies). Pure: an ``Order`` in, a dict out.

Used by the routes and by checkout, whose first answer is remembered for its ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from orders.domain import LINE_LABELS, TERMINAL, LineStatus, Order
from shared.phone import wa_link


def _delivery(order: Order, *, with_phone: bool) -> dict[str, Any] | None:
    if order.fulfilment != "delivery":
        return None
    d = dict(order.delivery or {})
    if not with_phone:
        d.pop("phone", None)
    d.update({"courier_name": order.courier_name, "courier_wa": wa_link(order.courier_phone),
              "attempts": order.delivery_attempts, "last_failure": order.delivery_failure})
    if with_phone and d.get("phone"):
        d["buyer_wa"] = wa_link(d["phone"])
    return d


def order_body(order: Order, *, show_code: bool = False, vendor_id: str | None = None,
               courier: bool = False) -> dict[str, Any]:
    """The pickup code only for its buyer (``show_code``); a vendor (``vendor_id``) sees only their lines, and
    the delivery address and phone only while the order is open; a courier sees what a delivery needs."""
    lines = [li for li in order.lines if vendor_id is None or li.vendor_id == vendor_id]
    body: dict[str, Any] = {
        "order_id": order.order_id, "city": order.city, "market_id": order.market_id, "buyer_id": order.buyer_id,
        "status": order.status.value, "status_label": order.label, "version": order.version,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "fulfilment": {"type": order.fulfilment, "rw_hub_id": order.rw_hub_id, "address": order.delivery_address},
        "lines": [{"line_id": li.line_id, "product_id": li.product_id, "vendor_id": li.vendor_id, "name": li.name,
                   "unit": li.unit, "quantity": li.quantity, "unit_price": li.unit_price, "amount": li.amount,
                   "sold_by": li.sold_by, "quantity_label": li.quantity_label,
                   "note": li.note, "status": li.status.value, "status_label": LINE_LABELS[li.status]}
                  for li in lines],
    }
    open_order = order.status not in TERMINAL
    if courier:  # the buyer's phone only once this courier has taken the order (the list holds no one else's)
        body["delivery"] = _delivery(order, with_phone=order.courier_id is not None)
        body["vendor_ids"] = order.vendor_ids
        return body
    body["delivery"] = _delivery(order, with_phone=vendor_id is None or open_order)
    if vendor_id is not None and not open_order and body["fulfilment"]["address"]:
        body["fulfilment"] = {**body["fulfilment"], "address": None}  # the buyer's address: only while open
    if vendor_id is not None:
        # a line the vendor rejected is not their sale: its money went back to the buyer
        live = [li for li in lines if li.status is not LineStatus.REJECTED]
        body["vendor_total"] = sum(li.amount for li in live)
        body["vendor_all_rejected"] = not live
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
        "pickup_locked": order.pickup_locked,  # too many wrong codes: staff check the buyer and unlock
    })
    return body
