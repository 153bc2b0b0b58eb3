"""The order as people see it on the wire (``GET``/``POST`` bodies). Pure: an ``Order`` in, a dict out.

Used by the routes and by checkout, whose first answer is remembered for its ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from orders.domain import LINE_LABELS, LineStatus, Order


def order_body(order: Order, *, show_code: bool = False, vendor_id: str | None = None) -> dict[str, Any]:
    """The pickup code only for its buyer (``show_code``); a vendor (``vendor_id``) sees only their lines."""
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
    })
    return body
