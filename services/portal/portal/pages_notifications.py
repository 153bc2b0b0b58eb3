"""A person's notification settings: WhatsApp (SMS for codes), and opting out of messages — the same as replying
*BERHENTI* to the city's number (and *MULAI* to come back). Any signed-in role; notifications keys them by the
phone of the person's account."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import ApiError
from portal.web import api, form_dict, need, redirect, render

router = APIRouter()


@router.get("/kota/{city}/pengaturan-pesan", response_class=HTMLResponse)
async def notification_settings(request: Request, city: str) -> Response:
    c, _, token = need(request, city)
    try:
        current = await api(request).get("notifications", f"/cities/{city}/me/notifications", token=token)
    except ApiError as exc:
        if exc.status != 404:
            raise
        current = None  # notifications does not know this account's phone (yet)
    return render(request, "notification_settings.html", {"city": c, "current": current})


@router.post("/kota/{city}/pengaturan-pesan")
async def change_notification_settings(request: Request, city: str) -> Response:
    _, _, token = need(request, city)
    opted_out = form_dict(await request.form()).get("berhenti") == "1"
    await api(request).put("notifications", f"/cities/{city}/me/notifications", token=token,
                           json={"opted_out": opted_out})
    return redirect(f"/kota/{city}/pengaturan-pesan",
                    "Anda tidak akan menerima pesan lagi." if opted_out else "Pesan diaktifkan kembali.")
