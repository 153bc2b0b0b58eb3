"""The market courier's page (kurir pasar): take a ready delivery, collect at the stalls, deliver with the
buyer's code, or bring it back with a reason. Over orders' courier API (docs/orders.md#delivery)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import ApiError, items_of
from portal.web import Refusal, api, form_dict, need, redirect, render

router = APIRouter()
COURIER_COOKIE = "pk_kurir"  # the name and phone the courier last gave, to prefill the next claim


@router.get("/kota/{city}/kurir", response_class=HTMLResponse)
async def courier_home(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "courier")
    data = await api(request).get("orders", f"/cities/{city}/courier/orders", token=token)
    name, _, phone = (request.cookies.get(COURIER_COOKIE) or "").partition("|")
    return render(request, "courier.html", {"city": c, "orders": items_of(data, "orders"),
                                            "form": {"name": name, "phone": phone}})


@router.post("/kota/{city}/kurir/{order_id}/{action}")
async def courier_action(request: Request, city: str, order_id: str, action: str) -> Response:
    _, _, token = need(request, city, "courier")
    form = form_dict(await request.form())
    steps: dict[str, tuple[str, dict[str, Any] | None, str]] = {
        "ambil": ("claim", {"name": form.get("name", "").strip(), "phone": form.get("phone", "").strip()},
                  "Pesanan Anda antar. Ambil barang di lapak-lapak berikut."),
        "berangkat": ("dispatched", None, "Status pesanan: Dikirim. Pembeli sudah diberi tahu."),
        "selesai": ("delivered", {"code": form.get("code", "").strip()}, "Kode benar. Pesanan selesai."),
        "gagal": ("failed", {"reason": form.get("reason", "").strip() or "pembeli tidak di tempat"},
                  "Pesanan dikembalikan ke pasar; pembeli diberi tahu."),
    }
    if action not in steps:
        return redirect(f"/kota/{city}/kurir", Refusal("Tindakan tidak dikenal."))
    path, body, ok = steps[action]
    try:
        await api(request).post("orders", f"/cities/{city}/courier/orders/{order_id}/{path}", token=token,
                                json=body)
        message: str = ok
    except ApiError as exc:
        message = Refusal(exc.message)
    response = redirect(f"/kota/{city}/kurir", message)
    if action == "ambil" and body and not isinstance(message, Refusal):
        response.set_cookie(COURIER_COOKIE, f"{body['name']}|{body['phone']}", httponly=True, samesite="lax",
                            max_age=60 * 60 * 24 * 90)
    return response
