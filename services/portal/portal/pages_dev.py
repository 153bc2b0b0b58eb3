"""Development pages (not in production): ``/dev/pesan`` shows what the notifications simulator's phones received —
every WhatsApp and SMS message per phone number, sign-in and pickup codes included — so a developer or a demo
audience sees what a buyer, a vendor or a participant would read on their phone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from portal.web import PageError, api, render, settings
from shared.phone import normalise_phone

router = APIRouter()


@router.get("/dev/pesan", response_class=HTMLResponse)
async def simulator_messages(request: Request, hp: Annotated[str, Query(max_length=32)] = "") -> Response:
    if not settings().dev_mode:
        raise PageError(404, "Tidak tersedia", "Kotak pesan simulator hanya ada di mode pengembangan.")
    phone = normalise_phone(hp) if hp.strip() else None
    errors = {"hp": "Nomor HP tidak valid (contoh 0812…)."} if hp.strip() and phone is None else {}
    params = {"limit": "50"} | ({"phone": phone} if phone else {})
    found = [] if errors else (await api(request).get("notifications", "/dev/messages", params=params))["messages"]
    phones = sorted({m["phone"] for m in found})
    return render(request, "dev_messages.html", {"form": {"hp": hp}, "errors": errors, "messages": found[::-1],
                                                 "phone": phone, "phones": phones},
                  status_code=422 if errors else 200)
