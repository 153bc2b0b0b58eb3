"""Buyer pages: cart, checkout (stall / RW hub / delivery), the QRIS payment page, my orders."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from portal.cart import CART_COOKIE, Cart, load_cart
from portal.client import ApiError, ServiceUnavailable, items_of
from portal.filters import jam, status_label
from portal.qr import qr_png
from portal.web import (
    PageError,
    Refusal,
    api,
    chat_links,
    form_dict,
    need,
    new_key,
    redirect,
    render,
    settings,
    to_int,
)
from shared.measure import grams_label

router = APIRouter()

# orders' checkout refusals (problem `type` codes, docs/orders.md) → the form field they are about
CODE_FIELDS = {"rw-hub-required": "rw_hub_id", "unknown-rw-hub": "rw_hub_id", "address-required": "street",
               "phone-required": "phone", "outside-delivery-zone": "kelurahan", "invalid-rw": "rw",
               "slot-required": "slot", "slot-unavailable": "slot", "slot-full": "slot", "no-delivery": "fulfilment"}
PAID_STATES = {"paid", "preparing", "ready", "out_for_delivery", "completed"}
CLOSED_STATES = {"cancelled", "rejected", "payment_expired", "refund_requested", "refunded"}


def _cart(request: Request, city: str) -> Cart:
    return load_cart(request.cookies.get(CART_COOKIE), settings().cookie_secret, city)


def _with_cart(response: Response, cart: Cart) -> Response:
    response.set_cookie(CART_COOKIE, cart.dump(settings().cookie_secret), httponly=True, samesite="lax",
                        secure=settings().portal_cookie_secure, max_age=3 * 24 * 3600, path="/")
    return response


# ------------------------------------------------------------------------------------------------ cart

@router.get("/kota/{city}/keranjang", response_class=HTMLResponse)
async def cart_page(request: Request, city: str) -> Response:
    c, _, _ = need(request, city, "buyer")
    return render(request, "cart.html", {"city": c, "cart": _cart(request, city)})


def _quantity_error(product: dict[str, Any], qty: int | None) -> str | None:
    """Why this quantity cannot go in the cart (grams and steps for a weighed product), or None."""
    lo, hi = int(product.get("min_per_order") or 1), product.get("max_per_order")
    if product.get("sold_by") == "weight":
        step = int(product.get("step_grams") or 1)
        if qty is None or qty < 1:
            return f"Pilih beratnya (kelipatan {grams_label(step)})."
        if qty % step:
            return f"Dijual per {grams_label(step)}: pilih kelipatannya."
        if qty < lo:
            return f"Minimal {grams_label(lo)} per pesanan."
        if hi and qty > int(hi):
            return f"Maksimal {grams_label(int(hi))} per pesanan."
    elif qty is None or qty < 1:
        return "Jumlah harus angka bulat minimal 1."
    elif qty < lo:
        return f"Minimal {lo} {product.get('unit', '')} per pesanan."
    elif hi and qty > int(hi):
        return f"Maksimal {hi} {product.get('unit', '')} per pesanan."
    if not product.get("available_now", True):
        return "Produk ini sedang habis."
    return None


@router.post("/kota/{city}/keranjang")
async def add_to_cart(request: Request, city: str, product_id: Annotated[str, Form(max_length=80)],
                      quantity: Annotated[str, Form(max_length=8)] = "1",
                      replace: Annotated[str, Form(max_length=3)] = "") -> Response:
    c, _, _ = need(request, city, "buyer")
    try:
        product = await api(request).get("catalog", f"/cities/{city}/products/{product_id}")
    except ApiError:
        raise PageError(404, "Produk tidak ditemukan", "Produk ini tidak ada atau sudah tidak dijual.") from None
    qty = to_int(quantity)
    error = _quantity_error(product, qty)
    if error:
        return render(request, "product.html", {"city": c, "p": product, "form": {"quantity": quantity},
                                                "errors": {"quantity": error}}, status_code=422)
    cart = _cart(request, city)
    if cart.other_market(product) and replace != "ya":
        # never empty a cart silently: ask first (the same form, with replace=ya)
        return render(request, "product.html", {"city": c, "p": product, "form": {"quantity": quantity},
                                                "errors": {}, "replace_cart": cart}, status_code=409)
    reset = cart.add(product, qty or 1)
    message = ("Keranjang lama dari pasar lain sudah diganti. " if reset else "") + \
        f"{product.get('name', 'Produk')} masuk keranjang."
    return _with_cart(redirect(f"/kota/{city}/keranjang", message), cart)


@router.post("/kota/{city}/keranjang/ubah")
async def update_cart(request: Request, city: str) -> Response:
    need(request, city, "buyer")
    form = form_dict(await request.form())
    cart = _cart(request, city)
    for line in list(cart.lines):
        raw = form.get(f"qty-{line.product_id}")
        if raw is not None:
            cart.set_quantity(line.product_id, max(0, to_int(raw, line.quantity) or 0))
    if form.get("hapus"):
        cart.set_quantity(form["hapus"], 0)
    return _with_cart(redirect(f"/kota/{city}/keranjang", "Keranjang diperbarui."), cart)


# ------------------------------------------------------------------------------------------------ checkout

async def _hubs(request: Request, city: str) -> list[dict[str, Any]]:
    try:
        return [h for h in items_of(await api(request).get("catalog", f"/cities/{city}/rw-hubs"))
                if h.get("active", True)]
    except ApiError:
        return []


async def _delivery_options(request: Request, city: str) -> dict[str, Any]:
    try:
        options: dict[str, Any] = await api(request).get("orders", f"/cities/{city}/delivery-options")
    except ApiError:
        return {"delivers": False, "zones": [], "slots": []}
    return options


async def _checkout_page(request: Request, c: Any, cart: Cart, form: dict[str, str], errors: dict[str, str],
                         status_code: int = 200) -> Response:
    form = {"fulfilment": "pickup_rw_hub", **form}
    form["idempotency_key"] = form.get("idempotency_key") or new_key()
    hubs, delivery = await asyncio.gather(_hubs(request, c.slug), _delivery_options(request, c.slug))
    return render(request, "checkout.html", {"city": c, "cart": cart, "hubs": hubs, "form": form, "errors": errors,
                                             "delivery": delivery}, status_code=status_code)


@router.get("/kota/{city}/checkout", response_class=HTMLResponse)
async def checkout_page(request: Request, city: str) -> Response:
    c, _, _ = need(request, city, "buyer")
    cart = _cart(request, city)
    if not cart.lines:
        return redirect(f"/kota/{city}/keranjang", "Keranjang masih kosong.")
    return await _checkout_page(request, c, cart, {}, {})


@router.post("/kota/{city}/checkout")
async def checkout(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "buyer")
    form = form_dict(await request.form())
    cart = _cart(request, city)
    if not cart.lines or not cart.market_id:
        return redirect(f"/kota/{city}/keranjang", "Keranjang masih kosong.")
    kind = form.get("fulfilment", "")
    errors: dict[str, str] = {}
    fulfilment: dict[str, Any] = {"type": kind}
    if kind == "pickup_rw_hub":
        if not form.get("rw_hub_id"):
            errors["rw_hub_id"] = "Pilih hub RW tempat mengambil pesanan."
        fulfilment["rw_hub_id"] = form.get("rw_hub_id") or None
    elif kind == "delivery":
        street = form.get("street", "").strip()
        if len(street) < 5:
            errors["street"] = "Tulis jalan dan nomor rumah (minimal 5 huruf)."
        if not form.get("phone", "").strip():
            errors["phone"] = "Nomor HP untuk kurir wajib diisi."
        if not form.get("kelurahan"):
            errors["kelurahan"] = "Pilih kelurahan."
        slot_date, _, slot_window = form.get("slot", "").partition("|")
        if not slot_window:
            errors["slot"] = "Pilih waktu pengiriman."
        fulfilment.update({"street": street, "phone": form.get("phone", "").strip(),
                           "kelurahan": form.get("kelurahan") or None, "rw": form.get("rw", "").strip() or None,
                           "note": form.get("note", "").strip() or None, "slot_date": slot_date or None,
                           "slot_window": slot_window or None})
    elif kind != "pickup_stall":
        errors["fulfilment"] = "Pilih cara pengambilan."
    if errors:
        return await _checkout_page(request, c, cart, form, errors, 422)
    body = {"market_id": cart.market_id, "fulfilment": fulfilment,
            "items": [{"product_id": li.product_id, "quantity": li.quantity} for li in cart.lines]}
    try:
        order = await api(request).post("orders", f"/cities/{city}/orders", token=token, json=body,
                                        headers={"Idempotency-Key": form.get("idempotency_key") or new_key()})
    except ApiError as exc:
        errors = dict(exc.field_errors)
        if "type" in errors:
            errors["fulfilment"] = errors.pop("type")
        if exc.code in CODE_FIELDS:
            errors.setdefault(CODE_FIELDS[exc.code], exc.message)
        errors["_form"] = exc.message or "Pesanan belum bisa dibuat."
        # a replayed key that conflicts gets a fresh key so the buyer can try again
        if exc.status == 409 or exc.code.startswith("idempotency"):
            form["idempotency_key"] = ""
        return await _checkout_page(request, c, cart, form, errors, 422)
    cart.lines.clear()
    cart.market_id = None
    response = redirect(f"/kota/{city}/pesanan/{order['order_id']}/bayar")
    return _with_cart(response, cart)


# ------------------------------------------------------------------------------------------------ payment

async def _order(request: Request, city: str, order_id: str, token: str) -> dict[str, Any]:
    try:
        order: dict[str, Any] = await api(request).get("orders", f"/cities/{city}/orders/{order_id}", token=token)
    except ApiError as exc:
        if exc.status in (403, 404, 422):
            raise PageError(404, "Pesanan tidak ditemukan", "Pesanan ini tidak ada di akun Anda.") from None
        raise
    return order


def _summary(order: dict[str, Any]) -> dict[str, Any]:
    status = str(order.get("status", ""))
    fulfilment = (order.get("fulfilment") or {}).get("type")
    payment = order.get("payment") or {}
    return {"order_id": order.get("order_id"), "status": status,
            "label": order.get("status_label") or status_label(status, fulfilment),
            "paid": status in PAID_STATES, "closed": status in CLOSED_STATES,
            "awaiting": status == "awaiting_payment" and bool(payment.get("qris")),
            "expires_at": payment.get("expires_at"), "expires_local": jam(payment.get("expires_at")),
            "pickup_code": order.get("pickup_code"),
            "total": order.get("total")}


@router.get("/kota/{city}/pesanan/{order_id}/bayar", response_class=HTMLResponse)
async def payment_page(request: Request, city: str, order_id: str) -> Response:
    c, _, token = need(request, city, "buyer")
    order = await _order(request, city, order_id, token)
    return render(request, "pay.html", {"city": c, "order": order, "s": _summary(order),
                                        "merchant": c.merchant.name})


@router.get("/kota/{city}/pesanan/{order_id}/status.json")
async def order_status(request: Request, city: str, order_id: str) -> JSONResponse:
    """What the payment page polls every 2 s (a few hundred bytes)."""
    try:
        _, _, token = need(request, city, "buyer")
        order = await _order(request, city, order_id, token)
    except (PageError, ServiceUnavailable) as exc:
        return JSONResponse({"error": str(exc)}, status_code=503 if isinstance(exc, ServiceUnavailable) else 404,
                            headers={"Cache-Control": "no-store"})
    return JSONResponse(_summary(order), headers={"Cache-Control": "no-store"})


@router.get("/kota/{city}/pesanan/{order_id}/qris.png")
async def qris_png(request: Request, city: str, order_id: str) -> Response:
    """The QRIS of the order: payments' own image when it has one, else drawn here from the same payload."""
    _, _, token = need(request, city, "buyer")
    order = await _order(request, city, order_id, token)
    payment = order.get("payment") or {}
    if not payment.get("qris"):
        raise PageError(404, "QRIS belum tersedia", "Kode QRIS untuk pesanan ini belum dibuat.")
    client = api(request)
    for path in (f"/cities/{city}/payments/{payment.get('payment_id')}/qr.png",
                 f"/cities/{city}/orders/{order_id}/payment/qr.png"):
        try:
            response = await client.send("payments", "GET", path, token=token)
        except (ApiError, ServiceUnavailable):
            continue
        if response.headers.get("content-type", "").startswith("image/"):
            return Response(response.content, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})
    return Response(qr_png(str(payment["qris"])), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=60"})


@router.post("/kota/{city}/pesanan/{order_id}/simulasi-bayar")
async def simulate_payment(request: Request, city: str, order_id: str) -> Response:
    """Dev only: ask the payments simulator to 'scan and pay' this QRIS, as a buyer's bank app would."""
    if not settings().dev_mode:
        raise PageError(404, "Tidak tersedia", "Simulator pembayaran hanya ada di mode pengembangan.")
    _, _, token = need(request, city, "buyer")
    order = await _order(request, city, order_id, token)
    qris = (order.get("payment") or {}).get("qris")
    wants_json = "application/json" in request.headers.get("accept", "")
    if not qris:
        message = "QRIS belum tersedia untuk pesanan ini."
    else:
        try:
            await api(request).post("payments", f"/simulator/{city}/pay", token=token, json={"qris": qris})
            message = "Simulator sudah membayar. Status akan berubah sebentar lagi."
        except ApiError as exc:
            message = Refusal("Simulator menolak: " + exc.message)
    if wants_json:
        return JSONResponse({"message": message})
    return redirect(f"/kota/{city}/pesanan/{order_id}/bayar", message)


@router.post("/kota/{city}/pesanan/{order_id}/batal")
async def cancel_order(request: Request, city: str, order_id: str) -> Response:
    _, _, token = need(request, city, "buyer")
    try:
        await api(request).post("orders", f"/cities/{city}/orders/{order_id}/cancel", token=token)
        message = "Pesanan dibatalkan."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pesanan/{order_id}", message)


# ------------------------------------------------------------------------------------------------ my orders

@router.get("/kota/{city}/pesanan", response_class=HTMLResponse)
async def my_orders(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "buyer")
    orders = items_of(await api(request).get("orders", f"/cities/{city}/orders", token=token), "orders")
    return render(request, "orders.html", {"city": c, "orders": orders, "summary": _summary})


@router.get("/kota/{city}/pesanan/{order_id}", response_class=HTMLResponse)
async def order_page(request: Request, city: str, order_id: str) -> Response:
    c, _, token = need(request, city, "buyer")
    order, contacts = await asyncio.gather(_order(request, city, order_id, token),
                                           chat_links(request, city, order_id, token))
    return render(request, "order.html", {"city": c, "order": order, "s": _summary(order), "contacts": contacts})



